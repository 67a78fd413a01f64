import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFakeConfig } from '../fake/config.ts';
import { startLoopbackFake } from './loopback.ts';

/**
 * `harness fake-openai --port N [--config FILE] [--seed N]`: serves the fake over
 * loopback until SIGINT/SIGTERM (or `signal`), printing the base URLs to stderr.
 * Returns the exit code.
 */
export async function runFakeOpenAiCli(argv: string[], options: { signal?: AbortSignal; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  const stderr = options.stderr ?? process.stderr;
  let values: { port?: string; config?: string; seed?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        config: { type: 'string', short: 'c' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    stderr.write(`fake-openai: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    stderr.write(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    stderr.write(`fake-openai: --port must be an integer 0-65535, got '${values.port}'\n`);
    return 2;
  }
  let fakeOptions;
  try {
    fakeOptions = parseFakeConfig(values.config ? parseYaml(readFileSync(values.config, 'utf8')) : {});
    if (values.seed !== undefined) {
      const seed = Number(values.seed);
      if (!Number.isInteger(seed)) throw new TypeError(`--seed must be an integer, got '${values.seed}'`);
      fakeOptions.seed = seed;
    }
  } catch (error) {
    stderr.write(`fake-openai: ${(error as Error).message}\n`);
    return 2;
  }
  const loopback = await startLoopbackFake({ port, fakeOptions });
  stderr.write(
    [
      `fake-openai listening on ${loopback.url}`,
      `  OpenAI: ${loopback.baseUrls.openai}`,
      `  xAI:    ${loopback.baseUrls.xai}`,
      `  Gemini: ${loopback.baseUrls.gemini}`,
      `  control: ${loopback.controlUrl}`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  await loopback.close();
  return 0;
}

const USAGE = `Usage: harness fake-openai [--port N] [--config FILE] [--seed N]
Serves the fake OpenAI, xAI and Gemini APIs on 127.0.0.1 until SIGINT/SIGTERM.
`;
