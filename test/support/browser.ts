/**
 * A real browser for the console tests: Debian's `chromium`, installed with apt-get when it is
 * missing (CI runs on a fresh Debian as root, as for PostgreSQL and Redis), driven by playwright-core
 * (which downloads nothing itself) with a fresh profile per launch.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { aptInstall, which } from './services.js';

/** The chromium binary, installed when missing. */
export function chromiumPath(): string {
  const found = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : which('chromium');
  if (found) return found;
  aptInstall('chromium');
  const installed = which('chromium');
  if (!installed) throw new Error('chromium not found after installing it');
  return installed;
}

/** Flags for a quiet headless run: no sandbox (root in CI), no GPU, no calls home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches chromium with a fresh user-data-dir (a persistent context is how playwright takes one). */
export async function launchBrowser(options: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'sextant-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1280, height: 860 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
