// app.js: the page's main thread. It only handles the UI; every computation
// happens in workers behind Bridges, so the page stays responsive while
// training. Two workers: `photos` answers photos (it loads the module and
// the model first, before anything else, so a photo picked while the page
// loads is answered within a second or two), `bridge` holds the dataset
// (the test set next, the training set when training needs it or once the
// page is idle), evaluates and trains.
import { Bridge } from './bridge.js';
import * as boot from './boot.js';
import { LineChart } from './chart.js';
import { saveCheckpoint, loadCheckpoint, clearCheckpoint } from './checkpoints.js';
import { setupCorrections } from './corrections.js';

const $ = (id) => document.getElementById(id);
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const bridge = new Bridge();
const photos = new Bridge();
photos.start(boot.photoWorker); // started by boot.js while this script loaded
// Two training workers only where there are two cores to run them.
if ((navigator.hardwareConcurrency ?? 1) < 2) document.getElementById('workers').value = '1';
const state = {
  testReady: false, trainReady: false, model: null, busy: false, training: false, evaluated: false,
  // Photos: the model they use is ready; a model the user loaded or trained
  // replaced the shipped one (it is then copied to the photo worker).
  photoModel: null, userModel: false,
};
// The module's bytes, fetched once (boot.js; index.html preloads them) for
// both workers, so neither waits for its own download.
const initArgs = async (role) => { const b = await boot.wasmBytes; return { role, wasm: b ? b.slice(0) : null }; };
let index = null; // models/index.json
let defaultModel = null; // {bytes, name}: the shipped default, kept to restart workers
const pct = (x) => `${(100 * x).toFixed(2)}%`;

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function fmtBytes(n) { return n > 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} KB`; }
function fmtTime(s) {
  if (!Number.isFinite(s)) return '…';
  const m = Math.floor(s / 60);
  return m ? `${m} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}

