/**
 * Token usage as reported upstream, made safe to show and to count: a provider (or a
 * proxy in front of it) can send negative, fractional, non-numeric or absurd figures.
 */
import { DEFAULTS } from '../config/defaults.ts';
import type { ChatUsage } from './types.ts';

export interface SanitizedUsage {
  usage?: ChatUsage;
  /** Set when a figure was dropped or clamped: says which and why. */
  note?: string;
}

/**
 * Keeps each figure that is a non-negative integer up to `DEFAULTS.USAGE_MAX_TOKENS`;
 * rounds a fractional one down; drops a negative, non-finite or non-numeric one; clamps
 * one above the bound. Without a usable figure the usage is left out.
 */
export function sanitizeUsage(input: number | undefined | null | unknown, output: number | undefined | null | unknown, provider: string): SanitizedUsage {
  const problems: string[] = [];
  const clean = (name: string, value: unknown): number | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push(`${name} ${JSON.stringify(value)} dropped`);
      return undefined;
    }
    let v = value;
    if (!Number.isInteger(v)) {
      v = Math.floor(v);
      problems.push(`${name} ${value} rounded to ${v}`);
    }
    if (v > DEFAULTS.USAGE_MAX_TOKENS) {
      problems.push(`${name} ${value} clamped to ${DEFAULTS.USAGE_MAX_TOKENS}`);
      v = DEFAULTS.USAGE_MAX_TOKENS;
    }
    return v;
  };
  const i = clean('input_tokens', input);
  const o = clean('output_tokens', output);
  const note = problems.length ? `${provider} reported implausible token usage (${problems.join(', ')}); the figures shown are corrected.` : undefined;
  if (i === undefined && o === undefined) return { note };
  return { usage: { input_tokens: i ?? 0, output_tokens: o ?? 0 }, note };
}
