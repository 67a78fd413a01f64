/**
 * The command line: which command to run and its options, parsed with node:util parseArgs.
 * A usage error is an SbError SB_ERR_USAGE with a one-line message; main prints it with the
 * usage and exits 2 (the shell convention for bad usage), never with a stack trace.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, SbError } from '../errors.ts';

export const USAGE = `second-brain — an MCP server to consult o3, o3-pro, GPT-4.1, Grok 4 and Gemini 2.5 about a codebase

usage:
  second-brain                 serve MCP over stdio (what MCP clients run)
  second-brain --http PORT     serve MCP Streamable HTTP on 127.0.0.1:PORT at /mcp
  second-brain doctor [--json] check Node, the state dir, each provider's key and endpoint, telemetry
  second-brain traces [...]    list recent calls from local telemetry; 'traces show ID' prints one
  second-brain --version, -v   print the version
  second-brain --help, -h, help

Configuration is read from the environment; see the README.`;

/** Exit code for a usage error. */
export const USAGE_EXIT_CODE = 2;

export type CliCommand =
  | { command: 'serve'; httpPort?: number }
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'doctor'; json: boolean }
  | { command: 'traces'; args: string[] };

function usageError(message: string, cause?: unknown): SbError {
  return new SbError(ErrorCode.USAGE, message, { cause });
}

/** Reads argv (without node and the script). @throws SbError SB_ERR_USAGE */
export function parseCli(argv: readonly string[]): CliCommand {
  // traces owns its own flags (--slow, --failed, …); hand it everything after the word.
  if (argv[0] === 'traces') return { command: 'traces', args: argv.slice(1) };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        http: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw usageError(parseArgsMessage(err), err);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };
  const [word, ...rest] = positionals;
  if (rest.length > 0) throw usageError(`unexpected argument "${rest[0]}"`);
  if (word === 'help') return { command: 'help' };
  if (word === 'doctor') {
    if (values.http !== undefined) throw usageError('--http does not apply to doctor');
    return { command: 'doctor', json: values.json === true };
  }
  if (word !== undefined) throw usageError(`unknown command "${word}"`);
  if (values.json) throw usageError('--json applies only to doctor');
  if (values.http === undefined) return { command: 'serve' };
  const port = Number(values.http);
  if (values.http.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw usageError(`--http takes a port number 0–65535, got "${values.http}"`);
  }
  return { command: 'serve', httpPort: port };
}

/** parseArgs's messages are long and mention internals; say what was wrong in a few words. */
function parseArgsMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const option = /'(-{1,2}[^' ]+)/.exec(e.message ?? '')?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${option ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(e.message ?? '')) return `option ${option ?? ''} takes no value`;
      return option === '--http' ? '--http needs a port number, e.g. --http 8765' : `option ${option ?? ''} needs a value`;
    default: return e.message ?? String(err);
  }
}
