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

/** A price in US dollars, or "unknown" where no list price was found (never a guess). */
const Usd = z.union([z.number().nonnegative(), z.literal('unknown')]);

const PriceSchema = z.object({
  input_usd_per_mtok: Usd.describe('Input tokens, USD per million'),
  cached_input_usd_per_mtok: Usd.describe('Input tokens served from the provider\'s prompt cache, USD per million'),
  output_usd_per_mtok: Usd.describe('Output tokens (reasoning included), USD per million'),
  above_input_tokens: z.object({
    tokens: z.number().int().positive().describe('Prompts of more input tokens than this are billed at the rates below'),
    input_usd_per_mtok: Usd,
    output_usd_per_mtok: Usd,
  }).strict().optional(),
  file_search_usd_per_1k_calls: Usd.optional().describe('Vector stores: file_search tool calls, USD per thousand'),
  vector_storage_usd_per_gb_day: Usd.optional().describe('Vector stores: storage, USD per GB and day'),
  vector_storage_free_gb: z.number().nonnegative().optional().describe('Vector stores: storage not billed, GB'),
  source: z.string().min(1).describe('Where the figures were read'),
}).strict();

const UNKNOWN_PRICE: z.infer<typeof PriceSchema> = {
  input_usd_per_mtok: 'unknown', cached_input_usd_per_mtok: 'unknown', output_usd_per_mtok: 'unknown', source: 'none',
};

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
  price: PriceSchema.default(UNKNOWN_PRICE).describe('List prices, for cost estimates; "unknown" where none was found'),
  prices_checked: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().describe('Date (YYYY-MM-DD) the prices were last checked against the source'),
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
