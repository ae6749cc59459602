// browser-helpers.mjs: what the browser tests share: Debian's Chromium driven
// by playwright-core (never a downloaded browser), started with the flags
// this machine's closed network needs, and where screenshots go.
import { existsSync, mkdirSync } from 'node:fs';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';

export const CHROMIUM = '/usr/bin/chromium';
/** A reason to skip browser tests when Chromium is missing (false when it is there). */
export const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (build.sh installs Debian's chromium)`;
/** Screenshots for a person to look at. */
export const shots = new URL('../build/screenshots/', import.meta.url).pathname;

/** Headless Chromium without background networking (its connections would be refused here). */
export function launchChromium() {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Starts the project's server (scripts/serve.mjs) and Chromium before a test
 * file's tests and stops both after them; the returned object holds
 * {server, origin, browser} once the tests run. */
export function serverAndBrowser() {
  const env = {};
  before(async () => {
    if (skip) return;
    env.server = await startServer(0);
    env.origin = `http://127.0.0.1:${env.server.address().port}`;
    env.browser = await launchChromium();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.close();
  });
  return env;
}
