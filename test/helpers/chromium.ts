/**
 * Headless Chromium for browser tests and benchmarks: Debian's /usr/bin/chromium driven by playwright-core
 * (no browser is ever downloaded). Each launch uses a fresh temporary profile, removed on close.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The browser binary; CHROMIUM_PATH overrides the Debian default. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a quiet, sandbox-free headless run in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} not found (apt-get install chromium, or set CHROMIUM_PATH)`;
}

/** Ends a browser test file at once, reported as skipped with the reason, where Chromium cannot run. */
export function skipFileWithoutChromium(t: { plan(n: number, comment?: string): void }): void {
  const missing = chromiumMissing();
  if (missing === undefined) return;
  t.plan(0, `skip: headless Chromium is not available: ${missing}`);
  process.exit(0);
}

/**
 * One browser for a whole test file: launched before its first test, closed when the file ends. Call the returned
 * function inside a test to get it.
 */
export function browserForFile(t: { before(fn: () => unknown): void; teardown(fn: () => unknown): void }, options: { viewport?: { width: number; height: number } } = {}): () => BrowserSession {
  let browser: BrowserSession | undefined;
  t.before(async () => {
    browser = await launchChromium(options);
  });
  t.teardown(() => browser?.close());
  return () => {
    if (!browser) throw new Error('the browser is not launched yet: call this inside a test');
    return browser;
  };
}

/** A running browser with one context and a way to shut both down. */
export interface BrowserSession {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh user-data-dir; `viewport` sizes every page. `executablePath` runs another binary
 * or a wrapper (e.g. one that starts Chromium inside a network namespace: playwright talks to it over a pipe).
 */
export async function launchChromium(options: { viewport?: { width: number; height: number }; executablePath?: string } = {}): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'tessera-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: options.executablePath ?? CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: options.viewport ?? { width: 1280, height: 800 },
      deviceScaleFactor: 1,
      timeout: 30_000,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
