// A real headless Chromium (Debian's, installed by hack/install-debs.sh) driven by playwright-core, for
// pages the project writes. The browser is offline and every request a page makes is recorded and
// refused, so a page that needs the network shows it in `requests` (and renders without it).
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.AUTORUN_CHROMIUM ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium itself calls Google's hosts at every start,
// which this machine's closed network refuses. Playwright gives the browser a fresh profile of its own.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface OfflinePage {
  page: Page;
  /** Every URL the page asked for besides itself. */
  requests: string[];
  close(): Promise<void>;
}

export async function openOffline(file: string, viewport = { width: 1100, height: 900 }): Promise<OfflinePage> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run \`hack/install-debs.sh chromium fonts-liberation\` or set AUTORUN_CHROMIUM`);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    const context = await browser.newContext({ offline: true, viewport, javaScriptEnabled: true });
    const url = pathToFileURL(file).href;
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      requests.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const b = browser;
    return {
      page,
      requests,
      close: () => b.close(),
    };
  } catch (err) {
    await browser?.close();
    throw err;
  }
}
