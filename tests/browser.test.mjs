// End-to-end tests of the demo page in Debian's Chromium (headless), driven
// by playwright-core against the project's own server (scripts/serve.mjs, as
// `make serve` runs it). One page goes through what a person would do:
// load, evaluate, browse, train, stop, upload photos, load a bad model.
// Screenshots of the main states go to build/screenshots/ for a person.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { launchChromium, skip, shots } from './browser-helpers.mjs';
import { startServer } from '../scripts/serve.mjs';
import { split, encodePng } from './helpers.mjs';

// The class names as the page and the CLI print them (written out here, not imported).
const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const index = JSON.parse(readFileSync(new URL('../models/index.json', import.meta.url), 'utf8'));
const card = JSON.parse(readFileSync(new URL(`../models/${index.default.replace(/\.safetensors$/, '.json')}`, import.meta.url), 'utf8'));

let server, browser, page, origin;
const consoleErrors = [], foreignRequests = [], requests = [];

before(async () => {
  if (skip) return;
  server = await startServer(0);
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  // Every request the page or its worker makes, to assert nothing leaves the origin.
  browser.contexts()[0].on('request', (r) => {
    requests.push(r.url());
    if (!r.url().startsWith(`${origin}/`) && !/^(blob|data):/.test(r.url())) foreignRequests.push(r.url());
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

const text = (sel) => page.textContent(sel);
const waitText = (sel, re, timeout = 60000) => page.waitForFunction(([s, src]) => new RegExp(src).test(document.querySelector(s)?.textContent ?? ''), [sel, re.source], { timeout });

test('the page loads with a strict CSP, no console errors, the dataset and the pretrained model', { skip }, async () => {
  const res = await page.goto(`${origin}/`);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /unsafe-inline|https?:/);
  await waitText('#data-status', /^Dataset ready: 60,000 training and 10,000 test images/);
  await waitText('#model-status', new RegExp(`^${index.default.replace('.', '\\.')}: `));
  // A model with test-time views says so (its recorded accuracy is the image alone's).
  if (card.test_time_views === 'shift') assert.match(await text('#model-status'), /for the image alone; test-time views: /);
  assert.equal(await page.isEnabled('#evaluate'), true);
  assert.deepEqual(consoleErrors, []);
  // The server answers with the right MIME type for the module.
  const wasm = await page.evaluate(async () => (await fetch('build/fmnist.wasm')).headers.get('content-type'));
  assert.equal(wasm, 'application/wasm');
});

test('Evaluate shows the model card accuracy, the confusion heatmap and the report', { skip }, async () => {
  await page.click('#evaluate');
  const expected = `${(100 * card.test_accuracy).toFixed(2)}%`;
  await waitText('[data-testid=accuracy]', new RegExp(`^${expected.replace('.', '\\.')}$`));
  // One worker per core (up to 8) shares the images; the accuracy above
  // shows that the shares are put back together right.
  const cores = Math.min(8, await page.evaluate(() => navigator.hardwareConcurrency));
  const workers = cores >= 2 ? `${cores} workers` : '1 worker';
  assert.match(await text('#eval-speed'), new RegExp(`^on 10,000 test images in [\\d.]+ s \\([\\d,]+ images/s, ${workers}\\)$`));
  assert.equal(await page.locator('[data-testid=confusion] button.cell').count(), 100);
  const diag = await page.locator('[data-testid=confusion] button.cell.diag').allTextContents();
  assert.equal(diag.map(Number).reduce((a, b) => a + b), card.test_correct);
  const report = await text('[data-testid=report]');
  for (const name of ['T-shirt/top', 'Ankle boot', 'macro average']) assert.ok(report.includes(name), name);
  // A confusion cell shows its images.
  await page.locator('[data-testid=confusion] button.cell').nth(6).click(); // T-shirt predicted as Shirt
  await waitText('#cell-title', /^T-shirt\/top predicted as Shirt: \d+ image/);
  const cellCount = Math.min(200, card.confusion[0][6]);
  await page.waitForFunction((n) => document.querySelectorAll("#cell-images canvas").length === n, cellCount, { timeout: 30000 });
  await page.screenshot({ path: `${shots}evaluated.png`, fullPage: true });
});

test('the gallery shows predictions, filters to mistakes and shuffles', { skip }, async () => {
  assert.equal(await page.locator('#gallery figure').count(), 24);
  await page.check('#only-mistakes');
  await page.waitForFunction(() => document.querySelectorAll('#gallery figure.wrong').length === 24);
  assert.equal(await page.locator('#gallery figure.right').count(), 0);
  const before = await page.locator('#gallery').innerHTML();
  await page.click('#shuffle');
  await page.waitForFunction((b) => document.querySelector('#gallery').innerHTML !== b, before);
  await page.uncheck('#only-mistakes');
});

/** Trains mlp for 2 epochs on 3,000 images with that many workers; waits for
 * the final status and checks the test accuracy shown. */
async function trainShortMlp(workers) {
  await page.selectOption('#arch', 'mlp');
  await page.fill('#epochs', '2');
  await page.fill('#limit', '3000');
  await page.selectOption('#workers', String(workers));
  await page.click('#train');
  const plural = workers > 1 ? 's' : '';
  await waitText('#train-status', new RegExp(`^Done after 2 full epoch\\(s\\) at [\\d,]+ images/s with ${workers} worker${plural}; test accuracy \\d+\\.\\d\\d%\\.$`));
  assert.match(await text('[data-testid=accuracy]'), /^\d+\.\d\d%$/);
  const acc = parseFloat(await text('[data-testid=accuracy]'));
  assert.ok(acc > 70, `accuracy after 2 epochs on 3,000 images, ${workers} worker${plural}: ${acc}%`);
}

test('a short training run makes progress, draws charts and reports test accuracy per epoch', { skip }, async () => {
  await trainShortMlp(1);
  assert.match(await text('#model-status'), /^mlp \(trained here\): /);
  const inked = await page.evaluate(() => ['loss-chart', 'acc-chart'].map((id) => {
    const c = document.getElementById(id);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let blue = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 80) blue++;
    return blue;
  }));
  assert.ok(inked.every((n) => n > 100), `chart pixels drawn: ${inked}`);
  // One worker runs the C trainer as `fmnist train` does: the same options
  // give the same model, with the moving average of the weights ("Average
  // the weights", on by default) and without it.
  const cli = (...extra) => {
    const r = spawnSync(process.execPath, [new URL('../bin/fmnist.mjs', import.meta.url).pathname, 'train', '--arch', 'mlp',
      '--epochs', '2', '--limit', '3000', '--out', `${mkdtempSync('/tmp/fmnist-page-train-')}/m.safetensors`, '--json', ...extra], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return `${(100 * JSON.parse(r.stdout).test_accuracy).toFixed(2)}%`;
  };
  const averaged = cli('--ema', '0.999'), plain = cli();
  assert.notEqual(averaged, plain);
  assert.equal(await text('[data-testid=accuracy]'), averaged);
  await page.uncheck('#ema');
  await page.evaluate(() => { document.getElementById('train-status').textContent = ''; }); // not the last run's "Done"
  await trainShortMlp(1);
  assert.equal(await text('[data-testid=accuracy]'), plain);
  await page.check('#ema');
});

test('data-parallel training on two workers reaches the same kind of accuracy', { skip }, async () => {
  await trainShortMlp(2);
});

test('Stop ends a long training run within a fraction of a second and keeps the model; no long main-thread tasks', { skip }, async () => {
  await page.selectOption('#arch', 'cnn-small');
  await page.fill('#epochs', '5');
  await page.fill('#limit', '60000');
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((l) => window.__longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  await page.click('#train');
  await waitText('#train-status', /^Epoch 1\/5, batch \d+\/938: loss [\d.]+, [\d,]+ images\/s \(2 workers\), ETA/);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${shots}training.png`, fullPage: true });
  const t0 = Date.now();
  await page.click('#stop');
  await waitText('#train-status', /^Stopped after 0 full epoch\(s\)/, 5000);
  const ms = Date.now() - t0;
  assert.ok(ms < 1000, `Stop took ${ms} ms`);
  assert.match(await text('#model-status'), /^cnn-small \(trained here\): /);
  const longTasks = await page.evaluate(() => window.__longTasks);
  assert.ok(longTasks.every((d) => d <= 100), `main-thread long tasks: ${longTasks}`);
  // The stopped model is usable: evaluate it. Evaluate's helper workers were
  // kept (and warmed) with the model before; their answers must be this
  // model's: the page's accuracy is the one `fmnist eval` gets for its file.
  await page.click('#evaluate');
  await waitText('#eval-speed', /^on 10,000 test images/);
  const dir = mkdtempSync('/tmp/fmnist-stopped-');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  await download.saveAs(`${dir}/stopped.safetensors`);
  const cli = spawnSync(process.execPath, [new URL('../bin/fmnist.mjs', import.meta.url).pathname, 'eval', '--json',
    '--model', `${dir}/stopped.safetensors`], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(await text('[data-testid=accuracy]'), `${(100 * JSON.parse(cli.stdout).accuracy).toFixed(2)}%`);
});

test('uploaded photos each get a result: the photo, its mask, the 28x28 input and the top 3', { skip }, async () => {
  const ds = await split('test');
  const big = new Uint8Array(300 * 240 * 3).fill(235); // a light "floor" with the garment inverted on it
  const src = ds.image(1);
  for (let y = 0; y < 240; y++) for (let x = 30; x < 270; x++) {
    const v = 235 - Math.round((src[Math.floor((y * 28) / 240) * 28 + Math.floor(((x - 30) * 28) / 240)] * 200) / 255);
    big.set([v, v - 10, v - 20].map((c) => Math.max(0, c)), (y * 300 + x) * 3);
  }
  const files = [
    { name: 'garment.png', mimeType: 'image/png', buffer: encodePng(big, 300, 240, 3) },
    { name: 'small.png', mimeType: 'image/png', buffer: encodePng(ds.image(2), 28, 28) },
    { name: 'notes.txt', mimeType: 'image/png', buffer: Buffer.from('this is not an image') },
  ];
  await page.setInputFiles('#photo-input', files);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=photo-result]').length === 3);
  const results = await page.locator('[data-testid=photo-result]').allTextContents();
  const byFile = Object.fromEntries(files.map((f) => [f.name, results.find((r) => r.includes(f.name))]));
  for (const f of ['garment.png', 'small.png']) {
    assert.ok(names.some((n) => byFile[f].includes(`Looks like: ${n}`) || byFile[f].includes(`Not sure: maybe ${n}`)), byFile[f]);
  }
  // The module reads the header first, so the page says what `fmnist predict` says.
  assert.match(byFile['notes.txt'], /Could not classify: cannot read the image header: unknown image type \(PNG, JPEG, GIF, BMP and WebP are supported\)/);
  assert.equal(await page.locator('[data-testid=photo-result] img.thumb').count(), 2);
  // Each classified photo says how long it took; the one that failed does not.
  for (const f of ['garment.png', 'small.png']) assert.match(byFile[f], /\d+ ms \(decode, pipeline, model\)/);
  assert.doesNotMatch(byFile['notes.txt'], / ms \(/);
  // The mask step: for the garment on the floor, the object is kept (white)
  // and the floor is not (the garment spans x 30..270 of 300, all rows).
  assert.equal(await page.locator('[data-testid=photo-mask]').count(), 2);
  const mask = await page.evaluate(async () => {
    const card = [...document.querySelectorAll('[data-testid=photo-result]')].find((c) => c.textContent.includes('garment.png'));
    const img = card.querySelector('[data-testid=photo-mask]');
    await img.decode();
    const c = new OffscreenCanvas(img.naturalWidth, img.naturalHeight), ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let white = 0;
    for (let i = 0; i < d.length; i += 4) white += d[i] === 255;
    return { white: white / (c.width * c.height), corner: d[0], middle: d[4 * (Math.floor(c.height / 2) * c.width + Math.floor(c.width / 2))] };
  });
  assert.ok(mask.corner < 255 && mask.middle === 255 && mask.white > 0.3 && mask.white < 0.95, JSON.stringify(mask));
  // `fmnist predict --json` on the same files gives the page's answer: the
  // same top 3, to the tenth of a percent the page shows.
  // The page's current model (earlier tests trained one) comes out through
  // its Download button, so both classify with the same weights.
  const dir = mkdtempSync('/tmp/fmnist-photos-');
  for (const f of files.slice(0, 2)) writeFileSync(`${dir}/${f.name}`, f.buffer);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  await download.saveAs(`${dir}/current.safetensors`);
  const cli = spawnSync(process.execPath, [new URL('../bin/fmnist.mjs', import.meta.url).pathname, 'predict', '--json',
    '--model', `${dir}/current.safetensors`, `${dir}/garment.png`, `${dir}/small.png`], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  for (const r of JSON.parse(cli.stdout)) {
    const top3 = r.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 3)
      .map(([p, i]) => `${names[i]} ${(100 * p).toFixed(1)}%`);
    const card = byFile[r.file.split('/').pop()];
    for (const line of top3) assert.ok(card.includes(line), `page shows ${card}, CLI says ${line}`);
    assert.ok(card.includes(r.unsure ? `Not sure: maybe ${r.label}` : `Looks like: ${r.label}`), card);
  }
  await page.screenshot({ path: `${shots}photos.png`, fullPage: true });
});

test('a corrupted model file shows an error and leaves the current model working', { skip }, async () => {
  const before = await text('#model-status');
  const good = readFileSync(new URL(`../models/${index.default}`, import.meta.url));
  const bad = Buffer.from(good.subarray(0, good.length - 100)); // truncated
  await page.setInputFiles('#model-file', { name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: bad });
  await waitText('#model-error', /^broken\.safetensors was not loaded: .*(truncated|outside).*The current model is unchanged\.$/);
  assert.equal(await text('#model-status'), before);
  await page.click('#evaluate');
  await waitText('#eval-speed', /^on 10,000 test images/);
  // A good file loads.
  await page.setInputFiles('#model-file', { name: 'good.safetensors', mimeType: 'application/octet-stream', buffer: good });
  await waitText('#model-status', /^good\.safetensors: /);
});

test('a learning rate that blows up stops training with a message and keeps the last good weights', { skip }, async () => {
  await page.selectOption('#arch', 'mlp');
  await page.selectOption('#optimizer', 'sgd');
  await page.fill('#lr', '1000000');
  await page.fill('#epochs', '1');
  await page.fill('#limit', '6400');
  await page.click('#train');
  await waitText('#train-status', /^Training stopped: training diverged at epoch 1, batch \d+ .*the weights from before this step are kept; try a smaller learning rate$/);
  await waitText('#model-status', /^mlp \(trained here\): /);
  // The last good weights may still be too large to give finite outputs:
  // the page then says so instead of showing numbers.
  await page.click('#evaluate');
  await waitText('#eval-speed', /^(on 10,000 test images|Evaluation failed: .*non-finite output)/);
  await page.selectOption('#optimizer', 'adam');
  await page.fill('#lr', '0.001');
});

test('no request went to any origin but the page\'s own, and the console stayed clean', { skip }, async () => {
  assert.ok(requests.length > 8, `saw ${requests.length} requests`);
  assert.deepEqual(foreignRequests, []);
  assert.deepEqual(consoleErrors, []);
});

test('without a served dataset, the page asks for the four files and loads them from disk', { skip }, async () => {
  const bare = await startServer(0, '127.0.0.1', { dataDir: null });
  const p = await browser.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  try {
    await p.goto(`http://127.0.0.1:${bare.address().port}/`);
    await p.waitForFunction(() => /could not be loaded from this server.*HTTP 404.*Pick the four IDX files/.test(document.getElementById('data-status').textContent), null, { timeout: 30000 });
    assert.equal(await p.isVisible('#data-files'), true);
    const dir = '/usr/share/datasets/fashion-mnist';
    // One raw (uncompressed) file among them: both forms are accepted.
    const { gunzipSync } = await import('node:zlib');
    const file = (name) => ({ name, mimeType: 'application/octet-stream', buffer: readFileSync(`${dir}/${name}`) });
    await p.setInputFiles('#data-files', [
      file('train-images-idx3-ubyte.gz'), file('train-labels-idx1-ubyte.gz'), file('t10k-images-idx3-ubyte.gz'),
      { name: 't10k-labels-idx1-ubyte', mimeType: 'application/octet-stream', buffer: gunzipSync(readFileSync(`${dir}/t10k-labels-idx1-ubyte.gz`)) },
    ]);
    await p.waitForFunction(() => document.getElementById('data-status').textContent.startsWith('Dataset ready: 60,000'), null, { timeout: 60000 });
    assert.equal(await p.isHidden('#data-files'), true);
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
    bare.close();
  }
});

test('a dataset download failing halfway says so, and Retry recovers', { skip }, async () => {
  const p = await browser.newPage();
  // The server sends only half of the training images, then the download ends.
  const half = readFileSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
  await p.route('**/data/train-images-idx3-ubyte.gz', (route) => route.fulfill({ status: 200, contentType: 'application/gzip', body: half.subarray(0, half.length >> 1) }));
  try {
    await p.goto(`${origin}/`);
    await p.waitForFunction(() => /could not be loaded from this server \(.*train-images-idx3-ubyte\.gz: download or gzip decoding failed/.test(document.getElementById('data-status').textContent), null, { timeout: 60000 });
    assert.equal(await p.isVisible('#data-retry'), true);
    await p.unroute('**/data/train-images-idx3-ubyte.gz');
    await p.click('#data-retry');
    await p.waitForFunction(() => document.getElementById('data-status').textContent.startsWith('Dataset ready: 60,000'), null, { timeout: 60000 });
  } finally {
    await p.close();
  }
});

test('a reload during training offers the model trained so far back (IndexedDB)', { skip }, async () => {
  const p = await browser.newPage();
  try {
    await p.goto(`${origin}/`);
    await p.waitForFunction(() => document.getElementById('data-status').textContent.startsWith('Dataset ready'), null, { timeout: 60000 });
    await p.evaluate(() => new Promise((r) => { const q = indexedDB.deleteDatabase('fmnist-demo'); q.onsuccess = q.onerror = r; }));
    await p.selectOption('#arch', 'cnn-small');
    await p.fill('#epochs', '3');
    await p.fill('#limit', '3200');
    await p.click('#train');
    // The first epoch's end writes a checkpoint; reload in the middle of the second,
    // once it is stored.
    await p.waitForFunction(() => /^Epoch 2\/3/.test(document.getElementById('train-status').textContent), null, { timeout: 60000 });
    await p.waitForFunction(() => new Promise((resolve) => {
      const q = indexedDB.open('fmnist-demo');
      q.onsuccess = () => {
        const get = q.result.transaction('checkpoints').objectStore('checkpoints').get('latest');
        get.onsuccess = () => { resolve(!!get.result); q.result.close(); };
        get.onerror = () => resolve(false);
      };
      q.onerror = () => resolve(false);
    }), null, { timeout: 30000 });
    await p.reload();
    await p.waitForFunction(() => !document.getElementById('restore').hidden, null, { timeout: 60000 });
    assert.match(await p.textContent('#restore-text'), /^A cnn-small model trained in this browser \((after epoch 1 of 3|saved during epoch 2 of 3), .*\) was kept\.$/);
    await p.waitForFunction(() => !document.getElementById('restore-load').disabled && document.getElementById('data-status').textContent.startsWith('Dataset ready'), null, { timeout: 60000 });
    await p.click('#restore-load');
    await p.waitForFunction(() => /^cnn-small \(trained here\): /.test(document.getElementById('model-status').textContent));
    await p.click('#evaluate');
    await p.waitForFunction(() => /^\d+\.\d\d%$/.test(document.querySelector('[data-testid=accuracy]').textContent), null, { timeout: 60000 });
    assert.ok(parseFloat(await p.textContent('[data-testid=accuracy]')) > 50);
  } finally {
    await p.close();
  }
});

// Uploads use models/index.json's photo model when it names one (else the
// default the page has loaded); the page and `fmnist predict` without
// --model agree.
test('with the shipped models, uploads use the photo model (else the default), as fmnist predict does', { skip }, async () => {
  const p = await browser.newPage();
  try {
    await p.goto(`${origin}/`);
    await p.waitForFunction((name) => document.getElementById('model-status').textContent.startsWith(`${name}: `), index.default, { timeout: 60000 });
    const ds = await split('test');
    const dir = mkdtempSync('/tmp/fmnist-photo-model-');
    const file = `${dir}/coat.png`;
    const big = new Uint8Array(112 * 112); // test image 4, upscaled 4x and inverted to a light background
    for (let y = 0; y < 112; y++) for (let x = 0; x < 112; x++) big[y * 112 + x] = 255 - ds.image(4)[(y >> 2) * 28 + (x >> 2)];
    writeFileSync(file, encodePng(big, 112, 112));
    await p.setInputFiles('#photo-input', file);
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=photo-result]').length === 1, null, { timeout: 60000 });
    const card = await p.textContent('[data-testid=photo-result]');
    assert.ok(card.includes(`model: ${index.photo ?? index.default}`), card);
    const cli = spawnSync(process.execPath, [new URL('../bin/fmnist.mjs', import.meta.url).pathname, 'predict', '--json', file], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const [r] = JSON.parse(cli.stdout);
    const top3 = r.probabilities.map((q, i) => [q, i]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([q, i]) => `${names[i]} ${(100 * q).toFixed(1)}%`);
    for (const line of top3) assert.ok(card.includes(line), `page shows ${card}, fmnist predict says ${line}`);
  } finally {
    await p.close();
  }
});

test('evaluation on three workers (a browser reporting three cores) gives the card accuracy', { skip }, async () => {
  const p = await browser.newPage();
  try {
    // Three shares of the test set (0-3,500, 3,500-7,000, 7,000-10,000) on two helpers.
    await p.addInitScript(() => Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 3 }));
    await p.goto(`${origin}/`);
    await p.waitForFunction(() => document.getElementById('data-status').textContent.startsWith('Dataset ready') &&
      !document.getElementById('evaluate').disabled, null, { timeout: 60000 });
    await p.click('#evaluate');
    await p.waitForFunction(() => /^on 10,000/.test(document.getElementById('eval-speed').textContent), null, { timeout: 120000 });
    assert.match(await p.textContent('#eval-speed'), /, 3 workers\)$/);
    assert.equal(await p.textContent('[data-testid=accuracy]'), `${(100 * card.test_accuracy).toFixed(2)}%`);
    const diag = await p.locator('[data-testid=confusion] button.cell.diag').allTextContents();
    assert.equal(diag.map(Number).reduce((x, y) => x + y), card.test_correct);
  } finally {
    await p.close();
  }
});

test('the page works at phone width', { skip }, async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  await phone.goto(`${origin}/`);
  await phone.waitForFunction(() => document.getElementById('data-status').textContent.startsWith('Dataset ready'), null, { timeout: 60000 });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
  for (const name of ['Evaluate', 'Train', 'Stop']) assert.equal(await phone.getByRole('button', { name, exact: true }).count(), 1);
  assert.equal(await phone.getByLabel(/photo/i).count() >= 1, true);
  assert.equal(await phone.getByLabel(/model/i).count() >= 1, true);
  await phone.screenshot({ path: `${shots}phone.png`, fullPage: true });
  await phone.close();
});

