// The catalogue (docs/known-issues.md) is where every KI id is explained: an id cited in
// code, a scenario or the README must have an entry, and each entry must name the
// scenarios and the KI-named tests that exist for it, so a new one cannot go unlisted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CATALOGUE = join(ROOT, 'docs', 'known-issues.md');
const SEARCHED = ['server', 'harness', 'scenarios', 'scripts', 'otel-collector', 'README.md'];
const SKIPPED_DIRS = new Set(['node_modules', 'reports', 'coverage', '.git']);
/** Ids cited on purpose without an entry, by file, with why. */
const ALLOWED_UNKNOWN: Record<string, string> = {
  'harness/src/runner/chaos.test.ts KI-99': 'an id that matches no scenario, to test --only',
};

function files(path: string): string[] {
  const abs = join(ROOT, path);
  let entries;
  try { entries = readdirSync(abs, { withFileTypes: true }); } catch { return [abs]; }
  return entries.flatMap((e) => {
    if (e.isDirectory()) return SKIPPED_DIRS.has(e.name) ? [] : files(join(path, e.name));
    return /\.(ts|js|md|json|yaml|yml)$/.test(e.name) ? [join(abs, e.name)] : [];
  });
}

/** Each catalogue entry's id and the text of its section. */
function entries(): Map<string, string> {
  const text = readFileSync(CATALOGUE, 'utf8');
  const out = new Map<string, string>();
  const parts = text.split(/^## (?=KI-\d\d:)/m).slice(1);
  for (const part of parts) out.set(part.slice(0, 5), part);
  return out;
}

test('every KI id cited in code, scenarios and the README has an entry in docs/known-issues.md', () => {
  const known = entries();
  assert.ok(known.size >= 22, `only ${known.size} entries parsed`);
  const missing: string[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const file of SEARCHED.flatMap(files).filter((f) => f !== self)) {
    const rel = relative(ROOT, file);
    for (const id of new Set(readFileSync(file, 'utf8').match(/\bKI-\d+\b/g) ?? [])) {
      const canonical = `KI-${id.slice(3).padStart(2, '0')}`;
      if (!known.has(canonical) && !(`${rel} ${id}` in ALLOWED_UNKNOWN)) missing.push(`${id} in ${rel}`);
    }
  }
  assert.deepEqual(missing, [], 'cited ids with no catalogue entry');
});

test('each entry names its scenario files and its KI-named tests', () => {
  const known = entries();
  const problems: string[] = [];
  for (const name of readdirSync(join(ROOT, 'scenarios')).filter((n) => /^KI-\d\d-.*\.ts$/.test(n))) {
    const section = known.get(name.slice(0, 5));
    if (!section?.includes(`\`${name}\``)) problems.push(`scenarios/${name} is not listed under ${name.slice(0, 5)}`);
  }
  for (const file of ['server', 'harness'].flatMap(files).filter((f) => /KI-\d\d[^/]*\.test\.ts$/.test(basename(f)))) {
    const rel = relative(ROOT, file);
    const id = /KI-\d\d/.exec(basename(file))![0];
    if (!known.get(id)?.includes(`\`${rel}\``)) problems.push(`${rel} is not listed under ${id}`);
  }
  assert.deepEqual(problems, []);
});

test('the README links the catalogue inside the repository, not a path outside it', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /\]\(docs\/known-issues\.md\)/);
  assert.doesNotMatch(readme, /\.\.\/shared\//);
});
