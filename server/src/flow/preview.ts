/**
 * The check before sending, between gathering and the first upstream request: a dry run
 * answers here with what would be sent, and so does a call above the confirmation threshold
 * (SECOND_BRAIN_CONFIRM_ABOVE_TOKENS) without `confirm_large: true`. Nothing after it runs.
 */
import type { ModelEntry } from '../config/models.ts';
import { countTokens, type PreparedContext } from '../context/index.ts';
import type { ChatArgs } from './args.ts';
import { type ContextFiles, contextFiles } from './context-files.ts';
import { type CostEstimate, describeEstimate, estimateCost } from './cost.ts';
import { tokenizerFamilyOf } from './input-limits.ts';

/**
 * What a call would send, answered instead of sending: on `dry_run: true`, or when the call
 * is over the confirmation threshold without `confirm_large: true`. Nothing was sent.
 */
export interface ChatPreview {
  status: 'dry_run' | 'needs_confirmation';
  sent: false;
  model: string;
  model_id: string;
  session_id: string;
  estimate: CostEstimate;
  /** The setting the call is measured against (SECOND_BRAIN_CONFIRM_ABOVE_TOKENS). */
  confirm_above_tokens: number;
  /** True when sending it needs `confirm_large: true` (or a higher setting). */
  needs_confirmation: boolean;
  /** How to go ahead, in words. */
  next_step: string;
  context?: {
    files_inline: number;
    files_already_sent: number;
    files_to_vector_store: number;
    files_left_out: number;
    files_skipped: number;
    report: string;
    files: ContextFiles;
  };
  notes: string[];
  elapsed_ms: number;
}

/** True for an answer that sent nothing (dry run or confirmation needed). */
export function isChatPreview(r: object): r is ChatPreview {
  return (r as ChatPreview).sent === false;
}

/** What the check needs to know of the call. */
export interface HoldInput {
  model: ModelEntry;
  args: ChatArgs;
  /** The gathered context, or undefined when the call names no paths. */
  ctx: PreparedContext | undefined;
  /** SECOND_BRAIN_CONFIRM_ABOVE_TOKENS. */
  threshold: number;
  /** Whether the overflow would go to a vector store (else it is left out). */
  toVectorStore: boolean;
  /** When the call started (ms since the epoch), for `elapsed_ms`. */
  started: number;
  notes: readonly string[];
  signal: AbortSignal;
}

/**
 * An upper bound of the input tokens, from figures the context engine already has: its
 * delimiter and tree costs are conservative. Without context, the instructions' bytes (a
 * token is at least one byte).
 */
function inputTokensAtMost(h: HoldInput): number {
  if (h.ctx) return h.ctx.stats.promptTokens + h.ctx.stats.instructionsTokens + h.ctx.stats.alreadySentTokens;
  return Buffer.byteLength(h.args.instructions, 'utf8');
}

/**
 * Input tokens the call would send, counted on the text itself: the context text and the
 * instructions, plus files already in the conversation (billed again as part of it).
 * Measured against what the fake received: within 2 % (server/test/mcp/know-before-send.test.ts).
 */
async function inputTokens(h: HoldInput): Promise<number> {
  const texts = h.ctx ? [h.ctx.promptText, h.args.instructions] : [h.args.instructions];
  const counts = await countTokens(texts, tokenizerFamilyOf(h.model), h.signal);
  return counts.reduce((a, b) => a + b, 0) + (h.ctx?.stats.alreadySentTokens ?? 0);
}

/**
 * The check before sending: a dry run, or a call over the confirmation threshold without
 * `confirm_large`, gets what would be sent and its estimate. Otherwise undefined: go on.
 */
export async function previewIfHeld(h: HoldInput): Promise<ChatPreview | undefined> {
  const { args, threshold } = h;
  // An ordinary call well below the threshold costs nothing more here: the text is counted
  // only for a dry run, or when the upper bound says it might be over.
  if (!args.dry_run && (args.confirm_large || inputTokensAtMost(h) <= threshold)) return undefined;
  const tokens = await inputTokens(h);
  const over = tokens > threshold;
  if (!args.dry_run && !over) return undefined;
  return preview(h, tokens, over);
}

function preview(h: HoldInput, tokens: number, over: boolean): ChatPreview {
  const { model, args, ctx, threshold } = h;
  const toStore = h.toVectorStore;
  const storeFiles = ctx && toStore ? ctx.overflow : [];
  const estimate = estimateCost(model, {
    inputTokens: tokens, exact: tokenizerFamilyOf(model) === 'o200k',
    vectorStoreFiles: storeFiles.length, vectorStoreBytes: storeFiles.reduce((n, f) => n + f.size, 0),
  });
  const limit = `${thousands(threshold)} tokens (SECOND_BRAIN_CONFIRM_ABOVE_TOKENS)`;
  const howToSend = `call again with confirm_large: true${args.dry_run ? ' and without dry_run' : ''}, narrow context (or use include / exclude), or raise SECOND_BRAIN_CONFIRM_ABOVE_TOKENS`;
  const nextStep = !over
    ? `Nothing was sent. To send it, call again without dry_run (it is within the ${limit} sent without confirmation).`
    : `Nothing was sent: this call is above the ${limit} sent without confirmation. To send it, ${howToSend}.`;
  return {
    status: args.dry_run ? 'dry_run' : 'needs_confirmation',
    sent: false,
    model: model.api_model,
    model_id: model.id,
    session_id: args.session_id,
    estimate,
    confirm_above_tokens: threshold,
    needs_confirmation: over,
    next_step: nextStep,
    ...(ctx ? {
      context: {
        files_inline: ctx.inline.length,
        files_already_sent: ctx.alreadySent.length,
        files_to_vector_store: storeFiles.length,
        files_left_out: toStore ? 0 : ctx.overflow.length,
        files_skipped: ctx.skipped.length,
        report: ctx.contextReport,
        files: contextFiles({ inline: ctx.inline, alreadySent: ctx.alreadySent, overflow: ctx.overflow, toVectorStore: toStore, skipped: ctx.skipped, skippedTotal: ctx.stats.skipped }),
      },
    } : {}),
    notes: [describeEstimate(estimate), ...h.notes],
    elapsed_ms: Date.now() - h.started,
  };
}

function thousands(x: number): string {
  return String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
