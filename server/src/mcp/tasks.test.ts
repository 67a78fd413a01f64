import assert from 'node:assert/strict';
import { test } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SDK_TASK_POLLING_MEMBER, keepDirectPathForPlainCalls } from './tasks.ts';

test('the installed MCP SDK still has the private member plain task-tool calls are routed around', () => {
  // Fails on an SDK upgrade that renames or removes it: adapt tasks.ts before moving the pin.
  const proto = McpServer.prototype as unknown as Record<string, unknown>;
  assert.equal(typeof proto[SDK_TASK_POLLING_MEMBER], 'function');
});

test('plain calls of task tools take the direct path; an SDK without the member fails at start-up, naming it', async () => {
  const mcp = new McpServer({ name: 't', version: '0' });
  const seen: string[] = [];
  keepDirectPathForPlainCalls(mcp, async (name) => { seen.push(name); return { content: [] }; });
  const replaced = (mcp as unknown as Record<string, (t: unknown, r: unknown, e: unknown) => Promise<unknown>>)[SDK_TASK_POLLING_MEMBER]!;
  await replaced({}, { params: { name: 'chat_with_o3', arguments: {} } }, {});
  assert.deepEqual(seen, ['chat_with_o3']);

  const without = Object.create(null) as McpServer;
  assert.throws(() => keepDirectPathForPlainCalls(without, async () => ({ content: [] })), new RegExp(SDK_TASK_POLLING_MEMBER));
});
