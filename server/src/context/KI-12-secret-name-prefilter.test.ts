// KI-12: the literal prefilter in front of the secret-name rules must never change a
// verdict: against the rules applied one by one (the `ignore` library alone), on every
// pattern's own shapes and on random names and paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ignore from 'ignore';
import { isSecretName, SECRET_NAME_PATTERNS } from './secrets.ts';

const hasSlash = (p: string) => p.replace(/^!/, '').includes('/');
const base = ignore().add(SECRET_NAME_PATTERNS.filter((p) => !hasSlash(p)));
const path = ignore().add(SECRET_NAME_PATTERNS.filter(hasSlash));
function reference(rel: string): boolean {
  const b = rel.split('/').pop() ?? '';
  const safe = (m: ReturnType<typeof ignore>, x: string) => { try { return x !== '' && m.ignores(x); } catch { return false; } };
  return safe(base, b) || safe(path, rel);
}

/** Names built from the rules themselves: each glob with its wildcards filled in several ways. */
function shapes(): string[] {
  const fills = ['', 'a', 'X.Y', 'prod', 'key'];
  const out: string[] = [];
  for (const raw of SECRET_NAME_PATTERNS) {
    const p = raw.replace(/^!/, '');
    for (const f of fills) {
      const name = p.replace(/\*\*\//g, f ? `${f}/` : '').replace(/\/\*\*$/, `/${f || 'x'}`).replace(/\*/g, f).replace(/\?/g, 'q');
      out.push(name, name.toUpperCase(), `src/${name}`, `deep/er/${name}`);
    }
  }
  return out;
}

test('KI-12: the prefilter agrees with the rules on every pattern shape', () => {
  const disagree = shapes().filter((n) => isSecretName(n) !== reference(n));
  assert.deepEqual(disagree, []);
  assert.ok(shapes().some((n) => reference(n)), 'the shapes include secret names');
});

test('KI-12: the prefilter agrees with the rules on random names and paths', () => {
  const piece = fc.constantFrom('env', '.env', 'key', '.pem', 'token', 'secret', 'credentials', '.ssh', '.aws', 'config', 'src', 'a', '_history', '.', '-', '_', 'json', 'txt', 'ts', 'ID_RSA', 'Kube');
  const name = fc.array(piece, { minLength: 1, maxLength: 4 }).map((xs) => xs.join(''));
  const rel = fc.array(name, { minLength: 1, maxLength: 4 }).map((xs) => xs.join('/'));
  fc.assert(fc.property(rel, (r) => isSecretName(r) === reference(r)), { numRuns: 5_000 });
});
