// Spec-exact answers of the Streamable HTTP endpoint: 404 for an unknown or ended
// mcp-session-id, JSON-RPC -32700 for bad JSON, 413 past the body limit, exact route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startHttpRig, initializeBody, HTTP_TEST_TOKEN } from '../../test/support/http-rig.ts';
import { patience } from '@second-brain/harness';

test('an unknown or ended mcp-session-id gets 404 on POST, GET and DELETE', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig();
  try {
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' });
    for (const method of ['POST', 'GET', 'DELETE']) {
      const r = await rig.request({ method, headers: { 'mcp-session-id': 'no-such-session' }, ...(method === 'POST' ? { body: ping } : {}) });
      assert.equal(r.status, 404, `${method} unknown session`);
      await r.body?.cancel();
    }
    const init = await rig.request({ body: initializeBody() });
    assert.equal(init.status, 200);
    const sid = init.headers.get('mcp-session-id')!;
    await init.body?.cancel();
    const del = await rig.request({ method: 'DELETE', headers: { 'mcp-session-id': sid } });
    assert.equal(del.status, 200);
    const after = await rig.request({ headers: { 'mcp-session-id': sid }, body: ping });
    assert.equal(after.status, 404, 'a session ended by DELETE is 404 afterwards');
    assert.equal((await after.json() as any).error.code, -32001);
    assert.equal(rig.http.sessions.size, 0);
  } finally {
    await rig.close();
  }
});

test('malformed JSON is a JSON-RPC -32700 parse error; JSON that is no message is -32600', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig();
  try {
    for (const body of ['{"jsonrpc": "2.0", "id": 1, "method": ', 'not json', '']) {
      const r = await rig.request({ body });
      assert.equal(r.status, 400);
      const j = await r.json() as any;
      assert.equal(j.jsonrpc, '2.0');
      assert.equal(j.error.code, -32700, `body ${JSON.stringify(body)}: ${JSON.stringify(j)}`);
      assert.equal(j.id, null);
    }
    const r = await rig.request({ body: '{"hello": "world"}' });
    assert.equal(r.status, 400);
    assert.equal((await r.json() as any).error.code, -32600);
  } finally {
    await rig.close();
  }
});

/** Streams `total` bytes at the server (declared or chunked) and resolves on the response, without waiting for the upload. */
function bigPost(port: number, total: number, declare: boolean): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', timeout: patience(20_000), headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${HTTP_TEST_TOKEN}`,
      ...(declare ? { 'content-length': String(total) } : {}),
    } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { b += d; });
      res.on('end', () => { answered = true; resolve({ status: res.statusCode ?? 0, body: b, sent }); req.destroy(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    // The server closes the connection after 413: a write error after the response is expected.
    req.on('error', (e) => { if (!answered) reject(e); });
    const chunk = Buffer.alloc(65_536, 0x20);
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

test('a 50 MB body gets 413 (declared or streamed) without the server reading it all', { timeout: patience(60_000) }, async () => {
  const rig = await startHttpRig();
  try {
    const total = 50 * 1_048_576;
    for (const declare of [true, false]) {
      const r = await bigPost(rig.http.port, total, declare);
      assert.equal(r.status, 413, `declared=${declare}: ${r.status} ${r.body}`);
      assert.equal(JSON.parse(r.body).error.code, -32000);
      assert.ok(r.sent < total || declare, 'a streamed body is refused before it all arrives');
    }
    const ok = await rig.request({ body: initializeBody() });
    assert.equal(ok.status, 200, 'the server still answers');
    await ok.body?.cancel();
  } finally {
    await rig.close();
  }
});

test('only /mcp is the endpoint: /mcpXYZ, /mcp/x and / are 404', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig();
  try {
    for (const path of ['/mcpXYZ', '/mcp/x', '/mcp/', '/', '/MCP']) {
      const r = await rig.request({ path, body: initializeBody() });
      assert.equal(r.status, 404, path);
      await r.body?.cancel();
    }
    assert.equal(rig.http.sessions.size, 0);
    const r = await rig.request({ path: '/mcp?client=x', body: initializeBody() });
    assert.equal(r.status, 200, 'a query string does not change the path');
    await r.body?.cancel();
  } finally {
    await rig.close();
  }
});
