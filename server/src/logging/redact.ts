/**
 * Value-based redaction: catches secrets wherever they appear in a string (error messages,
 * URLs, header dumps), not only under known keys. `redactString` is the one function every
 * sink uses: tool results sent to the client (`mcp/tool-call.ts`), SbError messages
 * (`errors.ts`), the jobs table (`state/jobs.ts`), log lines (`logger.ts`) and spans
 * (`telemetry/redaction.ts`, `telemetry/spans.ts`).
 */
import { KEY_PATTERNS, REDACTED } from '../secrets/key-patterns.ts';

/** Looser than the content table: in an error text even a short `sk-…` is worth hiding. */
const LOOSE_PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // OpenAI-style keys (sk-, sk-proj-)
  /\bxai-[A-Za-z0-9_-]{8,}/g, // xAI keys
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
];
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;

const extraSecrets = new Set<string>();

/** Registers an exact secret value (the configured API keys) to be redacted everywhere. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) extraSecrets.add(value);
}

/** `s` with every registered API key and every credential-shaped string replaced by `[redacted]`. */
export function redactString(s: string): string {
  if (typeof s !== 'string' || s.length < 6) return s;
  let out = s;
  for (const secret of extraSecrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const { re } of KEY_PATTERNS) {
    re.lastIndex = 0;
    out = out.replace(re, REDACTED);
  }
  for (const re of LOOSE_PATTERNS) out = out.replace(re, REDACTED);
  return out.replace(BEARER, (_m, p1: string) => `${p1}${REDACTED}`);
}

/** A copy of a JSON-like value with every string passed through `redactString` (depth-bounded). */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactString(value) as T;
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v, depth + 1);
  return out as T;
}
