import { fileURLToPath } from 'node:url';

/** The defects the toy server can be started with (see toy-server.ts). */
export const TOY_BREAKS = ['block-loop', 'ignore-cancel', 'strict-args'] as const;
export type ToyBreak = (typeof TOY_BREAKS)[number];

export function isToyBreak(name: string): name is ToyBreak {
  return (TOY_BREAKS as readonly string[]).includes(name);
}

/** The shell command line that starts the toy server with the given defects (for `--server`). */
export function toyCommand(...breaks: ToyBreak[]): string {
  const script = fileURLToPath(new URL('./toy-server.ts', import.meta.url));
  return `${process.execPath} ${script}${breaks.map((b) => ` --break ${b}`).join('')}`;
}

/** The toy server writing `kib` KiB to stderr on every call (see `--log-kib`). */
export function noisyToyCommand(kib: number): string {
  return `${toyCommand()} --log-kib ${kib}`;
}
