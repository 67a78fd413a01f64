// Figures with a unit (ms, s, bytes, KB, MB, tokens) live in server/src/config/defaults.ts,
// in one place with their units; a module may alias one (`const X_MS = DEFAULTS.X_MS`) but
// not define its own. Counts without a unit (chunk sizes, loop slices) and page layout
// figures may stay with their code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const UNIT_CONSTANT = /^\s*(?:export\s+)?const\s+([A-Z][A-Z0-9_]*_(?:MS|S|SECONDS|BYTES|KB|KIB|MB|MIB|TOKENS))\s*(?::\s*number\s*)?=\s*[0-9][0-9_.*\s]*;/gm;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [p] : [];
  });
}

export function unitConstantsOutsideDefaults(files: ReadonlyArray<{ path: string; text: string }>): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f.path.endsWith('config/defaults.ts')) continue;
    for (const m of f.text.matchAll(UNIT_CONSTANT)) out.push(`${f.path}: ${m[1]}`);
  }
  return out;
}

test('the check finds a figure with a unit defined outside defaults.ts, and accepts an alias', () => {
  assert.deepEqual(unitConstantsOutsideDefaults([{ path: 'server/src/vector/x.ts', text: 'const POLL_MS = 500;\nexport const MAX_BYTES = 4 * 1_048_576;\nconst ALIAS_MS = DEFAULTS.POLL_MS;\nconst PARTS = 64;\n' }]),
    ['server/src/vector/x.ts: POLL_MS', 'server/src/vector/x.ts: MAX_BYTES']);
});

test('no server module defines its own figure with a unit', () => {
  const files = sources(join(root, 'server/src')).map((p) => ({ path: relative(root, p), text: readFileSync(p, 'utf8') }));
  assert.deepEqual(unitConstantsOutsideDefaults(files), [], 'move these into DEFAULTS (server/src/config/defaults.ts) and alias them');
});
