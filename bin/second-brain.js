#!/usr/bin/env node
// Starts the second-brain MCP server. The project brings its own Node 24 (a dev
// dependency); when this file is run by an older Node, re-run it with that one.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'server', 'src', 'main.ts');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 18)) {
  await import(entry);
} else {
  const bundled = join(root, 'node_modules', '.bin', 'node');
  if (!existsSync(bundled)) {
    process.stderr.write(`second-brain needs Node.js >= 22.18 (this is ${process.versions.node}). Run "npm install" in ${root} first.\n`);
    process.exit(1);
  }
  const child = spawn(bundled, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)));
}