/** 28x28 bytes -> a canvas (white-on-black, as in the dataset). */
function imageCanvas(pixels, offset = 0, size = 56) {
  const c = el('canvas', { width: 28, height: 28, class: 'digit', role: 'img' });
  c.style.width = c.style.height = `${size}px`;
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = pixels[offset + i];
    img.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** The saliency map (0..1 per pixel) over the 28x28 input: the input dimmed,
 * the pixels that moved the answer most in yellow, less in red. */
function saliencyCanvas(pixels, map, offset = 0, size = 84) {
  const c = el('canvas', { width: 28, height: 28, class: 'saliency', role: 'img' });
  c.style.width = c.style.height = `${size}px`;
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const g = 0.45 * pixels[offset + i], a = Math.min(1, 1.3 * map[i]);
    img.data.set([g + (255 - g) * a, g * (1 - a) + 230 * a * a, g * (1 - a), 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function updateButtons() {
  const idle = !state.busy;
  $('evaluate').disabled = !(idle && state.testReady && state.model);
  $('download').disabled = !(idle && state.model);
  $('model-file').disabled = !idle;
  $('train').disabled = !(idle && state.testReady);
  $('stop').disabled = !state.training;
  $('shuffle').disabled = !(idle && state.testReady && state.model);
  // The photo controls are never disabled: photos picked while the page
  // loads (or trains) wait in the queue and are answered.
  for (const id of ['arch', 'epochs', 'lr', 'batch', 'optimizer', 'seed', 'limit', 'workers']) $(id).disabled = state.training;
}

async function task(fn) {
  state.busy = true;
  updateButtons();
  try {
    return await fn();
  } finally {
    state.busy = false;
    updateButtons();
  }
}

function showModel(info) {
  state.model = info;
  // The trainer records the accuracy of the image alone; test-time views
  // (fmnist views) are set afterwards, and Evaluate measures with them.
  const views = info.views === 'shift';
  const recorded = info.testAccuracy ? `, recorded test accuracy ${pct(Number(info.testAccuracy))}${views ? ' for the image alone' : ''}` : '';
  $('model-status').textContent = `${info.name}: ${info.spec} (${info.params.toLocaleString('en')} parameters${recorded}` +
    `${views ? '; test-time views: unsure images also seen shifted 1 pixel left and right' : ''}).`;
}

// ---- dataset: the test set once the model is in, the training set when
// training needs it or once the page is idle ----
function dataFailed(e) {
  $('data-status').textContent = `The dataset could not be loaded from this server (${e.message}). ` +
    'Pick the four IDX files from your disk instead.';
  $('data-pick').hidden = false;
  $('data-progress').value = 0;
}

async function loadTest() {
  $('data-status').textContent = 'Downloading the test set…';
  try {
    await bridge.call('loadSplitUrls', { base: 'data/', split: 'test' }, { onProgress: dataProgress });
    state.testReady = true;
    $('data-status').textContent = 'Test set ready: 10,000 images. The 60,000 training images load in the background.';
    $('data-progress').value = 0;
    updateButtons();
    if (state.model) refreshGallery();
    return true;
  } catch (e) {
    dataFailed(e);
    return false;
  }
}

let trainLoading = null;
/** The training set (26 MB): once; a failure can be retried. */
function loadTrain() {
  trainLoading ??= (async () => {
    try {
      const r = await bridge.call('loadSplitUrls', { base: 'data/', split: 'train' }, { onProgress: dataProgress });
      dataReady(r);
    } catch (e) {
      trainLoading = null;
      dataFailed(e);
      throw e;
    }
  })();
  return trainLoading;
}

/** Runs fn once the page is idle: no photo waiting, the browser idle. */
function whenIdle(fn) {
  const go = () => (photoQueue.pending ? setTimeout(() => whenIdle(fn), 500) : fn());
  if ('requestIdleCallback' in window) requestIdleCallback(go, { timeout: 3000 });
  else setTimeout(go, 500);
}

function dataProgress(p) {
  const what = p.split === 'test' ? 'the test set' : p.split === 'train' ? 'the training set' : 'the dataset';
  if (p.stage === 'download') {
    $('data-progress').max = p.total || 1;
    $('data-progress').value = p.loaded;
    $('data-status').textContent = `Downloading ${what}: ${fmtBytes(p.loaded)}${p.total ? ` of ${fmtBytes(p.total)}` : ''}…`;
  } else {
    $('data-status').textContent = `Checking and decoding ${p.split === 'test' ? '10,000' : p.split === 'train' ? '60,000' : '70,000'} images…`;
  }
}

function dataReady(r) {
  state.testReady = state.trainReady = true;
  $('data-progress').max = 1;
  $('data-progress').value = 1;
  $('data-status').textContent = `Dataset ready: ${r.train.toLocaleString('en')} training and ${r.test.toLocaleString('en')} test images.`;
  $('data-pick').hidden = true;
  updateButtons();
  if (state.model) refreshGallery();
  swCheck(); // the service worker keeps the dataset for offline visits
}

$('data-retry').addEventListener('click', () => task(async () => {
  $('data-pick').hidden = true;
  if (!state.testReady && !(await loadTest())) return;
  await loadTrain().catch(() => {});
}));

$('data-files').addEventListener('change', async (ev) => {
  const files = [...ev.target.files];
  if (!files.length) return;
  await task(async () => {
    try {
      dataReady(await bridge.call('loadDatasetFiles', { files }, { onProgress: dataProgress }));
      trainLoading = Promise.resolve();
    } catch (e) {
      $('data-status').textContent = `Those files could not be used: ${e.message}`;
    }
  });
});

// ---- model ----
let firstIndex = boot.modelIndex, firstModel = boot.defaultModel; // boot.js's downloads, used once
async function fetchIndex() {
  if (firstIndex) {
    const ix = firstIndex;
    firstIndex = null;
    return ix;
  }
  const res = await fetch('models/index.json');
  if (!res.ok) throw new Error(`models/index.json: HTTP ${res.status}`);
  return res.json();
}

async function fetchModel(name) {
  if (firstModel) {
    const m = firstModel;
    firstModel = null;
    const got = await m.catch(() => null);
    if (got?.name === name) return got;
  }
  const res = await fetch(`models/${name}`);
  if (!res.ok) throw new Error(`models/${name}: HTTP ${res.status}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), name };
}

/** The current model (data worker) goes to the photo worker too, once the
 * user has loaded or trained one: photos then use it. Photos picked
 * meanwhile wait for the copy. */
let modelSync = Promise.resolve();
function syncPhotoModel() {
  state.userModel = true;
  modelSync = (async () => {
    const bytes = await bridge.call('saveModel');
    await photos.call('usePhotoModelUrl', { url: null });
    state.photoModel = await photos.call('loadModelBytes', { bytes, name: state.model?.name ?? 'model' });
    photoStatus();
  })().catch((e) => console.warn('the photo worker keeps its model:', e.message));
  return modelSync;
}

$('model-file').addEventListener('change', async (ev) => {
  const file = ev.target.files[0];
  ev.target.value = '';
  if (!file) return;
  await task(async () => {
    $('model-error').hidden = true;
    try {
      showModel(await bridge.call('loadModelFile', { file }));
      syncPhotoModel();
      clearResults();
      refreshGallery();
    } catch (e) {
      $('model-error').textContent = `${file.name} was not loaded: ${e.message}. The current model is unchanged.`;
      $('model-error').hidden = false;
    }
  });
});

$('download').addEventListener('click', () => task(async () => {
  const bytes = await bridge.call('saveModel');
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = el('a', { href: url, download: `${(state.model?.name ?? 'model').replace(/[^\w.-]+/g, '-').replace(/\.safetensors$/, '')}.safetensors` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}));

// ---- evaluation ----
function clearResults() {
  state.evaluated = false;
  $('accuracy').textContent = '–';
  $('eval-speed').textContent = '';
  $('confusion').replaceChildren(el('p', { class: 'muted' }, 'Evaluate to see it.'));
  $('report').replaceChildren(el('p', { class: 'muted' }, 'Evaluate to see it.'));
  $('cell-view').hidden = true;
}

$('evaluate').addEventListener('click', () => task(async () => {
  $('eval-progress').hidden = false;
  try {
    // One worker per core (up to 8): helpers take equal shares of the images.
    const r = await bridge.call('evaluate', { workers: Math.min(8, navigator.hardwareConcurrency ?? 1) }, {
      onProgress: (p) => { $('eval-progress').max = p.total; $('eval-progress').value = p.done; },
    });
    showResults(r);
    refreshGallery();
  } catch (e) {
    $('eval-speed').textContent = `Evaluation failed: ${e.message}`;
  } finally {
    $('eval-progress').hidden = true;
  }
}));

function showResults(r) {
  state.evaluated = true;
  $('accuracy').textContent = pct(r.accuracy);
  $('eval-speed').textContent = `on ${r.count.toLocaleString('en')} test images in ${r.seconds.toFixed(2)} s ` +
    `(${Math.round(r.imagesPerSec).toLocaleString('en')} images/s, ${r.workers} worker${r.workers > 1 ? 's' : ''})`;
  // Confusion heatmap: a table, each cell a button showing those images.
  const max = Math.max(...r.confusion);
  const table = el('table', { class: 'confusion' });
  table.append(el('caption', { class: 'visually-hidden' }, 'Confusion matrix'));
  const head = el('tr', {}, el('th', { scope: 'col' }, 'true \\ predicted'));
  CLASS_NAMES.forEach((n, j) => head.append(el('th', { scope: 'col', title: n }, String(j))));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (let i = 0; i < 10; i++) {
    const row = el('tr', {}, el('th', { scope: 'row' }, `${i} ${CLASS_NAMES[i]}`));
    for (let j = 0; j < 10; j++) {
      const v = r.confusion[i * 10 + j];
      const b = el('button', { type: 'button', class: i === j ? 'cell diag' : 'cell', 'aria-label': `${v} ${CLASS_NAMES[i]} predicted as ${CLASS_NAMES[j]}`,
        onclick: () => showCell(i, j, v) }, String(v));
      const t = v / max;
      b.style.backgroundColor = i === j ? `rgba(20, 110, 60, ${0.15 + 0.85 * t})` : `rgba(190, 40, 30, ${Math.min(1, 0.08 + 4 * t)})`;
      b.style.color = (i === j ? t > 0.45 : 4 * t > 0.5) ? '#fff' : '#111';
      row.append(el('td', {}, b));
    }
    body.append(row);
  }
  table.append(body);
  $('confusion').replaceChildren(table);
  // Report.
  const rep = el('table', { class: 'report' });
  rep.append(el('thead', {}, el('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((h) => el('th', { scope: 'col' }, h)))));
  const rb = el('tbody');
  for (const c of [...r.per_class, { label: 'macro average', ...r.macro }]) {
    rb.append(el('tr', {}, el('th', { scope: 'row' }, c.label), el('td', {}, c.precision.toFixed(4)),
      el('td', {}, c.recall.toFixed(4)), el('td', {}, c.f1.toFixed(4)), el('td', {}, String(c.support))));
  }
  rep.append(rb);
  $('report').replaceChildren(rep);
}

async function showCell(truth, predicted, count) {
  $('cell-view').hidden = false;
  $('cell-title').textContent = `${CLASS_NAMES[truth]} predicted as ${CLASS_NAMES[predicted]}: ${count} image${count === 1 ? '' : 's'}${count > 200 ? ' (first 200)' : ''}`;
  const ids = await bridge.call('cellIndices', { truth, predicted });
  const imgs = await bridge.call('testImages', { indices: ids });
  $('cell-images').replaceChildren(...imgs.indices.map((idx, k) => {
    const c = imageCanvas(imgs.pixels, k * 784, 42);
    c.setAttribute('aria-label', `test image ${idx}`);
    return c;
  }));
  $('cell-view').scrollIntoView({ block: 'nearest' });
}

// ---- gallery ----
let galleryPool = null;
async function refreshGallery(opts) {
  try {
    await fillGallery(opts);
  } catch (e) {
    $('gallery').replaceChildren(el('p', { class: 'error' }, `No predictions: ${e.message}`));
  }
}

async function fillGallery({ reshuffle = false } = {}) {
  if (!state.testReady || !state.model) return;
  let pool;
  if ($('only-mistakes').checked) {
    if (!state.evaluated) {
      $('gallery').replaceChildren(el('p', { class: 'muted' }, 'Evaluate first to find the mistakes.'));
      return;
    }
    pool = await bridge.call('mistakes');
  } else {
    pool = null;
  }
  if (reshuffle || !galleryPool || galleryPool.mistakes !== !!pool) {
    const n = pool ? pool.length : 10000;
    const picks = new Set();
    while (picks.size < Math.min(24, n)) picks.add(Math.floor(Math.random() * n));
    galleryPool = { mistakes: !!pool, indices: [...picks].map((i) => (pool ? pool[i] : i)) };
  }
  const r = await bridge.call('testImages', { indices: galleryPool.indices, saliency: $('show-saliency').checked });
  $('gallery').replaceChildren(...r.indices.map((idx, k) => {
    const p = Array.from(r.probs.subarray(k * 10, k * 10 + 10));
    const pred = p.indexOf(Math.max(...p)), ok = pred === r.labels[k];
    const bar = el('div', { class: 'bar' }, el('span'));
    bar.firstChild.style.width = `${(100 * p[pred]).toFixed(0)}%`;
    const views = el('div', { class: 'views' }, imageCanvas(r.pixels, k * 784, r.saliency ? 48 : 56));
    if (r.saliency?.[k]) {
      const sal = saliencyCanvas(r.pixels, r.saliency[k], k * 784, 48);
      sal.setAttribute('aria-label', `what the model looked at for test image ${idx} (bright = mattered most)`);
      sal.dataset.testid = 'gallery-saliency';
      views.append(sal);
    }
    return el('figure', { class: ok ? 'card right' : 'card wrong' },
      views,
      el('figcaption', {},
        el('span', { class: 'mark', 'aria-hidden': 'true' }, ok ? '✓' : '✗'),
        ` ${CLASS_NAMES[pred]} `, el('span', { class: 'muted' }, `${(100 * p[pred]).toFixed(0)}%`),
        ok ? '' : el('div', { class: 'truth' }, `true: ${CLASS_NAMES[r.labels[k]]}`),
        el('span', { class: 'visually-hidden' }, ok ? ' (correct)' : ' (wrong)')),
      bar);
  }));
}
$('shuffle').addEventListener('click', () => refreshGallery({ reshuffle: true }));
$('only-mistakes').addEventListener('change', () => refreshGallery({ reshuffle: true }));
$('show-saliency').addEventListener('change', () => refreshGallery());

// ---- training ----
const lossChart = new LineChart($('loss-chart'), { yMin: 0 });
const accChart = new LineChart($('acc-chart'), { yMin: 0, yMax: 1, format: (v) => `${Math.round(100 * v)}%` });

$('train-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!$('train-form').reportValidity()) return;
  train();
});

async function train() {
  const opts = {
    arch: $('arch').value, epochs: Number($('epochs').value), lr: Number($('lr').value),
    batch: Number($('batch').value), optimizer: $('optimizer').value, seed: Number($('seed').value),
    limit: Number($('limit').value), workers: Number($('workers').value),
    // A moving average of the weights (about the last 1,000 steps, fewer
    // early on): +0.2 to +0.5 points on validation after the default epoch.
    ema: $('ema').checked ? 0.999 : 0,
  };
  const loss = [], acc = [], testAcc = [];
  let ema = null, emaAcc = null, total = 1, started = false;
  state.training = true;
  clearResults();
  $('train-progress').hidden = false;
  await task(async () => {
    try {
      if (!state.trainReady) {
        $('train-status').textContent = 'Downloading the training set first…';
        await loadTrain();
      }
      started = true;
      const r = await bridge.call('train', opts, {
        onProgress: (p) => {
          if (p.stage === 'train') {
            total = p.total;
            ema = ema === null ? p.loss : 0.9 * ema + 0.1 * p.loss;
            emaAcc = emaAcc === null ? p.accuracy : 0.9 * emaAcc + 0.1 * p.accuracy;
            loss.push([p.done, ema]);
            acc.push([p.done, emaAcc]);
            $('train-progress').max = p.total;
            $('train-progress').value = p.done;
            $('train-status').textContent = `Epoch ${p.epoch + 1}/${opts.epochs}, batch ${p.batch + 1}/${p.batchesPerEpoch}: ` +
              `loss ${ema.toFixed(4)}, ${Math.round(p.imagesPerSec).toLocaleString('en')} images/s ` +
              `(${p.workers} worker${p.workers > 1 ? 's' : ''}), ETA ${fmtTime(p.eta)}`;
          } else if (p.stage === 'checkpoint') {
            const { stage, ...rec } = p;
            const desc = rec.batch === rec.batchesPerEpoch ? `after epoch ${rec.epoch + 1} of ${rec.epochs}` : `saved during epoch ${rec.epoch + 1} of ${rec.epochs}`;
            saveCheckpoint({ ...rec, desc, name: `${rec.arch} (trained here)`, savedAt: Date.now() })
              .catch((e) => console.warn('checkpoint not saved:', e));
            return;
          } else if (p.stage === 'epoch') {
            testAcc.push([acc.length ? acc.at(-1)[0] : 0, p.testAccuracy]);
            $('accuracy').textContent = pct(p.testAccuracy);
            $('eval-speed').textContent = `after epoch ${p.epoch} (test set)`;
          }
          lossChart.draw([{ points: loss, color: '#1f5fbf' }], total);
          accChart.draw([{ points: acc, color: '#1f5fbf' }, { points: testAcc, color: '#c0392b', dots: true }], total);
        },
      });
      showModel(r.model);
      syncPhotoModel();
      // Keep the finished (or stopped) model too: it survives a reload.
      const n = r.history.length, desc = `${r.stopped ? 'stopped' : 'finished'} after ${n} epoch${n === 1 ? '' : 's'}`;
      bridge.call('saveModel').then((bytes) => saveCheckpoint({ bytes, desc, name: r.model.name, arch: opts.arch, savedAt: Date.now() }))
        .catch((e) => console.warn('checkpoint not saved:', e));
      $('train-status').textContent = `${r.stopped ? 'Stopped' : 'Done'} after ${r.history.length} full epoch(s) at ` +
        `${Math.round(r.imagesPerSec).toLocaleString('en')} images/s with ${r.workers} worker${r.workers > 1 ? 's' : ''}` +
        (r.history.length ? `; test accuracy ${pct(r.history.at(-1).testAccuracy)}.` : '; no full epoch, so no test accuracy yet (press Evaluate).');
    } catch (e) {
      $('train-status').textContent = `Training stopped: ${e.message}`;
      // The network trained so far (its last good weights) is the current model.
      if (started) bridge.call('modelInfo').then((info) => { if (info) { showModel(info); syncPhotoModel(); } }).catch(() => {});
    } finally {
      state.training = false;
      $('train-progress').hidden = true;
    }
  });
  refreshGallery({ reshuffle: true });
}

$('stop').addEventListener('click', () => {
  $('stop').disabled = true;
  $('train-status').textContent = 'Stopping after this batch…';
  bridge.call('stop').catch(() => {});
});

// ---- photos: picked, taken, dropped or pasted; queued from the first
// moment, answered as soon as the photo worker has its model ----
const photoQueue = { pending: 0, picked: 0 };
let photoJobs = Promise.resolve();
let photosReady = null; // settles when the photo worker can answer (or cannot)
let photoModelBytes = null; // settles once boot.js's download of the photo model is in the worker

function photoStatus() {
  const q = photoQueue, m = state.photoModel;
  let text;
  if (!m) text = photosFailed ? `No model could be loaded (${photosFailed}); photos cannot be classified.` : 'Loading the model… photos you pick now are answered as soon as it is ready.';
  else text = `Ready: photos are classified on this device by ${m.name}${navigator.onLine ? '' : ' (offline: the copy kept on this device)'}.`;
  if (q.pending) text += ` ${q.picked - q.pending} of ${q.picked} answered…`;
  $('photo-status').textContent = text;
}
let photosFailed = null;
addEventListener('online', () => photoStatus());
addEventListener('offline', () => photoStatus());

function pendingCard(name, text) {
  return el('figure', { class: 'photo pending', 'data-testid': 'photo-pending', 'aria-busy': 'true' },
    el('figcaption', {}, el('strong', { class: 'name' }, name), el('p', { class: 'muted' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), text)));
}

let firstAnswer = false;
const verdictOf = (r) => (r.inScope === false
  ? `Probably none of the ten classes (closest: ${r.top[0].label})`
  : r.unsure
    ? `Not sure: maybe ${r.top[0].label} or ${r.top[1].label} (or none of the ten classes)`
    : `Looks like: ${r.top[0].label}`);

/** A waiting card shows the verdict as soon as the model has answered. */
function earlyVerdict(card, r) {
  if (!firstAnswer) {
    firstAnswer = true;
    performance.mark('fmnist-first-answer');
  }
  card.querySelector('p').replaceChildren(el('strong', {}, verdictOf(r)), ' (drawing the steps…)');
}

/** A photo's card, filled with its answer (or one line saying why not). */
function fillCard(card, r) {
  card.className = 'photo';
  card.dataset.testid = 'photo-result';
  card.removeAttribute('aria-busy');
  if (r.error) {
    card.replaceChildren(el('figcaption', {}, el('strong', { class: 'name' }, r.name), el('p', { class: 'error' }, `Could not classify: ${r.error}`)));
    return;
  }
  if (!firstAnswer) {
    firstAnswer = true;
    performance.mark('fmnist-first-answer');
  }
  const url = URL.createObjectURL(r.thumb);
  const img = el('img', { alt: `your photo ${r.name}`, src: url, class: 'thumb', decoding: 'async' });
  // The crop the pipeline kept, outlined on the photo: in percent of the
  // frame, which wraps the image exactly (no layout to read back).
  const box = el('span', { class: 'crop-box', 'aria-hidden': 'true' });
  const [x0, y0, x1, y1] = r.crop, b = box.style;
  b.left = `${100 * x0}%`; b.top = `${100 * y0}%`; b.width = `${100 * (x1 - x0)}%`; b.height = `${100 * (y1 - y0)}%`;
  const frame = el('div', { class: 'crop-frame' }, img, box);
  // The steps, drawn by the worker as small PNGs (no canvas work here).
  const pic = (blob, alt, testid, w = 72, h = 72) => {
    const scale = 72 / Math.max(w, h);
    const i = el('img', { src: URL.createObjectURL(blob), alt, class: 'step', width: Math.round(w * scale), height: Math.round(h * scale), decoding: 'async' });
    if (testid) i.dataset.testid = testid;
    return i;
  };
  const mask = pic(r.maskPng, 'the object mask: what the pipeline kept (white) and took for background', 'photo-mask', r.mask.width, r.mask.height);
  const seen = pic(r.inputPng, 'the 28x28 image the model sees', 'photo-input28');
  const sal = pic(r.saliencyPng, `what the model looked at to answer ${r.top[0].label}: bright pixels mattered most`, 'saliency');
  const step = (node, caption) => el('figure', {}, node, el('figcaption', {}, caption));
  const list = el('ol', { class: 'top3' }, ...r.top.map((t) => {
    const bar = el('div', { class: 'bar' }, el('span'));
    bar.firstChild.style.width = `${(100 * t.p).toFixed(0)}%`;
    return el('li', {}, `${t.label} ${(100 * t.p).toFixed(1)}%`, bar);
  }));
  const verdict = verdictOf(r), correction = corrections.slot();
  card.replaceChildren(
    el('div', { class: 'pair' }, frame, el('div', { class: 'steps' },
      step(mask, 'mask'), step(seen, 'model input'), step(sal, 'looked at'))),
    el('figcaption', {}, el('strong', { class: 'name' }, r.name), el('p', { class: 'verdict' }, verdict), list,
      // What it really is, and the answer before and after learning from it.
      correction,
      el('p', { class: 'muted', 'data-testid': 'photo-model' }, `model: ${r.model}`),
      el('p', { class: 'muted', 'data-testid': 'photo-time' }, `${Math.round(r.ms)} ms (decode, pipeline, model)`)));
  corrections.attach(card, r, correction);
}

// ---- learning from corrections (web/corrections.js) ----
let dataStarted = null; // the data worker's start (module, model, test set)
const corrections = (() => {
  const api = setupCorrections({
    photosWorker: photos, dataWorker: bridge, el, panel: $('learn-panel'),
    ensureData: async () => {
      await dataStarted;
      if (!state.testReady && !(await loadTest())) throw new Error('the test set could not be loaded');
      await loadTrain();
    },
    onModel: (name) => { state.photoModel = { name }; photoStatus(); },
  });
  return { ...api, slot: () => el('div', { class: 'correction', 'data-slot': 'correction' }) };
})();

/** DOM work for photos, a little per animation frame (2 items, about 4 ms),
 * so 150 photos at once never freeze the page: cards to insert, answers to
 * fill in. */
const domWork = [];
let domScheduled = false;
function later(fn) {
  domWork.push(fn);
  if (domScheduled) return;
  domScheduled = true;
  requestAnimationFrame(function frame() {
    const t0 = performance.now();
    for (let n = 0; domWork.length && n < 2 && performance.now() - t0 < 4; n++) domWork.shift()();
    if (domWork.length) requestAnimationFrame(frame);
    else domScheduled = false;
  });
}

/** Queues photos: answers as they come, in the order picked, newest batch
 * on top. The first few show a waiting card at once; the others get theirs
 * with their answer (150 waiting cards cost more to lay out than they say:
 * the status line counts them). */
const SHOWN_WAITING = 12;
function addPhotos(files) {
  files = files.filter(Boolean);
  if (!files.length) return;
  if (!photoQueue.picked) performance.mark('fmnist-photos-picked');
  const waiting = state.photoModel ? 'In the queue…' : 'Waiting for the model to load…';
  const batch = el('div', { class: 'batch' });
  const cards = files.map((f, k) => (k < SHOWN_WAITING ? pendingCard(f.name || 'pasted image', waiting) : null));
  batch.append(...cards.filter(Boolean));
  $('photos').prepend(batch);
  photoQueue.pending += files.length;
  photoQueue.picked += files.length;
  photoStatus();
  const job = async () => {
    await photosReady;
    await photoModelBytes;
    await modelSync;
    later(() => { for (const c of cards) c?.querySelector('p').lastChild.replaceWith('Classifying…'); });
    const answer = (k, r, early) => later(() => {
      if (cards[k]?.dataset.testid === 'photo-result') return; // answered already (a crash after it)
      if (early) {
        if (cards[k]) earlyVerdict(cards[k], r);
        return;
      }
      if (!cards[k]) batch.append((cards[k] = el('figure', { class: 'photo' })));
      fillCard(cards[k], r);
      photoQueue.pending--;
      photoStatus();
    });
    // To the worker 2 at a time, each message posted in a task of its own
    // (cloning a File handle costs a few ms on a busy machine: 150 in one
    // message took 60-90 ms).
    const calls = [];
    for (let i = 0; i < files.length; i += 2) {
      if (i) await new Promise((r) => setTimeout(r, 0));
      const part = files.slice(i, i + 2);
      calls.push(photos.call('classifyPhotos', { files: part }, { onProgress: ({ index: k, result, early }) => answer(i + k, result, early) })
        .catch((e) => part.forEach((f, k) => answer(i + k, { name: f.name || 'pasted image', error: e.message }))));
    }
    await Promise.all(calls);
    later(() => { if (!photoQueue.pending) photoQueue.picked = 0, photoStatus(); });
  };
  photoJobs = photoJobs.then(job, job);
  performance.mark('fmnist-photos-queued');
}

for (const id of ['photo-input', 'camera-input']) {
  $(id).addEventListener('change', (ev) => {
    const files = [...ev.target.files];
    ev.target.value = '';
    addPhotos(files);
  });
}

// Drop anywhere on the page.
let dragDepth = 0;
const hasFiles = (ev) => [...(ev.dataTransfer?.types ?? [])].includes('Files');
document.addEventListener('dragenter', (ev) => {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  dragDepth++;
  $('drop-overlay').hidden = false;
});
document.addEventListener('dragover', (ev) => { if (hasFiles(ev)) ev.preventDefault(); });
document.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) dragDepth = 0, $('drop-overlay').hidden = true;
});
document.addEventListener('drop', (ev) => {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  dragDepth = 0;
  $('drop-overlay').hidden = true;
  addPhotos([...ev.dataTransfer.files]);
  $('photo-section').scrollIntoView({ block: 'start' });
});
// Paste an image (a screenshot, a copied photo) anywhere but in a text field.
document.addEventListener('paste', (ev) => {
  const files = [...(ev.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
  if (!files.length) return;
  ev.preventDefault();
  addPhotos(files.map((f, k) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted image ${k + 1}.${f.type.split('/')[1] || 'png'}`, { type: f.type }))));
  $('photo-section').scrollIntoView({ block: 'start' });
});

