/**
 * The official OpenAI OpenAPI specification as a test oracle: validates request and
 * response bodies, query parameters and rate-limit headers of the routes the fake serves
 * against the vendored, pruned copy (`harness/spec/openai-openapi.pruned.json`).
 *
 * Validator: Ajv's JSON Schema 2020-12 build. OpenAPI 3.1 schemas *are* 2020-12 schemas,
 * Ajv is the most used and maintained JSON-Schema validator for Node, and it handles
 * `anyOf`/`oneOf`/`allOf` and `$ref` into the document. OpenAPI's `discriminator` is an
 * annotation for code generators (the `anyOf`/`oneOf` branches still decide validity),
 * so it is registered as an annotation keyword rather than used for dispatch (Ajv's own
 * discriminator mode accepts `oneOf` only; the spec uses it with `anyOf` as well).
 * Each validator is compiled on first use and cached for the process.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { SPEC_EXCEPTIONS } from '../../spec/exceptions.ts';
import type { SpecException } from '../../spec/exceptions.ts';

/** Where the vendored, pruned spec lives. */
export const PRUNED_SPEC_URL = new URL('../../spec/openai-openapi.pruned.json', import.meta.url);

const DOC_ID = 'https://spec.second-brain.local/openai-openapi.json';

/** One way a request or a response departs from the spec. */
export interface SpecViolation {
  side: 'request' | 'response';
  /** e.g. `POST /responses` or `POST /responses → 200`. */
  operation: string;
  /** JSON pointer of the offending field in the body (`/usage/input_tokens_details`), `query.limit`, or `header.retry-after`. */
  field: string;
  message: string;
}

type Json = Record<string, any>;

let spec: Json | undefined;
let ajv: Ajv2020 | undefined;
const cache = new Map<string, ValidateFunction | null>();

function load(): { spec: Json; ajv: Ajv2020 } {
  if (spec && ajv) return { spec, ajv };
  spec = withoutNullable(JSON.parse(readFileSync(PRUNED_SPEC_URL, 'utf8'))) as Json;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, allowUnionTypes: true, inlineRefs: false });
  const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  // OpenAPI-only formats and annotations: carried by the spec, no validation meaning here.
  for (const format of ['unixtime', 'binary', 'byte-string', 'int32', 'int64', 'float', 'double']) ajv.addFormat(format, true);
  ajv.addKeyword({ keyword: 'discriminator' });

  ajv.addSchema(spec, DOC_ID);
  return { spec, ajv };
}

/**
 * `nullable` is OpenAPI 3.0; a 3.1 document gives it no meaning (null is a type in
 * 2020-12), but Ajv applies it 3.0-style and rejects it without a sibling `type`. The
 * few left-overs in the spec are dropped (booleans only: a property named `nullable`
 * has a schema object as its value).
 */
function withoutNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNullable);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (!(k === 'nullable' && typeof v === 'boolean')) out[k] = withoutNullable(v);
  return out;
}

