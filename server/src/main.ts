/**
 * Process entry point: `second-brain` (stdio), `second-brain --http PORT` (Streamable HTTP
 * on 127.0.0.1), `second-brain doctor` (set-up check), `second-brain traces …` (local trace
 * viewer), `--version`, `--help`. Wires telemetry, the
 * transport, background services and signals; createServer itself has no side effects.
 */
import { randomUUID } from 'node:crypto';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { loadConfig } from './config/env.ts';
import { DEFAULTS } from './config/defaults.ts';
import { ErrorCode, isSbError } from './errors.ts';
import { parseCli, USAGE, USAGE_EXIT_CODE } from './cli/args.ts';
import { printLine } from './cli/print.ts';
import { createLogger, droppedLogCount, flushLogs, setLogger } from './logging/logger.ts';
import { startTelemetry, recordToolDuration } from './telemetry/index.ts';
import { createApp, stopApp } from './app.ts';
import { startServices } from './services.ts';
import { createServer, SERVER_VERSION } from './mcp/create-server.ts';
import { serveHttp } from './transport/http.ts';
import { resolveHttpToken } from './transport/http-token.ts';
import { limitMessageSize } from './transport/stdio-limit.ts';
import { warmUp } from './flow/warm-up.ts';
import { logDestination, telemetryLogShipper } from './defects/index.ts';

