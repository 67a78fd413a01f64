import type { AccountModel } from './account.ts';
import type { FakeClock } from './clock.ts';
import type { GeminiErrorShape } from './dialects.ts';
import type { ProviderError } from './errors.ts';
import type { FaultRegistry, SelectedFault } from './faults.ts';
import type { Journal, JournalEntry } from './journal.ts';
import type { ProviderName, RouteId } from './routes.ts';
import type { SpecValidationMode } from './spec-check.ts';
import type { BackgroundSchedule, FakeState } from './state.ts';

/** Internal wiring shared by every route handler of one fake instance. */
export interface FakeRuntime {
  clock: FakeClock;
  state: FakeState;
  journal: Journal;
  faults: FaultRegistry;
  account: AccountModel;
  settings: FakeSettings;
  /** Path prefix of each provider's base URL, stripped from journal paths. */
  basePaths: Record<ProviderName, string>;
  /** Per-route request counters (1-based call numbers for the journal). */
  routeCalls: { next(route: RouteId): number };
}

/** Resolved behaviour settings (see `FakeApiOptions`). */
export interface FakeSettings {
  storeLimit: number;
  background: BackgroundSchedule;
  fileProcessingMs: number;
  streamEventIntervalMs: number;
  requireApiKey: boolean;
  /** Check requests and responses against the OpenAI spec (see `spec-check.ts`). */
  specValidation: SpecValidationMode;
  /** Status of the answer to an unknown or expired `previous_response_id`: the live API's 400, or 404. */
  previousResponseNotFoundStatus: 400 | 404;
  /** Gemini's error body: `[{error}]` (default) or `{error}` (see `dialects.ts`). */
  geminiErrorShape: GeminiErrorShape;
}

/** What a route handler sees of one request. */
export interface RouteContext {
  request: Request;
  params: Record<string, string>;
  url: URL;
  route: RouteId;
  provider: ProviderName;
  /** Parsed JSON body, when the request had one. */
  json: Record<string, unknown> | undefined;
  /** True when a body was sent but was not a JSON object. */
  jsonInvalid: boolean;
  /** Parsed multipart body, for uploads. */
  form: FormData | undefined;
  entry: JournalEntry;
  faults: readonly SelectedFault[];
  runtime: FakeRuntime;
}

/** A handler answers with a Response, or with SSE frames the dispatcher streams. */
export type RouteResult = Response | { sse: string[] };

export interface RouteDefinition {
  route: RouteId;
  provider: ProviderName;
  method: 'get' | 'post' | 'delete';
  /** msw path pattern relative to the provider base, e.g. `/responses/:id`. */
  path: string;
  handle(ctx: RouteContext): Promise<RouteResult> | RouteResult;
}

/** Thrown by handlers to answer with a provider-shaped error. */
export class ProviderHttpError extends Error {
  readonly error: ProviderError;
  constructor(error: ProviderError) {
    super(error.message);
    this.name = 'ProviderHttpError';
    this.error = error;
  }
}

/** Throws unless the body parsed as a JSON object. */
export function requireJson(ctx: RouteContext): Record<string, unknown> {
  if (ctx.json) return ctx.json;
  throw new ProviderHttpError({
    status: 400,
    message: ctx.jsonInvalid
      ? "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
      : 'You must provide a JSON body.',
    type: 'invalid_request_error',
    param: null,
    code: null,
  });
}

export function missingParameter(param: string): ProviderHttpError {
  return new ProviderHttpError({
    status: 400,
    message: `Missing required parameter: '${param}'.`,
    type: 'invalid_request_error',
    param,
    code: 'missing_required_parameter',
  });
}

export function invalidParameter(param: string, message: string): ProviderHttpError {
  return new ProviderHttpError({ status: 400, message, type: 'invalid_request_error', param, code: 'invalid_value' });
}

export function param(ctx: RouteContext, name: string): string {
  return ctx.params[name] ?? '';
}