function pointerPart(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function compiled(key: string, pointer: string[]): ValidateFunction | null {
  if (cache.has(key)) return cache.get(key)!;
  const { spec: doc, ajv: v } = load();
  let node: any = doc;
  for (const part of pointer) node = node?.[part];
  const fn = node === undefined ? null : v.compile({ $ref: `${DOC_ID}#/${pointer.map(pointerPart).join('/')}` });
  cache.set(key, fn);
  return fn;
}

function operationOf(path: string, method: string): Json | undefined {
  return load().spec.paths?.[path]?.[method.toLowerCase()];
}

function resolveRef(node: any): any {
  for (let i = 0; node?.$ref && i < 5; i++) {
    const parts = String(node.$ref).replace(/^#\//, '').split('/');
    node = parts.reduce((n: any, p: string) => n?.[p.replace(/~1/g, '/').replace(/~0/g, '~')], load().spec);
  }
  return node;
}

function toViolations(side: SpecViolation['side'], operation: string, errors: ErrorObject[] | null | undefined, prefix = ''): SpecViolation[] {
  if (!errors?.length) return [];
  const fieldOf = (e: ErrorObject) =>
    e.keyword === 'required' ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}` : e.instancePath;
  // anyOf/oneOf report each branch's errors and a summary at the parent: keep the leaves
  // (the fields that are wrong), and merge what the branches say about one field.
  const fields = errors.map(fieldOf);
  const byField = new Map<string, string[]>();
  for (const [i, e] of errors.entries()) {
    const field = fields[i]!;
    if (fields.some((f) => f !== field && f.startsWith(`${field}/`))) continue;
    const message = e.keyword === 'required' ? 'is required'
      : e.keyword === 'enum' ? `${e.message}: ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`
      : e.message ?? e.keyword;
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') { if (!byField.has(field)) byField.set(field, []); continue; }
    const list = byField.get(field) ?? [];
    if (!list.includes(message)) list.push(message);
    byField.set(field, list);
  }
  return [...byField].map(([field, messages]) => ({
    side, operation,
    field: prefix ? `${prefix}${field}` : field || '/',
    message: messages.length ? messages.join(' or ') : 'matches none of the allowed shapes',
  }));
}

function applyExceptions(violations: SpecViolation[], exceptions: readonly SpecException[]): SpecViolation[] {
  return violations.filter((v) => !exceptions.some((x) => x.side === v.side && x.operation.test(v.operation) && x.field.test(v.field)));
}

/** What the validator needs to know of a request. */
export interface RequestToCheck {
  /** Path template as the spec spells it: `/vector_stores/{vector_store_id}/files`. */
  path: string;
  method: string;
  query?: URLSearchParams;
  /** JSON body, or the fields of a multipart form (files as `'<binary>'`). */
  body?: unknown;
  contentType?: 'application/json' | 'multipart/form-data';
}

/** Validates a request against the operation's parameters and request body schema. */
export function validateRequest(req: RequestToCheck, exceptions: readonly SpecException[] = SPEC_EXCEPTIONS): SpecViolation[] {
  const method = req.method.toLowerCase();
  const operation = `${req.method.toUpperCase()} ${req.path}`;
  const op = operationOf(req.path, method);
  if (!op) return [{ side: 'request', operation, field: '/', message: 'operation not in the spec' }];
  const out: SpecViolation[] = [];
  const params = [...(load().spec.paths[req.path].parameters ?? []), ...(op.parameters ?? [])].map(resolveRef);
  for (const [index, p] of params.entries()) {
    if (p?.in !== 'query') continue;
    const raw = req.query?.get(p.name);
    if (raw === null || raw === undefined) continue;
    const value = p.schema?.type === 'integer' || p.schema?.type === 'number' ? (raw.trim() === '' ? raw : Number(raw)) : raw;
    const ownIndex = (op.parameters ?? []).indexOf((op.parameters ?? []).find((q: any) => resolveRef(q) === p));
    const pointer = ownIndex >= 0 ? ['paths', req.path, method, 'parameters', String(ownIndex), 'schema'] : ['paths', req.path, 'parameters', String(index), 'schema'];
    const refd = (ownIndex >= 0 ? op.parameters[ownIndex] : undefined)?.$ref;
    const fn = refd ? null : compiled(pointer.join('\u0000'), pointer);
    if (fn && !fn(value)) out.push(...toViolations('request', operation, fn.errors, `query.${p.name}`));
  }
  const type = req.contentType ?? 'application/json';
  if (op.requestBody && req.body !== undefined) {
    const pointer = ['paths', req.path, method, 'requestBody', 'content', type, 'schema'];
    const fn = compiled(pointer.join('\u0000'), pointer);
    if (!fn) out.push({ side: 'request', operation, field: '/', message: `content type ${type} not in the spec` });
    else if (!fn(req.body)) out.push(...toViolations('request', operation, fn.errors));
  } else if (op.requestBody?.required && req.body === undefined) {
    out.push({ side: 'request', operation, field: '/', message: 'request body is required' });
  }
  return applyExceptions(out, exceptions);
}

/** What the validator needs to know of a response. */
export interface ResponseToCheck {
  path: string;
  method: string;
  status: number;
  headers?: Headers;
  /** Parsed JSON body, or one SSE event's data (`contentType: 'text/event-stream'`). */
  body: unknown;
  contentType?: 'application/json' | 'text/event-stream';
}

const ERROR_RESPONSE = ['components', 'schemas', 'ErrorResponse'];

/**
 * Validates a response. Documented statuses use their own schema; an error status the
 * operation does not document is checked against `ErrorResponse` (the one error body
 * the spec defines, `#/components/schemas/ErrorResponse`), which every OpenAI error has.
 */
export function validateResponse(res: ResponseToCheck, exceptions: readonly SpecException[] = SPEC_EXCEPTIONS): SpecViolation[] {
  const method = res.method.toLowerCase();
  const operation = `${res.method.toUpperCase()} ${res.path} → ${res.status}`;
  const op = operationOf(res.path, method);
  if (!op) return [{ side: 'response', operation, field: '/', message: 'operation not in the spec' }];
  const out: SpecViolation[] = [];
  const type = res.contentType ?? 'application/json';
  const documented = op.responses?.[String(res.status)];
  const resolved = resolveRef(documented);
  let pointer: string[] | undefined;
  if (documented && resolved?.content?.[type]?.schema) {
    pointer = documented.$ref
      ? [...String(documented.$ref).replace(/^#\//, '').split('/'), 'content', type, 'schema']
      : ['paths', res.path, method, 'responses', String(res.status), 'content', type, 'schema'];
  } else if (res.status >= 400) {
    pointer = ERROR_RESPONSE;
  } else if (res.status >= 200 && res.status < 300 && !documented) {
    out.push({ side: 'response', operation, field: '/', message: 'status not documented for this operation' });
  }
  if (pointer && type === 'text/event-stream') pointer = eventBranch(pointer, res.body);
  if (pointer) {
    const fn = compiled(pointer.join('\u0000'), pointer);
    if (fn && !fn(res.body)) out.push(...toViolations('response', operation, fn.errors));
  }
  // Header schemas the spec documents (TooManyRequests: `Retry-After` integer ≥ 1).
  for (const [name, header] of Object.entries<any>(resolved?.headers ?? {})) {
    const raw = res.headers?.get(name);
    if (raw === null || raw === undefined) continue;
    const schema = header?.schema;
    const value = schema?.type === 'integer' ? (/^-?\d+$/.test(raw) ? Number(raw) : raw) : raw;
    const headerPointer = documented?.$ref
      ? [...String(documented.$ref).replace(/^#\//, '').split('/'), 'headers', name, 'schema']
      : ['paths', res.path, method, 'responses', String(res.status), 'headers', name, 'schema'];
    const fn = compiled(headerPointer.join('\u0000'), headerPointer);
    if (fn && !fn(value)) out.push(...toViolations('response', operation, fn.errors, `header.${name.toLowerCase()}`));
  }
  return applyExceptions(out, exceptions);
}

/**
 * A stream event schema is a union of ~60 event shapes told apart by `type`. The spec's
 * `discriminator` is an annotation, so the event's own `type` picks the branch here;
 * otherwise every mismatch of every other branch would be reported.
 */
function eventBranch(pointer: string[], event: unknown): string[] {
  let node: any = load().spec;
  for (const part of pointer) node = node?.[part];
  let path = pointer;
  for (let i = 0; node?.$ref && i < 5; i++) {
    path = String(node.$ref).replace(/^#\//, '').split('/');
    node = resolveRef(node);
  }
  const key = node?.anyOf ? 'anyOf' : node?.oneOf ? 'oneOf' : undefined;
  const eventType = (event as { type?: unknown } | null)?.type;
  if (!key || typeof eventType !== 'string') return pointer;
  const index = (node[key] as any[]).findIndex((branch) => {
    const props = resolveRef(branch)?.properties?.type;
    return props?.enum?.includes(eventType) || props?.const === eventType;
  });
  if (index < 0) return pointer;
  return [...path, key, String(index)];
}

/**
 * Compiles, ahead of use, the validators the given operations need: each request body,
 * each documented response body and `ErrorResponse`, and runs each once so V8 compiles
 * its entry function too. The first check of each route otherwise pays for this inside a
 * request the server under test is waiting for: 595 ms for the first `GET /vector_stores`
 * on a quiet machine, seconds on a loaded one (measured in KI-13-store-limit-fail-fast).
 * Stream-event branches stay lazy (about 60 shapes; only streamed answers use them).
 * Returns how many validators it compiled.
 */
export function warmValidators(operations: ReadonlyArray<{ path: string; method: string }>): number {
  const pointers: string[][] = [ERROR_RESPONSE];
  for (const { path, method } of operations) {
    const m = method.toLowerCase();
    const op = operationOf(path, m);
    if (!op) continue;
    for (const type of Object.keys(op.requestBody?.content ?? {})) pointers.push(['paths', path, m, 'requestBody', 'content', type, 'schema']);
    for (const [status, documented] of Object.entries<any>(op.responses ?? {})) {
      if (!resolveRef(documented)?.content?.['application/json']?.schema) continue;
      pointers.push(documented.$ref
        ? [...String(documented.$ref).replace(/^#\//, '').split('/'), 'content', 'application/json', 'schema']
        : ['paths', path, m, 'responses', status, 'content', 'application/json', 'schema']);
    }
  }
  let count = 0;
  for (const pointer of pointers) {
    const fn = compiled(pointer.join('\u0000'), pointer);
    if (!fn) continue;
    fn({});
    count++;
  }
  return count;
}

/** One line per violation, for error messages and reports. */
export function formatViolations(violations: readonly SpecViolation[]): string {
  return violations.map((v) => `${v.side} ${v.operation}: ${v.field} ${v.message}`).join('; ');
}

