/**
 * Cost estimate of one chat call, from the list prices in the model catalogue
 * (models.json `price`, checked on `prices_checked`). An estimate, with its assumptions
 * stated: input tokens as the context engine counted them (exact o200k for OpenAI models,
 * bytes / 3 for xAI and Gemini) at the input price, plus an assumed output of
 * COST_ESTIMATE_OUTPUT_TOKENS (8,000) at the output price. A price the catalogue marks
 * "unknown" makes the total unknown; it is never guessed.
 */
import { DEFAULTS } from '../config/defaults.ts';
import type { ModelEntry } from '../config/models.ts';

export interface CostEstimate {
  /** Input tokens the call would send: context text, instructions, and files already sent in this session (billed again as part of the conversation). */
  input_tokens: number;
  /** 'exact' (o200k, OpenAI) or 'estimated' (bytes / 3, xAI and Gemini). */
  input_tokens_counted: 'exact' | 'estimated';
  /** The output the estimate assumes (reasoning included). */
  assumed_output_tokens: number;
  input_usd: number | 'unknown';
  output_usd: number | 'unknown';
  total_usd: number | 'unknown';
  /** USD per million tokens applied (the long-prompt rate when the input is past the model's tier). */
  rates: { input_usd_per_mtok: number | 'unknown'; output_usd_per_mtok: number | 'unknown' };
  prices_checked: string | 'unknown';
  price_source: string;
  /** Vector-store costs, named apart from tokens (OpenAI models whose overflow goes to a store). */
  vector_store?: {
    files: number;
    bytes: number;
    storage_usd_per_gb_day: number | 'unknown';
    storage_free_gb: number;
    file_search_usd_per_1k_calls: number | 'unknown';
  };
  /** What the figures leave out, in words. */
  assumptions: string[];
}

export interface EstimateInput {
  inputTokens: number;
  exact: boolean;
  /** Files and bytes the call would attach to a vector store (0 when none). */
  vectorStoreFiles: number;
  vectorStoreBytes: number;
}

const PER_MILLION = 1_000_000;

/** 1234567 → '1,234,567' (not toLocaleString: its first call loads ICU data on the event loop). */
function thousands(x: number): string {
  return String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function times(tokens: number, usdPerMillion: number | 'unknown'): number | 'unknown' {
  return usdPerMillion === 'unknown' ? 'unknown' : roundUsd((tokens * usdPerMillion) / PER_MILLION);
}

/** Rounded to a hundredth of a cent: finer digits would claim a precision the estimate does not have. */
function roundUsd(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** The estimate for `model` sending `input.inputTokens` tokens. */
export function estimateCost(model: ModelEntry, input: EstimateInput): CostEstimate {
  const p = model.price;
  const long = p.above_input_tokens && input.inputTokens > p.above_input_tokens.tokens ? p.above_input_tokens : undefined;
  const inRate = long ? long.input_usd_per_mtok : p.input_usd_per_mtok;
  const outRate = long ? long.output_usd_per_mtok : p.output_usd_per_mtok;
  const outTokens = DEFAULTS.COST_ESTIMATE_OUTPUT_TOKENS;
  const inputUsd = times(input.inputTokens, inRate);
  const outputUsd = times(outTokens, outRate);
  const assumptions = [
    `output assumed to be ${thousands(outTokens)} tokens, reasoning included (reasoning models may write several times more)`,
    'cached-input discounts not applied',
  ];
  if (long) assumptions.push(`the input is above ${thousands(long.tokens)} tokens, so the long-prompt rates apply`);
  if (model.api === 'chat_completions') assumptions.push('earlier questions and answers of the session, resent as history, are not counted');
  const store = input.vectorStoreFiles > 0 ? {
    files: input.vectorStoreFiles,
    bytes: input.vectorStoreBytes,
    storage_usd_per_gb_day: p.vector_storage_usd_per_gb_day ?? 'unknown' as const,
    storage_free_gb: p.vector_storage_free_gb ?? 0,
    file_search_usd_per_1k_calls: p.file_search_usd_per_1k_calls ?? 'unknown' as const,
  } : undefined;
  if (store) assumptions.push('vector-store storage and file_search calls are billed apart from tokens, and the chunks a search returns are billed as input tokens: not in the total');
  return {
    input_tokens: input.inputTokens,
    input_tokens_counted: input.exact ? 'exact' : 'estimated',
    assumed_output_tokens: outTokens,
    input_usd: inputUsd,
    output_usd: outputUsd,
    total_usd: inputUsd === 'unknown' || outputUsd === 'unknown' ? 'unknown' : roundUsd(inputUsd + outputUsd),
    rates: { input_usd_per_mtok: inRate, output_usd_per_mtok: outRate },
    prices_checked: model.prices_checked ?? 'unknown',
    price_source: p.source,
    ...(store ? { vector_store: store } : {}),
    assumptions,
  };
}

/** One line for a person: "about 612,000 input tokens (exact), est. $1.29 ($1.22 input + $0.064 for 8,000 output tokens assumed)". */
export function describeEstimate(e: CostEstimate): string {
  const n = thousands;
  const usd = (x: number | 'unknown') => (x === 'unknown' ? 'unknown' : `$${x < 0.01 && x > 0 ? x.toFixed(4) : x.toFixed(2)}`);
  const money = e.total_usd === 'unknown'
    ? `cost unknown (no list price for ${e.rates.input_usd_per_mtok === 'unknown' ? 'input' : 'output'} in the catalogue)`
    : `est. ${usd(e.total_usd)} (${usd(e.input_usd)} input + ${usd(e.output_usd)} for ${n(e.assumed_output_tokens)} output tokens assumed; prices checked ${e.prices_checked})`;
  const lines = [`${n(e.input_tokens)} input tokens (${e.input_tokens_counted}), ${money}.`];
  const s = e.vector_store;
  if (s) {
    lines.push(`Vector store: ${n(s.files)} file(s), ${n(s.bytes)} bytes; storage ${s.storage_usd_per_gb_day === 'unknown' ? 'price unknown' : `$${s.storage_usd_per_gb_day}/GB/day after ${s.storage_free_gb} GB free`}, `
      + `file_search ${s.file_search_usd_per_1k_calls === 'unknown' ? 'price unknown' : `$${s.file_search_usd_per_1k_calls} per 1,000 calls`} (not in the estimate).`);
  }
  return lines.join('\n');
}
