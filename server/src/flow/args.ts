/**
 * Tool argument schemas. Real clients send booleans and numbers as strings (KI-07), so
 * both forms are accepted; anything else is rejected with a message that names the
 * parameter and what it accepts. Every field has a description an assistant can act on.
 */
import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.ts';

/** A boolean that also accepts "true"/"false" (any case). */
export function lenientBoolean(name: string) {
  const msg = `${name} accepts true or false (also as the strings "true" / "false")`;
  return z.union([
    z.boolean(),
    z.string().trim().toLowerCase().pipe(z.enum(['true', 'false'], { error: msg })).transform((s) => s === 'true'),
  ], { error: msg });
}

/** A number that also accepts numeric strings ("0.2"), with bounds. */
export function lenientNumber(name: string, min: number, max: number, int = false) {
  const msg = `${name} accepts a number from ${min} to ${max}${int ? ' (whole number)' : ''}, also as a string like "${int ? min : 0.2}"`;
  const base = (int ? z.number().int() : z.number()).min(min, { error: msg }).max(max, { error: msg });
  return z.union([
    base,
    z.string().trim().regex(/^-?\d+(\.\d+)?$/, { error: msg }).transform(Number).pipe(base),
  ], { error: msg });
}

/** A list of paths; a single string is accepted as a one-element list, and a JSON array string is parsed. */
export function pathList(name: string) {
  return stringList(name, `${name} accepts a list of file or directory paths, e.g. ["src", "README.md"]`, 10_000, 'paths');
}

/** Longest accepted include/exclude pattern, in characters, and most patterns per list. */
const PATTERN_MAX_CHARS = 1_000;
const PATTERNS_MAX = 1_000;

/** A list of gitignore-syntax patterns, in the same lenient forms as a path list. */
export function patternList(name: string) {
  const msg = `${name} accepts a list of gitignore-style patterns (at most ${PATTERN_MAX_CHARS} characters each), e.g. ["*.test.ts", "docs/"]`;
  return stringList(name, msg, PATTERNS_MAX, 'patterns', PATTERN_MAX_CHARS);
}

function stringList(name: string, msg: string, maxItems: number, noun: string, maxChars = Number.MAX_SAFE_INTEGER) {
  const item = z.string().min(1, { error: msg }).max(maxChars, { error: msg });
  return z.union([
    z.array(item, { error: msg }).max(maxItems, { error: `${name} accepts at most ${maxItems} ${noun}` }),
    z.string().min(1, { error: msg }).transform((s, ctx) => {
      const t = s.trim();
      if (t.startsWith('[')) {
        try {
          const v = JSON.parse(t);
          if (Array.isArray(v) && v.length <= maxItems && v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= maxChars)) return v as string[];
        } catch { /* fall through */ }
        ctx.addIssue({ code: 'custom', message: msg });
        return z.NEVER;
      }
      if (t.length > maxChars) {
        ctx.addIssue({ code: 'custom', message: msg });
        return z.NEVER;
      }
      return [t];
    }),
  ], { error: msg });
}

const schemaMsg = 'structured_output_schema accepts a JSON Schema object, or a string containing one';
const depthMsg = `structured_output_schema may be nested at most ${DEFAULTS.STRUCTURED_SCHEMA_MAX_DEPTH} levels deep`;

/**
 * Nesting depth of a JSON value, without recursion (a value nested 200,000 levels would
 * overflow the stack of a recursive walk, and later of JSON.stringify in the request).
 * Stops counting once past `limit`.
 */
export function jsonDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return max;
}

export const structuredSchemaArg = z.union([
  z.record(z.string(), z.unknown()),
  z.string().transform((s, ctx) => {
    try {
      const v = JSON.parse(s);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* fall through */ }
    ctx.addIssue({ code: 'custom', message: schemaMsg });
    return z.NEVER;
  }),
], { error: schemaMsg }).superRefine((v, ctx) => {
  if (jsonDepth(v, DEFAULTS.STRUCTURED_SCHEMA_MAX_DEPTH) > DEFAULTS.STRUCTURED_SCHEMA_MAX_DEPTH) ctx.addIssue({ code: 'custom', message: depthMsg });
});

const effortMsg = 'reasoning_effort accepts "low", "medium" or "high"';

/** Longest accepted session_id, in characters. */
const SESSION_ID_MAX_CHARS = 200;

