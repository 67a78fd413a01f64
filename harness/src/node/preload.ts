/**
 * In-process mode: load with `node --import <path>/harness/src/node/preload.ts` to
 * answer every request to the fake base URLs (`http://openai.fake/v1`, …) inside the
 * process under test, with msw's `setupServer`. Other traffic (OTLP on loopback, …)
 * passes through untouched.
 *
 * Environment:
 * - `SB_FAKE_CONFIG`: inline JSON/YAML config (see fake/config.ts), or
 * - `SB_FAKE_CONFIG_FILE`: path of a JSON/YAML config file;
 * - `SB_FAKE_CONTROL_FILE`: if set, a control server starts on 127.0.0.1 (ephemeral
 *   port) and `{"port", "url", "pid"}` is written to this path once it listens.
 *
 * Writes nothing to stdout (it is the MCP channel of the process under test).
 */
import { isMainThread } from 'node:worker_threads';
import { startPreloadedFake } from './preload-setup.ts';

// Worker threads inherit `--import`: only the main thread hosts the fake. A worker's copy
// would start a second fake and control server and take over the control file, so the
// driver would configure and read a fake that no request reaches.
if (isMainThread) await startPreloadedFake(process.env);