test('when the worker crashes mid-training, the page says so, recovers, and offers the model trained so far', { skip }, async () => {
  await page.evaluate(() => new Promise((r) => { const q = indexedDB.deleteDatabase('fmnist-demo'); q.onsuccess = q.onerror = r; }));
  await page.selectOption('#arch', 'cnn-small');
  await page.selectOption('#optimizer', 'adam');
  await page.fill('#lr', '0.001');
  await page.fill('#epochs', '3');
  await page.fill('#limit', '1280');
  await page.click('#train');
  await waitText('#train-status', /^Epoch 2\/3/);
  // The data worker (the other one answers photos).
  let worker = null;
  for (const w of page.workers()) if ((await w.evaluate(() => self.fmnistRole)) === 'data') worker = w;
  assert.ok(worker, 'the page runs a data worker');
  await worker.evaluate(() => { setTimeout(() => { throw new Error('simulated crash'); }); });
  await waitText('#worker-error', /^The computation worker stopped \(the worker crashed: .*simulated crash.*\)\. It has been restarted/, 10000);
  assert.match(await text('#train-status'), /^Training stopped: the worker crashed/);
  await waitText('#data-status', /^Dataset ready: 60,000/);
  await waitText('#model-status', new RegExp(`^${index.default.replace('.', '\\.')}: `));
  await waitText('#restore-text', /^A cnn-small model trained in this browser \(after epoch 1 of 3, .*\) was kept\.$/);
  await page.click('#restore-load');
  await waitText('#model-status', /^cnn-small \(trained here\): /);
  await page.click('#evaluate');
  await waitText('#eval-speed', /^on 10,000 test images/);
});

test('a model file name or metadata with HTML in it is shown as text, never as markup', { skip }, async () => {
  const good = readFileSync(new URL(`../models/${index.default}`, import.meta.url));
  const name = '<img src=x id=injected>.safetensors';
  await page.setInputFiles('#model-file', { name, mimeType: 'application/octet-stream', buffer: good });
  await waitText('#model-status', /^<img src=x id=injected>\.safetensors: /);
  assert.equal(await page.locator('#injected').count(), 0);
});
