/**
 * What a page did while a test looked at it: console errors, uncaught exceptions, and
 * every request. Requests that would leave the machine are refused (`page.route('**')`)
 * and recorded, so a test asserts a page is self-contained instead of hoping it is.
 */
import type { Page } from 'playwright-core';

export interface PageWatch {
  /** Text of every `console.error` and every message Chromium logs as an error (CSP violations, failed loads). */
  consoleErrors: string[];
  /** Uncaught exceptions thrown by the page's scripts. */
  pageErrors: string[];
  /** URL of every request the page made, file:// ones included. */
  requests: string[];
  /** Requests that were not file:// URLs, all refused. */
  network: string[];
}

/** Starts watching `page`; call before `page.goto`. */
export async function guardPage(page: Page): Promise<PageWatch> {
  const watch: PageWatch = { consoleErrors: [], pageErrors: [], requests: [], network: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') watch.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => watch.pageErrors.push(String(e)));
  page.on('request', (r) => watch.requests.push(r.url()));
  await page.route('**', async (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    watch.network.push(url);
    return route.abort('blockedbyclient');
  });
  return watch;
}
