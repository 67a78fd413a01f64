import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes a project of `count` small source files under `dir` (10 directories), sharing one
 * vocabulary: only the path and index differ. The fake's keyword file_search costs
 * (distinct terms of the prompt) × (attached files) on the harness's event loop, which the
 * pings pass through; generated sources with a unique identifier on every line make that
 * seconds for a few thousand files, these keep it to tens of milliseconds.
 */
export async function writeProject(dir: string, count: number): Promise<void> {
  const dirs = Array.from({ length: 10 }, (_, d) => join(dir, `pkg${d}`));
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, k) => {
        const n = i + k;
        const text = `// Module ${n} of the sample project.\nexport function handle(input: string): string {\n  return input.trim().toLowerCase();\n}\n`;
        return writeFile(join(dirs[n % dirs.length]!, `mod_${n}.ts`), text);
      }),
    );
  }
}