async function main(argv: string[]): Promise<void> {
  const cli = parseCli(argv);
  if (cli.command === 'help') { printLine(USAGE); return; }
  if (cli.command === 'version') { printLine(`second-brain ${SERVER_VERSION}`); return; }
  if (cli.command === 'traces') {
    const { runTracesCli } = await import('./cli/traces.ts');
    const config = loadConfig();
    const code = await runTracesCli(cli.args, { home: config.home, out: printLine });
    process.exitCode = typeof code === 'number' ? code : 0;
    return;
  }
  if (cli.command === 'doctor') {
    const { runDoctorCli } = await import('./cli/doctor.ts');
    process.exitCode = await runDoctorCli({ env: process.env, json: cli.json, out: printLine });
    return;
  }
  const httpPort = cli.httpPort;

  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, maxBufferBytes: config.logBufferBytes, destination: logDestination(config.testDefects) });
  setLogger(log);
  // KI-04: a stray rejection or exception is logged; it never takes the server down.
  // (The 'no-rejection-guard' test defect leaves Node's default in place: exit on the first one.)
  if (!config.testDefects.has('no-rejection-guard')) {
    process.on('unhandledRejection', (reason) => log.error({ err: String((reason as Error)?.stack ?? reason) }, 'unhandled rejection'));
    process.on('uncaughtException', (err) => log.error({ err: String(err?.stack ?? err) }, 'uncaught exception'));
  }
  const app = createApp(config, { log });
  const telemetry = startTelemetry({
    home: config.home, serviceVersion: SERVER_VERSION, registry: app.inflight,
    logShipper: telemetryLogShipper(config.testDefects),
  });
  app.services.loopStats = () => telemetry.watchdog.snapshot();
  // KI-10: records dropped at a full stderr pipe count as dropped logs, as do those telemetry could not export.
  app.services.droppedTelemetry = () => { const d = telemetry.dropped(); return { spans: d.spans, logs: d.logs + droppedLogCount() }; };
  await startServices(app);
  // The first call's compile cost is paid here, before any client waits on it (KI-20).
  const warm = await warmUp(app);
  log.debug({ ms: warm.ms, steps: warm.steps }, 'warmed up the call path');

  let shuttingDown = false;
  const onToolEnd = (tool: string, seconds: number, errorType: string | undefined) => recordToolDuration(tool, seconds, errorType);
  let closeTransport: () => Promise<void>;
  let handOff: (ms: number) => Promise<void> = async () => {};
  if (httpPort !== undefined) {
    const auth = await resolveHttpToken({ home: config.home, setting: config.http.token });
    if ('file' in auth.source && auth.source.tightened) log.warn({ file: auth.source.file }, 'HTTP token file was readable by others; tightened to 0600');
    const h = await serveHttp(app, httpPort, { onToolEnd, token: auth.token });
    process.stderr.write(`second-brain: MCP Streamable HTTP on http://127.0.0.1:${h.port}/mcp\n`);
    process.stderr.write('file' in auth.source
      ? `second-brain: every request needs "Authorization: Bearer <token>"; the token is in ${auth.source.file}\n`
      : 'second-brain: every request needs "Authorization: Bearer <token>" with the token from SECOND_BRAIN_HTTP_TOKEN\n');
    closeTransport = () => h.close();
    handOff = async (ms) => { await Promise.all([...h.sessions.values()].map((s) => s.sb.handOff(ms))); };
  } else {
    const sb = createServer(app, { transport: 'pipe', connectionId: randomUUID(), onToolEnd });
    // The SDK's transport closes itself for good on a message past its buffer (it then
    // answers nothing while the process lives on); the limiter in front hands it whole lines
    // of at most the limit and turns a longer one into an error reply.
    const maxBytes = config.stdioMaxMessageBytes;
    const input = process.stdin.pipe(limitMessageSize({
      maxMessageBytes: maxBytes,
      onOversized: ({ bytes, id }) => {
        const message = `Request too large: the message is ${bytes} bytes and this server reads JSON-RPC messages of at most ${maxBytes} bytes `
          + '(SECOND_BRAIN_STDIO_MAX_MESSAGE_BYTES). Pass large material as files in context instead of inline arguments.';
        log.warn({ bytes, limitBytes: maxBytes, id: id ?? null, code: ErrorCode.INPUT_TOO_LARGE }, `dropped a ${bytes}-byte JSON-RPC message over the ${maxBytes}-byte stdio limit`);
        if (id !== undefined) {
          transport.send({ jsonrpc: '2.0', id, error: { code: -32600, message, data: { code: ErrorCode.INPUT_TOO_LARGE, bytes, limit_bytes: maxBytes } } })
            .catch((err: unknown) => log.warn({ err }, 'could not answer an oversized request'));
        }
      },
    }));
    // eslint-disable-next-line no-restricted-properties -- the transport is what writes JSON-RPC to stdout
    const transport = new StdioServerTransport(input, process.stdout, { maxBufferSize: 2 * maxBytes + 1_048_576 });
    await sb.connect(transport);
    // Should the transport still close on its own, exit with one line rather than live on deaf.
    const onClose = transport.onclose;
    transport.onclose = () => {
      onClose?.();
      if (shuttingDown) return;
      process.stderr.write('second-brain: the stdio transport closed unexpectedly; exiting so the client sees it at once\n');
      process.exit(1);
    };
    closeTransport = () => sb.mcp.close();
    handOff = (ms) => sb.handOff(ms);
    process.stdin.once('end', () => void shutdown('stdin closed'));
    process.stdin.once('close', () => void shutdown('stdin closed'));
  }
  log.info({ version: SERVER_VERSION, home: config.home, transport: httpPort !== undefined ? 'http' : 'stdio' }, 'second-brain started');

  async function shutdown(why: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    const deadline = Date.now() + DEFAULTS.SHUTDOWN_GRACE_MS;
    // Backstop: whatever hangs, the process ends shortly after the grace period.
    setTimeout(() => process.exit(0), DEFAULTS.SHUTDOWN_GRACE_MS + 2_000);
    log.info({ why, inflight: app.inflight.size }, 'shutting down');
    const left = () => Math.max(100, deadline - Date.now());
    await stopApp(app, handOff, left());
    await closeTransport().catch(() => {});
    await telemetry.shutdown(left()).catch(() => {});
    try { app.db.close(); } catch { /* already closed */ }
    flushLogs();
    process.exit(0);
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main(process.argv.slice(2)).catch((err) => {
  if (isSbError(err, ErrorCode.USAGE)) {
    process.stderr.write(`second-brain: ${err.message}\n\n${USAGE}\n`);
    process.exit(USAGE_EXIT_CODE);
  }
  // A person's mistake (settings, state dir) gets its message and advice; only a defect gets a stack.
  const msg = isSbError(err) && err.code !== ErrorCode.INTERNAL ? `${err.message} [${err.code}]` : String((err as Error)?.stack ?? err);
  process.stderr.write(`second-brain: ${msg}\n`);
  process.exit(1);
});