/** The photo worker: the module and the model (the shipped default, or
 * models/index.json's "photo" model, fetched when the first photo comes). */
async function startPhotos() {
  photos.start();
  // The module compiles while the model downloads; init goes first in the worker's queue.
  const posted = initArgs('photos').then((a) => { photos.call('init', a).catch(() => {}); });
  try {
    index ??= await fetchIndex();
    if (index.photo && !state.userModel) {
      // The photo model: fetched when the first photo comes (boot.js starts
      // it then); the worker fetches it itself if that failed.
      await posted;
      await photos.call('usePhotoModelUrl', { url: `models/${index.photo}`, name: index.photo });
      state.photoModel = { name: index.photo };
      photoModelBytes = boot.photoModel.then(async (m) => {
        if (m && !state.userModel) await photos.call('usePhotoModelUrl', { url: `models/${index.photo}`, name: index.photo, bytes: m.bytes });
      }).catch(() => {});
    } else {
      defaultModel ??= await fetchModel(index.default);
      await posted;
      const bytes = state.userModel ? await bridge.call('saveModel') : defaultModel.bytes.slice();
      state.photoModel = await photos.call('loadModelBytes', { bytes, name: state.userModel ? state.model.name : defaultModel.name });
      if (!state.model) showModel(state.photoModel);
    }
    photosFailed = null;
  } catch (e) {
    photosFailed = e.message;
  }
  photoStatus();
}

