/**
 * Re-prunes the official OpenAI OpenAPI specification down to the paths the server and
 * the fake use, with every component schema they reference (transitively), and writes
 * it to `harness/spec/openai-openapi.pruned.json`.
 *
 *   node scripts/spec-prune.ts path/to/openapi.yaml [--commit <sha>] [--date YYYY-MM-DD] [--out file]
 *
 * Documentation-only extensions (`x-oaiMeta` code samples) are dropped; everything a
 * validator reads (schemas, parameters, request bodies, responses) is kept as is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { parse } from 'yaml';

/** The paths the server sends and the fake answers; `spec:check` compares these too. */
export const USED_PATHS = [
  '/responses',
  '/responses/{response_id}',
  '/responses/{response_id}/cancel',
  '/chat/completions',
  '/files',
  '/files/{file_id}',
  '/vector_stores',
  '/vector_stores/{vector_store_id}',
  '/vector_stores/{vector_store_id}/search',
  '/vector_stores/{vector_store_id}/files',
  '/vector_stores/{vector_store_id}/files/{file_id}',
  '/vector_stores/{vector_store_id}/file_batches',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel',
  '/vector_stores/{vector_store_id}/file_batches/{batch_id}/files',
] as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function stripDocs(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDocs);
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) if (k !== 'x-oaiMeta') out[k] = stripDocs(v);
    return out;
  }
  return value;
}

function refsIn(value: Json, found: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) refsIn(v, found);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') found.add(v);
      else refsIn(v, found);
    }
  }
}

/** Returns the pruned document: the used paths and the components they reach. */
export function pruneSpec(full: Record<string, any>, meta: { commit?: string; date?: string } = {}): Record<string, any> {
  const paths: Record<string, Json> = {};
  for (const p of USED_PATHS) {
    if (!full.paths?.[p]) throw new Error(`The spec has no path ${p}; update USED_PATHS or the server.`);
    paths[p] = stripDocs(full.paths[p]);
  }
  const components: Record<string, Record<string, Json>> = {};
  const seen = new Set<string>();
  const queue = new Set<string>();
  refsIn(paths as Json, queue);
  while (queue.size) {
    const [ref] = queue;
    queue.delete(ref!);
    if (seen.has(ref!)) continue;
    seen.add(ref!);
    const m = /^#\/components\/([^/]+)\/(.+)$/.exec(ref!);
    if (!m) throw new Error(`Unsupported $ref ${ref}`);
    const [, kind, name] = m as unknown as [string, string, string];
    const target = full.components?.[kind]?.[name];
    if (target === undefined) throw new Error(`Dangling $ref ${ref}`);
    const stripped = stripDocs(target);
    (components[kind] ??= {})[name] = stripped;
    const next = new Set<string>();
    refsIn(stripped, next);
    for (const r of next) if (!seen.has(r)) queue.add(r);
  }
  for (const kind of Object.keys(components)) {
    components[kind] = Object.fromEntries(Object.entries(components[kind]!).sort(([a], [b]) => a.localeCompare(b)));
  }
  if (full.components?.securitySchemes) components.securitySchemes = full.components.securitySchemes;
  return {
    openapi: full.openapi,
    info: { ...full.info, 'x-pruned-from': { repository: 'github.com/openai/openai-openapi', file: 'openapi.yaml', commit: meta.commit ?? null, date: meta.date ?? null } },
    servers: full.servers,
    security: full.security,
    paths,
    components,
  };
}

export function loadSpecFile(file: string): Record<string, any> {
  const text = readFileSync(file, 'utf8');
  // The official file is YAML; a pruned copy is JSON (which YAML also parses).
  return parse(text, { maxAliasCount: -1 }) as Record<string, any>;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { commit: { type: 'string' }, date: { type: 'string' }, out: { type: 'string' } },
  });
  const input = positionals[0];
  if (!input) {
    process.stderr.write('usage: node scripts/spec-prune.ts path/to/openapi.yaml [--commit sha] [--date YYYY-MM-DD] [--out file]\n');
    process.exit(2);
  }
  const out = resolve(values.out ?? new URL('../harness/spec/openai-openapi.pruned.json', import.meta.url).pathname);
  const pruned = pruneSpec(loadSpecFile(input), { commit: values.commit, date: values.date });
  writeFileSync(out, `${JSON.stringify(pruned, null, 1)}\n`);
  const count = Object.values(pruned.components as Record<string, object>).reduce((n, c) => n + Object.keys(c).length, 0);
  process.stdout.write(`wrote ${out}: ${Object.keys(pruned.paths).length} paths, ${count} components\n`);
}
