import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scenarioKey } from './scenario.ts';
import type { Scenario } from './scenario.ts';

/**
 * Finds and imports scenario files: `scenarios/KI-xx-<name>.ts`, each exporting a
 * `defineScenario()` result as default. Any problem with a file is a
 * `ScenarioLoadError` naming the file (the CLI's exit code 2), never a half-run.
 */

export class ScenarioLoadError extends Error {
  override readonly name = 'ScenarioLoadError';
}

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
}

const FILE_PATTERN = /^KI-\d{2}-[a-z0-9-]+\.ts$/;

/** True when `key` (like `KI-07-string-booleans`) is selected by `--only` filters (`KI-07`, `KI-07-string-booleans`). */
export function selected(key: string, only: readonly string[]): boolean {
  if (only.length === 0) return true;
  return only.some((f) => key === f || key.startsWith(`${f}-`) || key.toLowerCase() === f.toLowerCase());
}

/** Splits repeated and comma-separated `--only` values. */
export function parseOnly(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

export async function loadScenarios(dir: string, only: readonly string[] = []): Promise<LoadedScenario[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new ScenarioLoadError(`Cannot read the scenarios directory ${dir}: ${(error as Error).message}`);
  }
  const files = names.filter((n) => FILE_PATTERN.test(n) && !n.endsWith('.test.ts')).sort();
  const chosen = files.filter((n) => selected(basename(n, '.ts'), only));
  if (only.length && chosen.length === 0) {
    throw new ScenarioLoadError(`No scenario matches --only ${only.join(',')}. Scenarios in ${dir}: ${files.map((f) => basename(f, '.ts')).join(', ') || 'none'}`);
  }
  const out: LoadedScenario[] = [];
  const keys = new Set<string>();
  for (const name of chosen) {
    const file = join(dir, name);
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw new ScenarioLoadError(`${name}: ${(error as Error)?.message ?? String(error)}`);
    }
    const scenario = mod.default as Scenario | undefined;
    if (!scenario || typeof scenario !== 'object' || !Array.isArray(scenario.steps) || typeof scenario.id !== 'string') {
      throw new ScenarioLoadError(`${name}: the default export is not a scenario. Write \`export default defineScenario({...})\`.`);
    }
    const key = scenarioKey(scenario);
    if (`${key}.ts` !== name) throw new ScenarioLoadError(`${name}: the file must be named after its id and name: ${key}.ts`);
    if (keys.has(key)) throw new ScenarioLoadError(`${name}: a second scenario with key ${key}`);
    keys.add(key);
    out.push({ file, scenario });
  }
  return out;
}
