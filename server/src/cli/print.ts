/** Output of the command-line subcommands (not the MCP server, whose stdout is JSON-RPC only). */
export function printLine(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}
