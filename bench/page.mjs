// bench/page.mjs: speed in the demo page itself (Chromium, headless):
// evaluating the shipped default model on the 10,000 test images (two
// workers where there are two cores), then training, one worker against two
// data-parallel workers, same run otherwise: cnn-small, batch 64, on the
// first 6,400 training images; and, when ../shared/photos/clothing-validation
// exists, how long each of its photos takes to classify in the page (the
// browser's decode, the C pipeline and the model, in the worker). First, the
// page as a photo app: time to the first answer for a photo picked as soon
// as the photo control appears, at phone size on a throttled link (20 Mbit/s,
// 40 ms: Network.emulateNetworkConditions; median of 5 fresh loads), and 150
// photos at once (total time, longest main-thread task).
//   node bench/page.mjs [--json] [--photo-app]   (--photo-app: only those)
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../tests/helpers.mjs';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
const CHROMIUM = '/usr/bin/chromium';

const json = process.argv.includes('--json');
const server = await startServer(0);
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const PHOTOS = new URL('../../shared/photos/clothing-validation', import.meta.url).pathname;
const results = [];
let evaluation = null, photos = null, photoApp = null;
const onlyPhotoApp = process.argv.includes('--photo-app');

/** A light photo with a dark garment-like blob: w x w, RGB. */
function fixture(k, w) {
  const px = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) {
    const u = (x - w / 2) / (w * (0.25 + 0.02 * (k % 5))), v = (y - w / 2) / (w * 0.38);
    const c = u * u + v * v < 1 ? 60 + (k * 7) % 60 : 228;
    px.set([c, c - 4, c - 10].map((t) => Math.max(0, t)), (y * w + x) * 3);
  }
  return encodePng(px, w, w, 3);
}

async function firstAnswer() {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 20e6 / 8 });
    await page.goto(`${origin}/`, { waitUntil: 'commit' });
    await page.waitForSelector('#photo-input', { state: 'attached' });
    await page.setInputFiles('#photo-input', { name: 'first.png', mimeType: 'image/png', buffer: fixture(0, 160) });
    await page.waitForSelector('[data-testid=photo-result]', { timeout: 60000 });
    return await page.evaluate(() => ({
      answer: performance.getEntriesByName('fmnist-first-answer')[0].startTime,
      picked: performance.getEntriesByName('fmnist-photos-picked')[0].startTime,
    }));
  } finally {
    await context.close();
  }
}

async function manyPhotos(n) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.getElementById('data-status').textContent.startsWith('Dataset ready'), null, { timeout: 120000 });
    const dir = mkdtempSync('/tmp/fmnist-bench-photos-');
    const files = Array.from({ length: n }, (_, k) => {
      const f = `${dir}/p${k}.png`;
      writeFileSync(f, fixture(k, 120 + (k % 5) * 40));
      return f;
    });
    await page.evaluate(() => { window.__t0 = performance.now(); });
    await page.setInputFiles('#photo-input', files);
    await page.evaluate(() => {
      window.__longTasks = [];
      new PerformanceObserver((l) => window.__longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
    });
    await page.waitForFunction((k) => document.querySelectorAll('[data-testid=photo-result]').length >= k, n, { timeout: 300000 });
    return await page.evaluate(() => ({ seconds: (performance.now() - window.__t0) / 1000, longest_task_ms: Math.round(Math.max(0, ...window.__longTasks)) }));
  } finally {
    await page.close();
  }
}

try {
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await firstAnswer());
  const ms = runs.map((r) => Math.round(r.answer)).sort((a, b) => a - b);
  photoApp = {
    first_answer_ms: ms, first_answer_median_ms: ms[2],
    after_pick_ms: runs.map((r) => Math.round(r.answer - r.picked)).sort((a, b) => a - b)[2],
    many: await manyPhotos(150),
  };
  if (onlyPhotoApp) throw Object.assign(new Error('done'), { done: true });
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
} catch (e) {
  if (!e.done) throw e;
} finally {
  await browser.close();
  server.close();
}
if (json) console.log(JSON.stringify({ photo_app: photoApp, evaluation, training: results, photos }));
else {
  const p = photoApp;
  console.log(`page, phone size, 20 Mbit/s + 40 ms: first photo answered ${p.first_answer_median_ms} ms after navigation ` +
    `(median of 5: ${p.first_answer_ms.join(', ')} ms; ${p.after_pick_ms} ms after the page got the photo)`);
  console.log(`page, 150 photos at once: all answered in ${p.many.seconds.toFixed(2)} s, longest main-thread task ${p.many.longest_task_ms} ms`);
}
if (!json && !onlyPhotoApp) {
  const e = evaluation;
  console.log(`page evaluation of ${e.model}: 10,000 test images in ${e.seconds} s with ${e.workers} worker(s), accuracy ${e.accuracy}`);
  for (const r of results) console.log(`page training cnn-small, ${r.workers} worker(s): ${r.images_per_sec} images/s`);
  console.log(`two workers / one: x${(results[1].images_per_sec / results[0].images_per_sec).toFixed(2)}`);
  if (photos) console.log(`page photo classification, ${photos.count} photos: median ${photos.median_ms} ms, 90th percentile ${photos.p90_ms} ms, slowest ${photos.max_ms} ms each`);
  else console.log(`page photo timing skipped: ${PHOTOS} does not exist`);
}
