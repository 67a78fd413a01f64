// HTTP-mode settings are validated at start: a bad value names its variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readHttpConfig } from './env.ts';
import { DEFAULTS } from './defaults.ts';

test('HTTP settings: defaults, accepted values, and errors naming the variable', () => {
  const d = readHttpConfig({});
  assert.equal(d.token, undefined);
  assert.equal(d.maxSessions, DEFAULTS.HTTP_MAX_SESSIONS);
  assert.equal(d.sessionIdleMs, DEFAULTS.HTTP_SESSION_IDLE_MS);
  assert.equal(d.maxBodyBytes, DEFAULTS.HTTP_MAX_BODY_BYTES);
  const c = readHttpConfig({ SECOND_BRAIN_HTTP_ALLOWED_HOSTS: 'Devbox.Local, devbox.local:9000', SECOND_BRAIN_HTTP_ALLOWED_ORIGINS: 'https://tools.example.com', SECOND_BRAIN_HTTP_MAX_SESSIONS: '4', SECOND_BRAIN_HTTP_SESSION_IDLE_MS: '60000' });
  assert.deepEqual(c.allowedHosts, ['devbox.local', 'devbox.local:9000']);
  assert.deepEqual(c.allowedOrigins, ['https://tools.example.com']);
  assert.equal(c.maxSessions, 4);
  assert.equal(c.sessionIdleMs, 60_000);
  for (const [name, value] of [
    ['SECOND_BRAIN_HTTP_TOKEN', 'short'],
    ['SECOND_BRAIN_HTTP_TOKEN', 'has spaces in it 0123456789'],
    ['SECOND_BRAIN_HTTP_ALLOWED_HOSTS', 'host/path'],
    ['SECOND_BRAIN_HTTP_ALLOWED_ORIGINS', 'tools.example.com'],
    ['SECOND_BRAIN_HTTP_ALLOWED_ORIGINS', 'https://tools.example.com/app'],
    ['SECOND_BRAIN_HTTP_MAX_SESSIONS', '0'],
    ['SECOND_BRAIN_HTTP_SESSION_IDLE_MS', 'soon'],
  ] as const) {
    assert.throws(() => readHttpConfig({ [name]: value }), (e: any) => e.code === 'SB_ERR_CONFIG' && e.message.includes(name), `${name}=${value}`);
  }
});