/** Input of every chat tool. */
export const chatArgsShape = {
  instructions: z.string({ error: 'instructions is required: the question or task for the model, as text' }).min(1, { error: 'instructions must not be empty' })
    .describe('The question or task for the model. Be specific: what to look at, what you want back.'),
  session_id: z.string({ error: 'session_id is required: any string naming the conversation, e.g. "review-auth-2026-11"' })
    .min(1, { error: 'session_id must not be empty: any string naming the conversation, e.g. "review-auth-2026-11"' })
    .max(SESSION_ID_MAX_CHARS, { error: (iss) => `session_id is ${String(iss.input).length} characters long; the limit is ${SESSION_ID_MAX_CHARS}. Use a shorter name for the conversation, e.g. "review-auth-2026-11"` })
    .regex(/^[\w.:@/-]+$/, { error: 'session_id accepts letters, digits and . : @ / - _ (max 200 characters)' })
    .describe('Names the conversation. Reuse it for follow-ups: the model then sees the earlier turns and files already sent are not resent. Use a new id for an unrelated question.'),
  output_format: z.string().max(2_000).optional()
    .describe('How the answer should be formatted, e.g. "a numbered list of findings with file:line references".'),
  context: pathList('context').optional()
    .describe('Files or directories (absolute, or relative to the project root) to give the model. What fits the model budget goes inline; the rest goes to a searchable vector store (OpenAI models) or is listed as left out. .gitignore is honoured; secret files are skipped.'),
  priority_context: pathList('priority_context').optional()
    .describe('Files or directories that must be inline in the prompt, whatever the budget. Use for the few files the question is about.'),
  reasoning_effort: z.union([z.enum(['low', 'medium', 'high'])], { error: effortMsg }).optional()
    .describe('Reasoning depth for models that support it (o3, o3-pro, Gemini): low is faster and cheaper, high is more thorough. Ignored by models without it.'),
  temperature: lenientNumber('temperature', 0, 2).optional()
    .describe('Sampling temperature 0–2 for models that support it (GPT-4.1, Grok, Gemini). Ignored by reasoning models.'),
  disable_memory_search: lenientBoolean('disable_memory_search').optional()
    .describe('true keeps the model from searching the project history of earlier conversations. Default false.'),
  structured_output_schema: structuredSchemaArg.optional()
    .describe('A JSON Schema the answer must follow (an object, or a JSON string of one). The answer text is then JSON.'),
  include: patternList('include').optional()
    .describe('gitignore-style patterns: of the files under context and priority_context, only those matching one are sent, e.g. ["*.ts", "docs/"]. Default: all.'),
  exclude: patternList('exclude').optional()
    .describe('gitignore-style patterns: matching files and directories are left out (reason "excluded-by-pattern"), named files too, e.g. ["*.test.ts", "fixtures/"].'),
  dry_run: lenientBoolean('dry_run').optional()
    .describe('true does all the local work (paths, gathering, budget, secrets) and answers with what would be sent — files inline, to the vector store, left out with reasons — the token count and a cost estimate, without sending anything. Default false.'),
  confirm_large: lenientBoolean('confirm_large').optional()
    .describe('true sends a call larger than the server\'s confirmation threshold (SECOND_BRAIN_CONFIRM_ABOVE_TOKENS). Without it such a call answers with its estimate and sends nothing. Default false.'),
};

export const chatArgsSchema = z.object(chatArgsShape);
export type ChatArgs = z.output<typeof chatArgsSchema>;

export const countTokensShape = {
  paths: pathList('paths').describe('Files or directories to count, absolute or relative to the project root.'),
  model: z.string().min(1).max(100).optional()
    .describe('A model id (e.g. "gpt-4.1", "o3", "grok-4") or chat tool name (e.g. "chat_with_o3"): also says how much of the context would go inline and how much would overflow for that model.'),
  include: patternList('include').optional()
    .describe('gitignore-style patterns: count only files matching one, as a chat call with the same include would send.'),
  exclude: patternList('exclude').optional()
    .describe('gitignore-style patterns: leave matching files and directories out, as a chat call with the same exclude would.'),
};

export const historyShape = {
  query: z.string({ error: 'query is required: what to look for in earlier conversations' }).min(1).max(2_000)
    .describe('What to look for in earlier conversations about this project.'),
  max_results: lenientNumber('max_results', 1, 50, true).optional().describe('How many results to return (1–50, default 10).'),
};

export const listSessionsShape = {
  limit: lenientNumber('limit', 1, 500, true).optional().describe('How many sessions to list, most recent first (default 50).'),
};

export const startJobShape = {
  tool: z.string({ error: 'tool is required: the name of a chat tool, e.g. "chat_with_o3"' }).min(1)
    .describe('The tool to run in the background, e.g. "chat_with_o3_pro".'),
  args: z.union([
    z.record(z.string(), z.unknown()),
    z.string().transform((s, ctx) => {
      try { const v = JSON.parse(s); if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>; } catch { /* fall through */ }
      ctx.addIssue({ code: 'custom', message: 'args accepts an object of the tool\'s arguments, or a JSON string of one' });
      return z.NEVER;
    }),
  ], { error: 'args accepts an object of the tool\'s arguments, or a JSON string of one' })
    .describe('The arguments for that tool, exactly as you would pass them to it.'),
};

export const jobIdShape = {
  job_id: z.string({ error: 'job_id is required: the id start_job returned' }).regex(/^job_[\w-]+$/, { error: 'job_id accepts the id start_job returned, like "job_…"' })
    .describe('The id start_job returned.'),
};