photos.onCrash = async (message) => {
  state.photoModel = null;
  $('worker-error').textContent = `The photo worker stopped (${message}). It has been restarted.`;
  $('worker-error').hidden = false;
  photosReady = startPhotos();
};

// ---- the model trained before a crash or reload, offered back ----
async function offerCheckpoint(reason) {
  let rec;
  try {
    rec = await loadCheckpoint();
  } catch {
    return; // no IndexedDB (private mode): nothing to offer
  }
  if (!rec) return;
  const when = new Date(rec.savedAt).toLocaleTimeString();
  $('restore-text').textContent = `${reason}A ${rec.arch} model trained in this browser (${rec.desc}, ${when}) was kept.`;
  $('restore').hidden = false;
  $('restore-load').onclick = () => task(async () => {
    try {
      showModel(await bridge.call('loadModelBytes', { bytes: rec.bytes, name: rec.name }));
      syncPhotoModel();
      clearResults();
      refreshGallery({ reshuffle: true });
      $('restore').hidden = true;
    } catch (e) {
      $('restore-text').textContent = `The kept model could not be loaded: ${e.message}`;
    }
  });
  $('restore-discard').onclick = async () => {
    await clearCheckpoint().catch(() => {});
    $('restore').hidden = true;
  };
}

// ---- worker failures: say so, then start again ----
bridge.onCrash = async (message) => {
  const hadTrain = state.trainReady;
  state.training = false;
  state.testReady = state.trainReady = false;
  trainLoading = null;
  state.model = null;
  state.busy = false;
  $('worker-error').textContent = `The computation worker stopped (${message}). It has been restarted; the dataset and the pretrained model are being reloaded.`;
  $('worker-error').hidden = false;
  updateButtons();
  await startData({ train: hadTrain });
  await offerCheckpoint('');
};

