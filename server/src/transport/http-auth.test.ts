// HTTP mode requires a bearer token on every request, so client-declared roots (which
// widen what may be read) only ever come from an authenticated client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, statSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHttpRig, initializeBody } from '../../test/support/http-rig.ts';
import { resolveHttpToken, HTTP_TOKEN_FILE } from './http-token.ts';
import { patience } from '@second-brain/harness';

test('no token → 401 with a Bearer challenge; a wrong token → 401 invalid_token; no session either way', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig();
  try {
    const none = await rig.request({ token: null, body: initializeBody() });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="second-brain"$/);
    await none.body?.cancel();
    const wrong = await rig.request({ token: 'not-the-token-0123456789', body: initializeBody() });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer realm="second-brain", error="invalid_token"/);
    await wrong.body?.cancel();
    const basic = await rig.request({ token: null, headers: { authorization: 'Basic dXNlcjpwYXNz' }, body: initializeBody() });
    assert.equal(basic.status, 401);
    await basic.body?.cancel();
    await assert.rejects(rig.connect({ token: null }), 'an SDK client without the token cannot connect');
    assert.equal(rig.http.sessions.size, 0);
    assert.equal(rig.http.stats().refused_unauthorized >= 3, true);
  } finally {
    await rig.close();
  }
});

test('roots come only through an authenticated session; unauthenticated requests cannot touch them', { timeout: patience(40_000) }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-http-root-'));
  const outside = mkdtempSync(join(tmpdir(), 'sb-http-outside-'));
  writeFileSync(join(root, 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(outside, 'secret.txt'), 'OUTSIDE');
  const rig = await startHttpRig();
  try {
    // An unauthenticated client declaring roots file:/// gets nowhere.
    await assert.rejects(rig.connect({ token: null, roots: ['/'] }));
    assert.equal(rig.http.sessions.size, 0);

    const client = await rig.connect({ roots: [root] });
    const inside = await client.callTool({ name: 'count_project_tokens', arguments: { paths: [root] } }) as CallToolResult;
    assert.notEqual(inside.isError, true, JSON.stringify(inside.content));
    const out = await client.callTool({ name: 'count_project_tokens', arguments: { paths: [outside] } }) as CallToolResult;
    assert.equal(out.isError, true, 'a path outside the authenticated client\'s roots is refused');

    // Without the token, nobody can ride on that session: not a roots/list_changed
    // notification, not a forged roots/list answer.
    const sid = [...rig.http.sessions.values()][0]!.id;
    for (const body of [
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
      { jsonrpc: '2.0', id: 0, result: { roots: [{ uri: 'file:///' }] } },
      { jsonrpc: '2.0', id: 1, result: { roots: [{ uri: 'file:///' }] } },
    ]) {
      const r = await rig.request({ token: null, headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify(body) });
      assert.equal(r.status, 401, JSON.stringify(body));
      await r.body?.cancel();
    }
    const still = await client.callTool({ name: 'count_project_tokens', arguments: { paths: ['/etc'] } }) as CallToolResult;
    assert.equal(still.isError, true, '/etc stays outside the roots');
    assert.equal((still.structuredContent as any).error.code, 'SB_ERR_PATH_OUTSIDE_ROOTS');
  } finally {
    await rig.close();
  }
});

test('the generated token file is 0600, reused across starts, and tightened when readable by others', { timeout: patience(10_000) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-token-'));
  const first = await resolveHttpToken({ home });
  assert.ok('file' in first.source && first.source.created);
  const file = join(home, HTTP_TOKEN_FILE);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
  const second = await resolveHttpToken({ home });
  assert.equal(second.token, first.token, 'a restart keeps the token a client was configured with');
  chmodSync(file, 0o644);
  const third = await resolveHttpToken({ home });
  assert.ok('file' in third.source && third.source.tightened);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const fromSetting = await resolveHttpToken({ home, setting: 'set-by-user-0123456789' });
  assert.equal(fromSetting.token, 'set-by-user-0123456789');
  assert.equal(readFileSync(file, 'utf8').trim(), first.token, 'a token from the setting is not written anywhere');
});
