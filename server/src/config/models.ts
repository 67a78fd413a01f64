/**
 * The model catalogue is data (models.json), not code: adding a model means adding an
 * entry, here or in the file named by SECOND_BRAIN_MODELS, which overrides or adds
 * entries field by field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ErrorCode, SbError } from '../errors.ts';
import builtin from './models.json' with { type: 'json' };

export const PROVIDERS = ['openai', 'xai', 'gemini'] as const;
export type ProviderId = (typeof PROVIDERS)[number];

const ModelEntrySchema = z.object({
  api_model: z.string().min(1).describe('Model name sent to the provider API'),
  provider: z.enum(PROVIDERS),
  api: z.enum(['responses', 'chat_completions']),
  tool: z.string().regex(/^[a-z0-9_]+$/).describe('MCP tool name'),
  description: z.string(),
  context_window: z.number().int().positive().describe('Tokens'),
  timeout_s: z.number().positive().describe('Default call deadline, seconds'),
  background: z.boolean().describe('Always use OpenAI background mode'),
  reasoning_efforts: z.array(z.enum(['low', 'medium', 'high'])),
  supports_temperature: z.boolean(),
  vector_stores: z.boolean().describe('Overflow goes to an OpenAI vector store'),
}).strict();

export type ModelEntry = z.infer<typeof ModelEntrySchema> & { id: string };
export type Catalogue = ReadonlyMap<string, ModelEntry>;

/** Loads the built-in catalogue merged with the override file, if any. Throws SB_ERR_CONFIG with the offending field. */
export function loadCatalogue(overridePath?: string): Catalogue {
  const raw: Record<string, Record<string, unknown>> = structuredClone(builtin as Record<string, Record<string, unknown>>);
  if (overridePath) {
    let overrides: unknown;
    try {
      overrides = JSON.parse(readFileSync(overridePath, 'utf8'));
    } catch (err) {
      throw new SbError(ErrorCode.CONFIG, `Failed to read SECOND_BRAIN_MODELS (${overridePath}): ${(err as Error).message}. Fix the file or unset the variable.`, { cause: err });
    }
    if (!overrides || typeof overrides !== 'object' || Array.isArray(overrides)) {
      throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_MODELS (${overridePath}) must be a JSON object keyed by model id.`);
    }
    for (const [id, fields] of Object.entries(overrides as Record<string, unknown>)) {
      if (!fields || typeof fields !== 'object') throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_MODELS: entry "${id}" must be an object of fields.`);
      raw[id] = { ...(raw[id] ?? {}), ...(fields as Record<string, unknown>) };
    }
  }
  const out = new Map<string, ModelEntry>();
  const tools = new Set<string>();
  for (const [id, entry] of Object.entries(raw)) {
    const parsed = ModelEntrySchema.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new SbError(ErrorCode.CONFIG, `Model catalogue entry "${id}": field "${issue.path.join('.')}" ${issue.message}. Fix SECOND_BRAIN_MODELS.`);
    }
    if (tools.has(parsed.data.tool)) throw new SbError(ErrorCode.CONFIG, `Model catalogue: tool name "${parsed.data.tool}" is used twice.`);
    tools.add(parsed.data.tool);
    out.set(id, { ...parsed.data, id });
  }
  return out;
}
