/**
 * Local limits on what a chat call sends, checked before anything is read or uploaded.
 * An `instructions` text that alone exceeds the model's window minus the reserve kept for
 * the answer can never be answered; sending it would cost an upload and a provider round
 * trip just to be refused (or, worse, silently truncated).
 */
import { DEFAULTS } from '../config/defaults.ts';
import type { ModelEntry } from '../config/models.ts';
import { ErrorCode, SbError } from '../errors.ts';
import { countTokens, type TokenizerFamily } from '../context/index.ts';

export function tokenizerFamilyOf(model: ModelEntry): TokenizerFamily {
  return model.provider === 'openai' ? 'o200k' : 'estimate';
}

function thousands(x: number): string {
  return String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Throws SB_ERR_INPUT_TOO_LARGE, naming both sizes, when `instructions` takes more tokens
 * than `model.context_window - CONTEXT_RESERVE_TOKENS`. A text of no more bytes than that
 * limit always fits (a token is at least one byte) and is not counted at all; a longer one
 * is counted on the tokenizer threads, off the event loop.
 */
export async function assertInstructionsFit(model: ModelEntry, instructions: string, signal: AbortSignal): Promise<void> {
  const limit = Math.max(0, model.context_window - DEFAULTS.CONTEXT_RESERVE_TOKENS);
  const bytes = Buffer.byteLength(instructions, 'utf8');
  if (bytes <= limit) return;
  const family = tokenizerFamilyOf(model);
  const [tokens] = (await countTokens([instructions], family, signal)) as [number];
  if (tokens <= limit) return;
  throw new SbError(ErrorCode.INPUT_TOO_LARGE,
    `Failed to send the question to ${model.id}: instructions are ${thousands(tokens)} tokens (${thousands(bytes)} bytes${family === 'estimate' ? ', estimated' : ''}), ` +
    `but ${model.id} accepts at most ${thousands(limit)} (its ${thousands(model.context_window)}-token window minus ${thousands(DEFAULTS.CONTEXT_RESERVE_TOKENS)} reserved for the answer). ` +
    'Nothing was uploaded. Shorten the instructions, or put long material in files and pass them as context.',
    { details: { instructions_tokens: tokens, instructions_bytes: bytes, limit_tokens: limit, context_window: model.context_window } });
}
