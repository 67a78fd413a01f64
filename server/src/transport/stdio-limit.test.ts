import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { limitMessageSize, recoverId, type OversizedMessage } from './stdio-limit.ts';

async function run(lines: string[], limit: number, chunk: number): Promise<{ out: string[]; dropped: OversizedMessage[] }> {
  const all = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const chunks: Buffer[] = [];
  for (let i = 0; i < all.length; i += chunk) chunks.push(all.subarray(i, i + chunk));
  const dropped: OversizedMessage[] = [];
  const t = Readable.from(chunks).pipe(limitMessageSize({ maxMessageBytes: limit, onOversized: (m) => dropped.push(m) }));
  const parts: Buffer[] = [];
  for await (const c of t) parts.push(c as Buffer);
  return { out: Buffer.concat(parts).toString().split('\n').filter(Boolean), dropped };
}

test('whole lines within the limit pass; a longer one is dropped and reported with its id, whatever the chunking', async () => {
  const big = JSON.stringify({ method: 'tools/call', params: { arguments: { instructions: 'y'.repeat(5_000) } }, jsonrpc: '2.0', id: 7 });
  const lines = ['{"jsonrpc":"2.0","id":1,"method":"ping"}', big, '{"jsonrpc":"2.0","id":2,"method":"ping"}'];
  for (const chunk of [1, 7, 100, 4_096, 100_000]) {
    const { out, dropped } = await run(lines, 1_000, chunk);
    assert.deepEqual(out, [lines[0], lines[2]], `chunk ${chunk}`);
    assert.deepEqual(dropped, [{ bytes: big.length, id: 7 }], `chunk ${chunk}`);
  }
});

test('recoverId takes a top-level id only: last member (SDK client order) or first', () => {
  assert.equal(recoverId('{"method":"x","params":{"id":99', ',"jsonrpc":"2.0","id":"abc"}'), 'abc');
  assert.equal(recoverId('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{', 'xxxx"}}}'), 5);
  assert.equal(recoverId('{"method":"notifications/x","params":{"id":3', 'zzz"}}'), undefined);
});
