/**
 * The reference process: a Node process of the same runtime as the server under test
 * that does nothing but answer MCP `ping` (and `initialize`) over stdio and sample its
 * own event loop. Its round trips and loop delay are what the machine alone costs at the
 * moment, measured over the same channel and window as the server's.
 *
 * Hand-written newline-delimited JSON-RPC instead of the MCP SDK's server on purpose: the
 * reference must carry no work of its own (no schema validation, no module graph to load
 * while it is measured), so that any delay it shows is the machine's.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const resolutionMs = Number(process.env.SB_REFERENCE_LOOP_RESOLUTION_MS ?? 10);
let histogram = monitorEventLoopDelay({ resolution: resolutionMs });
histogram.enable();
let windowStartedMs = performance.timeOrigin + performance.now();

const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);

function loopFigures(reset: boolean): Record<string, number> {
  const figures = {
    maxMs: histogram.count ? histogram.max / 1e6 : 0,
    p99Ms: histogram.count ? histogram.percentile(99) / 1e6 : 0,
    meanMs: histogram.count ? histogram.mean / 1e6 : 0,
    samples: histogram.count,
    sinceMs: windowStartedMs,
  };
  if (reset) {
    histogram.disable();
    histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    histogram.enable();
    windowStartedMs = performance.timeOrigin + performance.now();
  }
  return figures;
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let msg: { id?: number | string; method?: string; params?: { reset?: boolean; protocolVersion?: string } };
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (msg.id === undefined || typeof msg.method !== 'string') return;
  switch (msg.method) {
    case 'initialize':
      send({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: msg.params?.protocolVersion ?? '2025-06-18', capabilities: {}, serverInfo: { name: 'second-brain-reference', version: '0.1.0' } } });
      return;
    case 'ping':
      send({ jsonrpc: '2.0', id: msg.id, result: {} });
      return;
    case 'reference/loop':
      send({ jsonrpc: '2.0', id: msg.id, result: loopFigures(msg.params?.reset !== false) });
      return;
    default:
      send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `Method not found: ${msg.method}` } });
  }
});
lines.on('close', () => process.exit(0));
