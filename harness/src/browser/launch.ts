/**
 * The one way every browser test gets a browser: the system Chromium where there is one
 * (`/usr/bin/chromium`), otherwise the Chromium build that `@sparticuz/chromium` ships
 * inside its npm package, so a fresh clone renders pages after `npm install` alone (no
 * `playwright install`, no download).
 *
 * The browser is made to stay offline: the flags below turn off background networking,
 * component updates, sync, first-run and crash reporting, and Playwright's `launch()`
 * always starts from a fresh temporary profile (user-data-dir) that it deletes on close.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';

const execFileAsync = promisify(execFile);

/** Where a distribution's Chromium is looked for first. */
export const SYSTEM_CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags that keep Chromium from making connections of its own. */
export const OFFLINE_FLAGS: readonly string[] = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--no-pings',
  '--metrics-recording-only',
];

/** Flags of the packaged build's recommended set that weaken page security; not wanted for tests. */
const INSECURE_FLAGS = new Set(['--disable-web-security', '--allow-running-insecure-content']);

/** Unpacking the packaged Chromium (about 200 MB from a 64 MB archive) takes seconds, not minutes. */
const UNPACK_TIMEOUT_MS = 120_000;

export interface BrowserSource {
  /** `system` (`/usr/bin/chromium`) or `npm` (the build inside `@sparticuz/chromium`). */
  from: 'system' | 'npm';
  executablePath: string;
  args: string[];
  /** The packaged build's version, for `npm`. */
  version?: string;
}

let npmSource: Promise<BrowserSource> | undefined;

/**
 * Unpacks the packaged Chromium once per machine and version into
 * `<tmpdir>/second-brain-chromium-<version>/`. The package itself always unpacks into
 * the temp directory's root and writes in place, so two test processes starting at once
 * could each see the other's half-written binary. Hence: unpack in a child process whose
 * temp directory is a private staging directory, then rename that directory into place
 * (atomic; the loser of a race discards its copy).
 */
async function unpackNpmChromium(signal?: AbortSignal): Promise<BrowserSource> {
  const entry = import.meta.resolve('@sparticuz/chromium');
  const pkg = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', entry)), 'utf8')) as { version: string };
  const { default: chromium } = await import('@sparticuz/chromium');
  const args = chromium.args.filter((a) => !INSECURE_FLAGS.has(a));
  const dir = join(tmpdir(), `second-brain-chromium-${pkg.version}`);
  const executablePath = join(dir, 'chromium');
  if (!existsSync(executablePath)) {
    const staging = await mkdtemp(join(tmpdir(), 'second-brain-chromium-staging-'));
    try {
      const script = `const { default: c } = await import(${JSON.stringify(entry)}); process.stdout.write(await c.executablePath());`;
      const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, TMPDIR: staging, TMP: staging, TEMP: staging },
        signal: AbortSignal.any([AbortSignal.timeout(UNPACK_TIMEOUT_MS), ...(signal ? [signal] : [])]),
      });
      if (stdout.trim() !== join(staging, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${stdout.trim()}, not into ${staging}`);
      try {
        await rename(staging, dir);
      } catch (err) {
        // Another process put its copy there first: use that one.
        if (!existsSync(executablePath)) throw err;
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return { from: 'npm', executablePath, args, version: pkg.version };
}

/** Which Chromium {@link launchBrowser} starts, and with what flags. */
export async function findBrowser(signal?: AbortSignal): Promise<BrowserSource> {
  if (existsSync(SYSTEM_CHROMIUM_PATH)) return { from: 'system', executablePath: SYSTEM_CHROMIUM_PATH, args: ['--disable-gpu'] };
  npmSource ??= unpackNpmChromium(signal).catch((err: unknown) => {
    npmSource = undefined;
    throw err;
  });
  return npmSource;
}

/**
 * A headless Chromium through playwright-core, offline (see {@link OFFLINE_FLAGS}).
 * Close it when done.
 *
 * @example
 * const browser = await launchBrowser();
 * try { const page = await browser.newPage(); … } finally { await browser.close(); }
 */
export async function launchBrowser(options: { signal?: AbortSignal } = {}): Promise<Browser> {
  const source = await findBrowser(options.signal);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: source.executablePath, args: [...source.args, ...OFFLINE_FLAGS], headless: true, timeout: 60_000 });
}