/** The data worker: the default model, then the test set; the training set
 * at once when asked, else once the page is idle. */
async function startData({ train = false } = {}) {
  try {
    await bridge.call('init', await initArgs('data'));
  } catch (e) {
    $('data-status').textContent = `The WebAssembly module could not start: ${e.message}`;
    return;
  }
  try {
    index ??= await fetchIndex();
    defaultModel ??= await fetchModel(index.default);
    showModel(await bridge.call('loadModelBytes', { bytes: defaultModel.bytes.slice(), name: defaultModel.name }));
  } catch (e) {
    $('model-status').textContent = `No pretrained model could be loaded (${e.message}); train one below.`;
  }
  updateButtons();
  if (!(await loadTest())) return;
  if (train) await loadTrain().catch(() => {});
  else whenIdle(() => loadTrain().catch(() => {}));
  registerServiceWorker();
}

// ---- offline: a service worker keeps the page, module and models (and the
// dataset once fetched) for visits without a network (web/sw.js) ----
function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || registerServiceWorker.done) return;
  registerServiceWorker.done = true;
  navigator.serviceWorker.register('sw.js').then(() => swCheck(), (e) => console.warn('no offline copy:', e.message));
}
/** Asks the service worker to bring its copy up to date (a new build, the dataset). */
function swCheck() {
  navigator.serviceWorker?.ready.then((reg) => reg.active?.postMessage({ type: 'refresh' })).catch(() => {});
}

// Photos picked before this script ran (a slow first load) are in the inputs already.
for (const id of ['photo-input', 'camera-input']) {
  if ($(id).files?.length) {
    const files = [...$(id).files];
    $(id).value = '';
    addPhotos(files);
  }
}
updateButtons();
photoStatus();
// Photos first: the data worker starts once the photo worker has its model
// and has answered the photos picked meanwhile, so the dataset shares
// neither the network nor the processor with them.
photosReady = startPhotos();
dataStarted = photosReady.then(() => photoJobs).then(() => startData());
dataStarted.then(() => offerCheckpoint(''));
