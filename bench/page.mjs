// bench/page.mjs: speed in the demo page itself (Chromium, headless):
// evaluating the shipped default model on the 10,000 test images (two
// workers where there are two cores), then training, one worker against two
// data-parallel workers, same run otherwise: cnn-small, batch 64, on the
// first 6,400 training images; and, when ../shared/photos/clothing-validation
// exists, how long each of its photos takes to classify in the page (the
// browser's decode, the C pipeline and the model, in the worker).
//   node bench/page.mjs [--json]
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
const CHROMIUM = '/usr/bin/chromium';

const json = process.argv.includes('--json');
const server = await startServer(0);
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const PHOTOS = new URL('../../shared/photos/clothing-validation', import.meta.url).pathname;
const results = [];
let evaluation = null, photos = null;
try {
  const page = await browser.newPage();
  if (process.env.DEBUG) page.on('console', (m) => console.log(m.text()));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.getElementById('data-status').textContent.startsWith('Dataset ready'), null, { timeout: 120000 });
  await page.waitForFunction(() => !document.getElementById('train').disabled, null, { timeout: 60000 });
  await page.click('#evaluate');
  await page.waitForFunction(() => /^on 10,000/.test(document.getElementById('eval-speed').textContent), null, { timeout: 300000 });
  const speed = await page.textContent('#eval-speed');
  const [, seconds, workers] = speed.match(/in ([\d.]+) s .* (\d) workers?\)/);
  evaluation = { model: (await page.textContent('#model-status')).split(':')[0], seconds: Number(seconds), workers: Number(workers), accuracy: await page.textContent('[data-testid=accuracy]') };
  if (existsSync(PHOTOS)) {
    // Still the shipped default model, before the training below replaces it.
    const files = readdirSync(PHOTOS).flatMap((d) => readdirSync(join(PHOTOS, d)).map((f) => join(PHOTOS, d, f)));
    await page.setInputFiles('#photo-input', files);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=photo-result]').length === n, files.length, { timeout: 300000 });
    const ms = (await page.locator('[data-testid=photo-time]').allTextContents()).map((t) => parseInt(t, 10)).sort((a, b) => a - b);
    photos = { count: ms.length, median_ms: ms[ms.length >> 1], p90_ms: ms[Math.floor(0.9 * (ms.length - 1))], max_ms: ms.at(-1) };
    await page.waitForFunction(() => !document.getElementById('train').disabled, null, { timeout: 60000 });
  }
  for (const workers of ['1', '2']) {
    await page.selectOption('#arch', 'cnn-small');
    await page.fill('#epochs', '1');
    await page.fill('#limit', '6400');
    await page.selectOption('#workers', workers);
    await page.click('#train');
    await page.waitForFunction(() => /^Epoch/.test(document.getElementById('train-status').textContent), null, { timeout: 60000 });
    await page.waitForFunction(() => /^Done after/.test(document.getElementById('train-status').textContent), null, { timeout: 300000 });
    const status = await page.textContent('#train-status');
    const rate = Number(status.match(/at ([\d,]+) images\/s/)[1].replace(/,/g, ''));
    results.push({ workers: Number(workers), images_per_sec: rate, status });
  }
} finally {
  await browser.close();
  server.close();
}
if (json) console.log(JSON.stringify({ evaluation, training: results, photos }));
else {
  const e = evaluation;
  console.log(`page evaluation of ${e.model}: 10,000 test images in ${e.seconds} s with ${e.workers} worker(s), accuracy ${e.accuracy}`);
  for (const r of results) console.log(`page training cnn-small, ${r.workers} worker(s): ${r.images_per_sec} images/s`);
  console.log(`two workers / one: x${(results[1].images_per_sec / results[0].images_per_sec).toFixed(2)}`);
  if (photos) console.log(`page photo classification, ${photos.count} photos: median ${photos.median_ms} ms, 90th percentile ${photos.p90_ms} ms, slowest ${photos.max_ms} ms each`);
  else console.log(`page photo timing skipped: ${PHOTOS} does not exist`);
}
