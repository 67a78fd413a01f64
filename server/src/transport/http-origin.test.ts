// Host and Origin are checked against an allow-list before any session work: a page
// reaching the server through DNS rebinding (Host: evil.example) or from another origin
// gets 403 and no McpServer is built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startHttpRig, initializeBody, HTTP_TEST_TOKEN } from '../../test/support/http-rig.ts';
import { patience } from '@second-brain/harness';

/** fetch cannot set Host, so raw node:http; resolves status and body. */
function rawPost(port: number, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', timeout: patience(10_000), headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${HTTP_TEST_TOKEN}`, ...headers,
    } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

test('a foreign Host or Origin gets 403 before any session exists; loopback names with the port are accepted', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig();
  try {
    const port = rig.http.port;
    const refusedHeaders: Record<string, string>[] = [
      { host: `evil.example:${port}` },
      { host: 'evil.example' },
      { host: `127.0.0.1:${port + 1}` },
      { host: `127.0.0.1:${port}`, origin: 'http://evil.example' },
      { host: `127.0.0.1:${port}`, origin: `http://evil.example:${port}` },
      { host: `127.0.0.1:${port}`, origin: 'null' },
    ];
    for (const headers of refusedHeaders) {
      const r = await rawPost(port, headers, initializeBody());
      assert.equal(r.status, 403, `${JSON.stringify(headers)} → ${r.status} ${r.body}`);
      assert.equal(JSON.parse(r.body).error.code, -32000);
    }
    assert.equal(rig.http.sessions.size, 0, 'no session was created for a refused request');
    assert.equal(rig.http.stats().refused_host_origin, 6);
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) {
      const r = await rawPost(port, { host: `${name}:${port}`, origin: `http://${name}:${port}` }, initializeBody());
      assert.equal(r.status, 200, `${name}: ${r.body}`);
    }
    const noOrigin = await rawPost(port, { host: `localhost:${port}` }, initializeBody());
    assert.equal(noOrigin.status, 200, 'a client that sends no Origin (not a browser) is accepted');
    assert.equal(rig.http.sessions.size, 4);
  } finally {
    await rig.close();
  }
});

test('SECOND_BRAIN_HTTP_ALLOWED_HOSTS / _ORIGINS add names to the allow-list', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig({ env: { SECOND_BRAIN_HTTP_ALLOWED_HOSTS: 'devbox.local', SECOND_BRAIN_HTTP_ALLOWED_ORIGINS: 'https://tools.example.com' } });
  try {
    const port = rig.http.port;
    const ok = await rawPost(port, { host: `devbox.local:${port}`, origin: 'https://tools.example.com' }, initializeBody());
    assert.equal(ok.status, 200, ok.body);
    const other = await rawPost(port, { host: `devbox.local:${port}`, origin: 'https://other.example.com' }, initializeBody());
    assert.equal(other.status, 403);
  } finally {
    await rig.close();
  }
});
