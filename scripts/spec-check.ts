/**
 * Spec drift: compares the vendored, pruned OpenAI spec with a newer copy (the official
 * `openapi.yaml`, or a pruned JSON) and lists what changed in the paths the server uses:
 * operations, parameters, and each schema those paths reach — added or removed
 * properties, required fields, enum values and types.
 *
 *   npm run spec:check -- path/to/newer-openapi.yaml [--against harness/spec/openai-openapi.pruned.json]
 *
 * Exits 0 with "no changes", 1 when something changed (the list is the report), 2 on bad input.
 */
import { parseArgs } from 'node:util';
import { loadSpecFile, pruneSpec } from './spec-prune.ts';

type Json = Record<string, any>;

/** One observable fact about a schema location: `type`, `required`, `enum`, `properties`. */
type Facts = Map<string, string>;

const facts = (node: any, where: string, out: Facts, depth = 0): void => {
  if (!node || typeof node !== 'object' || depth > 12) return;
  if (Array.isArray(node)) return;
  if (node.$ref) out.set(`${where} $ref`, String(node.$ref).replace('#/components/schemas/', ''));
  if (node.type !== undefined) out.set(`${where} type`, [node.type].flat().sort().join('|'));
  if (Array.isArray(node.enum)) out.set(`${where} enum`, JSON.stringify([...node.enum].sort()));
  if (node.const !== undefined) out.set(`${where} const`, JSON.stringify(node.const));
  if (Array.isArray(node.required)) out.set(`${where} required`, JSON.stringify([...node.required].sort()));
  if (node.properties) {
    out.set(`${where} properties`, JSON.stringify(Object.keys(node.properties).sort()));
    for (const [k, v] of Object.entries(node.properties)) facts(v, `${where}.${k}`, out, depth + 1);
  }
  if (node.items) facts(node.items, `${where}[]`, out, depth + 1);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (Array.isArray(node[key])) node[key].forEach((b: unknown, i: number) => facts(b, `${where}<${key}${i}>`, out, depth + 1));
  }
  if (node.additionalProperties && typeof node.additionalProperties === 'object') facts(node.additionalProperties, `${where}{}`, out, depth + 1);
};

function operationFacts(doc: Json): Facts {
  const out: Facts = new Map();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<Json>(item)) {
      if (method === 'parameters' || typeof op !== 'object') continue;
      const where = `${method.toUpperCase()} ${path}`;
      out.set(`${where} exists`, 'yes');
      for (const p of op.parameters ?? []) {
        if (p.$ref) { out.set(`${where} parameter ${p.$ref}`, 'ref'); continue; }
        out.set(`${where} parameter ${p.in}.${p.name} required`, String(Boolean(p.required)));
        facts(p.schema, `${where} parameter ${p.in}.${p.name}`, out);
      }
      for (const [type, c] of Object.entries<Json>(op.requestBody?.content ?? {})) facts(c.schema, `${where} request ${type}`, out);
      for (const [status, r] of Object.entries<Json>(op.responses ?? {})) {
        out.set(`${where} response ${status}`, r.$ref ? String(r.$ref) : 'inline');
        for (const [type, c] of Object.entries<Json>(r.content ?? {})) facts(c.schema, `${where} response ${status} ${type}`, out);
      }
    }
  }
  for (const [name, schema] of Object.entries<Json>(doc.components?.schemas ?? {})) {
    out.set(`schema ${name} exists`, 'yes');
    facts(schema, `schema ${name}`, out);
  }
  for (const [name, r] of Object.entries<Json>(doc.components?.responses ?? {})) {
    for (const [h, header] of Object.entries<Json>(r.headers ?? {})) facts(header.schema, `response ${name} header ${h}`, out);
  }
  return out;
}

/** The differences between two pruned documents, one line each, sorted. */
export function specDiff(before: Json, after: Json): string[] {
  const a = operationFacts(before);
  const b = operationFacts(after);
  const lines: string[] = [];
  for (const [key, value] of a) {
    if (!b.has(key)) lines.push(key.endsWith(' exists') ? `removed: ${key.slice(0, -7)}` : `removed: ${key} (was ${value})`);
    else if (b.get(key) !== value) lines.push(`changed: ${key}: ${describe(key, value, b.get(key)!)}`);
  }
  for (const [key, value] of b) {
    if (!a.has(key)) lines.push(key.endsWith(' exists') ? `added: ${key.slice(0, -7)}` : `added: ${key} = ${value}`);
  }
  return lines.sort();
}

function describe(key: string, was: string, now: string): string {
  if (/ (required|enum|properties)$/.test(key)) {
    const x = JSON.parse(was) as string[];
    const y = JSON.parse(now) as string[];
    const added = y.filter((v) => !x.includes(v));
    const removed = x.filter((v) => !y.includes(v));
    return [added.length ? `+${JSON.stringify(added)}` : '', removed.length ? `-${JSON.stringify(removed)}` : ''].filter(Boolean).join(' ');
  }
  return `${was} → ${now}`;
}

/** Loads a spec file; a full spec is pruned to the used paths first, so both sides compare alike. */
export function loadComparable(file: string): Json {
  const doc = loadSpecFile(file);
  return doc.info?.['x-pruned-from'] ? doc : pruneSpec(doc);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { against: { type: 'string', default: new URL('../harness/spec/openai-openapi.pruned.json', import.meta.url).pathname } },
  });
  if (!positionals[0]) {
    process.stderr.write('usage: npm run spec:check -- path/to/newer-openapi.yaml [--against pruned.json]\n');
    process.exit(2);
  }
  let lines: string[];
  try {
    lines = specDiff(loadComparable(values.against!), loadComparable(positionals[0]));
  } catch (error) {
    process.stderr.write(`spec:check: ${(error as Error).message}\n`);
    process.exit(2);
  }
  process.stdout.write(lines.length ? `${lines.length} change(s) in the paths the server uses:\n${lines.map((l) => `  ${l}`).join('\n')}\n` : 'no changes in the paths the server uses\n');
  process.exit(lines.length ? 1 : 0);
}
