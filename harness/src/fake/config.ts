import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { faultRuleSchema } from './fault-schema.ts';
import type { FakeApiOptions } from './options.ts';

/**
 * The JSON (or YAML) configuration of a fake started outside a test: the preload reads
 * it from `SB_FAKE_CONFIG` or the file named by `SB_FAKE_CONFIG_FILE`, the CLI from
 * `--config`. It is `FakeApiOptions` without the clock, plus `seedState`.
 *
 * @example
 * SB_FAKE_CONFIG='{"seed":7,"storeLimit":100,"faults":[{"route":"files.create","calls":[3],"fault":{"type":"hang"}}]}'
 */

const ms = z.number().finite().min(0);
const seedFile = z.strictObject({ filename: z.string(), content: z.string(), purpose: z.string().optional() });
const seedStore = z.strictObject({
  count: z.number().int().min(1).optional(),
  name: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  expiresAfter: z.strictObject({ anchor: z.literal('last_active_at'), days: z.number().int().min(1).max(365) }).nullable().optional(),
  createdAt: z.number().optional(),
  lastActiveAt: z.number().optional(),
  files: z.array(seedFile).optional(),
});

export const fakeConfigSchema = z.strictObject({
  seed: z.number().int().optional(),
  baseUrls: z.strictObject({ openai: z.url().optional(), xai: z.url().optional(), gemini: z.url().optional() }).optional(),
  storeLimit: z.number().int().min(0).optional(),
  background: z
    .strictObject({ queuedMs: ms.optional(), inProgressMs: ms.optional(), final: z.enum(['completed', 'failed', 'incomplete', 'cancelled']).optional() })
    .optional(),
  fileProcessingMs: ms.optional(),
  streamEventIntervalMs: ms.optional(),
  requireApiKey: z.boolean().optional(),
  specValidation: z.enum(['enforce', 'record', 'off']).optional(),
  previousResponseNotFoundStatus: z.union([z.literal(400), z.literal(404)]).optional(),
  geminiErrorShape: z.enum(['list', 'object']).optional(),
  journalLimit: z.number().int().min(1).optional(),
  account: z
    .strictObject({
      limits: z
        .strictObject({
          requestsPerSecond: z.number().positive().optional(),
          burst: z.number().positive().optional(),
          tokensPerMinute: z.number().positive().optional(),
          tokenBurst: z.number().positive().optional(),
        })
        .optional(),
      throttle: z
        .array(z.strictObject({ startMs: ms, durationMs: ms, mode: z.enum(['reject', 'degrade']).optional(), multiplier: z.number().positive().optional() }))
        .optional(),
      uploadLatencyMs: ms.optional(),
    })
    .optional(),
  faults: z.array(faultRuleSchema).optional(),
  seedState: z.strictObject({ files: z.array(seedFile).optional(), vectorStores: z.array(seedStore).optional() }).optional(),
});


/** Validates a config object; throws a `TypeError` naming each bad field. */
export function parseFakeConfig(input: unknown): FakeApiOptions {
  const result = fakeConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new TypeError(`Invalid fake API config: ${z.prettifyError(result.error)}`);
  return result.data;
}

/**
 * Reads the config from the environment: `SB_FAKE_CONFIG` (inline JSON) wins over
 * `SB_FAKE_CONFIG_FILE` (a JSON or YAML file). Neither set gives the defaults.
 */
export function fakeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): FakeApiOptions {
  const inline = env.SB_FAKE_CONFIG;
  const file = env.SB_FAKE_CONFIG_FILE;
  const options = inline && inline.trim()
    ? parseFakeConfig(parseText(inline, 'SB_FAKE_CONFIG'))
    : file ? parseFakeConfig(parseText(readFileSync(file, 'utf8'), `SB_FAKE_CONFIG_FILE (${file})`)) : {};
  // `SB_FAKE_SPEC_VALIDATION` (enforce | record | off) overrides the config's `specValidation`.
  const mode = env.SB_FAKE_SPEC_VALIDATION;
  if (mode) return parseFakeConfig({ ...options, specValidation: mode });
  return options;
}

function parseText(text: string, source: string): unknown {
  try {
    // YAML is a superset of JSON, so one parser reads both.
    return parseYaml(text);
  } catch (error) {
    throw new TypeError(`Invalid fake API config in ${source}: ${(error as Error).message}`, { cause: error });
  }
}
