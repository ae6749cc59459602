// What the model looked at (fm_net_saliency, src/net/saliency.c; Net.saliency
// in js/fmnist.mjs), as the page shows it: with the shipped model on real
// test images, the map of a shifted image moves with it; in the page, every
// photo card has its map and the gallery overlays them on request. The exact
// C checks (finite differences, a shift-equivariant network) are in
// tests/c/test_saliency.c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { fm, split } from './helpers.mjs';

const root = new URL('..', import.meta.url).pathname;
const index = JSON.parse(readFileSync(`${root}models/index.json`, 'utf8'));

/** The image moved by (dx, dy), zeros coming in. */
function shift(img, dx, dy) {
  const out = new img.constructor(784);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const sx = x - dx, sy = y - dy;
    if (sx >= 0 && sy >= 0 && sx < 28 && sy < 28) out[y * 28 + x] = img[sy * 28 + sx];
  }
  return out;
}

/** Centre of mass of the salient part: |gradient| above its 80th percentile. */
function centre(gradient) {
  const abs = Array.from(gradient, Math.abs), cut = [...abs].sort((a, b) => a - b)[Math.floor(0.8 * 783)];
  let m = 0, cx = 0, cy = 0;
  for (let i = 0; i < 784; i++) {
    const w = Math.max(0, abs[i] - cut);
    m += w; cx += w * (i % 28); cy += w * Math.floor(i / 28);
  }
  return [cx / m, cy / m];
}

test('with the shipped model, the saliency map of a shifted test image moves with it', async (t) => {
  const m = await fm();
  const net = m.loadNet(readFileSync(`${root}models/${index.default}`));
  const ds = await split('test');
  const moves = [[3, 0], [-3, 0], [2, 0], [-2, 0], [0, 2], [0, -2], [2, 2]];
  const cos = (a, b) => {
    let dot = 0, na = 0, nb = 0;
    for (let p = 0; p < 784; p++) { dot += a[p] * b[p]; na += a[p] * a[p]; nb += b[p] * b[p]; }
    return dot / Math.sqrt(na * nb || 1);
  };
  const bytes = (g) => Float32Array.from(g, Math.abs);
  let n = 0, follows = 0, along = 0, withMove = 0, inPlace = 0;
  for (let i = 0; n < 150 && i < 1000; i++) {
    const img = ds.image(i);
    let x0 = 28, x1 = -1, y0 = 28, y1 = -1;
    for (let p = 0; p < 784; p++) if (img[p] > 20) { x0 = Math.min(x0, p % 28); x1 = Math.max(x1, p % 28); y0 = Math.min(y0, Math.floor(p / 28)); y1 = Math.max(y1, Math.floor(p / 28)); }
    const base = net.saliency(img), baseMap = bytes(base.gradient);
    const [bx, by] = centre(base.gradient);
    // Only moves that keep the whole garment in the frame.
    for (const [dx, dy] of moves.filter(([dx, dy]) => x0 + dx >= 0 && x1 + dx <= 27 && y0 + dy >= 0 && y1 + dy <= 27)) {
      const moved = net.saliency(shift(img, dx, dy), base.index); // the same class explained
      const movedMap = bytes(moved.gradient);
      // The moved image's map looks like the first map moved, more than like the first map where it was.
      const a = cos(movedMap, shift(baseMap, dx, dy)), b = cos(movedMap, baseMap);
      withMove += a; inPlace += b; follows += a > b;
      // Its centre goes the same way: the part of its displacement along the move, as a fraction of the move.
      const [mx, my] = centre(moved.gradient);
      along += ((mx - bx) * dx + (my - by) * dy) / (dx * dx + dy * dy);
      n++;
    }
  }
  const got = `${n} moves: the map follows the image in ${follows} (cosine similarity with the first map moved ` +
    `${(withMove / n).toFixed(3)}, left in place ${(inPlace / n).toFixed(3)}); its centre moves ${(along / n).toFixed(2)} of the move`;
  t.diagnostic(got);
  assert.ok(n >= 150, got);
  assert.ok(follows >= 0.95 * n && withMove / n > 0.7 && withMove / n > inPlace / n + 0.1, got);
  // Its salient part goes with it (the model is only roughly
  // shift-invariant: max-pooling, and dense layers that know positions).
  assert.ok(along / n > 0.6 && along / n < 1.3, got);
  // Shifting nothing changes nothing.
  assert.deepEqual(net.saliency(ds.image(0)).gradient, net.saliency(ds.image(0)).gradient);
  net.free();
});

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (build.sh installs Debian's chromium)`;

test('in the page: the gallery overlays what the model looked at on request', { skip }, async () => {
  const server = await startServer(0);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => document.querySelectorAll('#gallery figure').length === 24, null, { timeout: 120000 });
    assert.equal(await page.locator('[data-testid=gallery-saliency]').count(), 0);
    await page.check('#show-saliency');
    await page.waitForFunction(() => document.querySelectorAll('#gallery [data-testid=gallery-saliency]').length === 24, null, { timeout: 30000 });
    // Each map has bright and dark pixels: it picks out part of the image.
    const spread = await page.evaluate(() => [...document.querySelectorAll('[data-testid=gallery-saliency]')].map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
      let hot = 0;
      for (let i = 0; i < d.length; i += 4) hot += d[i] > 200 && d[i + 1] > 120; // yellow: mattered most
      return hot;
    }));
    assert.ok(spread.every((h) => h > 5 && h < 500), `hot pixels per map: ${spread}`);
    await page.locator('#gallery-section').screenshot({ path: `${root}build/screenshots/desktop-gallery-saliency.png` });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
