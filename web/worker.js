// worker.js: everything that computes runs here, never on the page's main
// thread: the wasm module, the dataset, the model, training, evaluation and
// photo preprocessing. The page talks to it only through bridge.js.
//
// The page runs two of these: one answers photos (module and model first,
// nothing else), the other holds the dataset, evaluates and trains, so a
// photo never waits behind a download, an evaluation or a training run.
//
// Protocol: {id, method, args} in; {id, result} or {id, error} out, plus
// {id, progress} events while a call runs. Calls run one at a time, except
// `stop`, which is answered at once and ends a running training loop at its
// next batch boundary, and downloads, which run beside the queue and join it
// only to parse what they fetched.
import { loadFmnist, CLASS_NAMES, MAX_IMAGE_BYTES, MAX_MODEL_BYTES } from './js/fmnist.mjs';
import { Bridge } from './bridge.js';

const FILES = {
  trainImages: 'train-images-idx3-ubyte', trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte', testLabels: 't10k-labels-idx1-ubyte',
};

let fm = null, fmLoading = null;
let train = null, test = null, net = null, modelName = null;
// A separate model for photos (models/index.json "photo"), fetched only when
// the first photo arrives; null when photos use the current model.
let photoModel = null; // {url, name, net}
let lastEval = null; // predictions and probabilities of the last full evaluation
let shard = null; // as a data-parallel helper: its dataset, network and trainer
let evalNet = null; // as a helper of evaluate: the model it predicts with
let stopRequested = false;

// Yields to the event loop (so `stop` messages get in) without the 4 ms
// clamp of setTimeout.
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () => new Promise((r) => { waiting.push(r); channel.port2.postMessage(0); });

function modelInfo() {
  if (!net) return null;
  return {
    name: modelName, spec: net.spec, params: net.paramCount, macs: net.macs,
    testAccuracy: net.getMeta('test_accuracy'), epochs: net.getMeta('epochs'), views: net.getMeta('tta') ?? 'none',
  };
}

/** Fetches a URL, reporting bytes, and gunzips with DecompressionStream when
 * it is gzip. keep: an array that receives the bytes as fetched (compressed). */
async function fetchBytes(url, onBytes, keep = null) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('Content-Length')) || 0;
  let loaded = 0;
  const counter = new TransformStream({
    transform(chunk, ctl) { loaded += chunk.length; onBytes(loaded, total); keep?.push(chunk); ctl.enqueue(chunk); },
  });
  let stream = res.body.pipeThrough(counter);
  if (url.endsWith('.gz')) stream = stream.pipeThrough(new DecompressionStream('gzip'));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${url}: download or gzip decoding failed (${e.message})`);
  }
}

/** The dataset cache of web/sw.js: files the page has fetched and checked. */
const DATA_CACHE = 'fmnist-data-1';
function keepForOffline(url, chunks) {
  if (!self.caches || !chunks?.length) return;
  caches.open(DATA_CACHE).then(async (cache) => {
    if (await cache.match(url)) return;
    await cache.put(url, new Response(new Blob(chunks), { headers: { 'Content-Type': 'application/gzip' } }));
  }).catch(() => {}); // no room, or no Cache Storage here: the next visit downloads again
}

const methods = {
  /** wasm: the module's bytes when the page has them (else fetched here). */
  async init({ wasm = null, role } = {}) {
    if (role) self.fmnistRole = role; // 'photos' or 'data' (tests tell the two apart)
    fmLoading ??= loadFmnist(wasm ? new Uint8Array(wasm) : undefined); // one instance, however many callers wait
    fm ??= await fmLoading;
    performance.mark('fmnist-module-ready');
    return { classNames: CLASS_NAMES };
  },

  /** One split ('test' or 'train': its images and labels) from the server
   * (base URL, e.g. "data/"). Runs beside the queue: only the parse waits
   * for the module. */
  async loadSplitUrls({ base, split }, progress) {
    const keys = split === 'test' ? ['testImages', 'testLabels'] : ['trainImages', 'trainLabels'];
    const got = {}, loaded = {}, totals = {}, raw = {};
    const report = () => progress({
      stage: 'download', split, loaded: Object.values(loaded).reduce((a, b) => a + b, 0),
      total: Object.values(totals).reduce((a, b) => a + b, 0),
    });
    await Promise.all(keys.map(async (k) => {
      got[k] = await fetchBytes(`${base}${FILES[k]}.gz`, (l, t) => { loaded[k] = l; totals[k] = t; report(); }, (raw[k] = []));
    }));
    return serial(async () => {
      if (!fm) await methods.init();
      progress({ stage: 'parse', split });
      const name = (k) => `${FILES[k]}.gz`;
      const ds = fm.parseDataset(got[keys[0]], got[keys[1]], { imagesName: name(keys[0]), labelsName: name(keys[1]) });
      // Checked: kept for visits without a network (web/sw.js serves it).
      for (const k of keys) keepForOffline(new URL(`${base}${FILES[k]}.gz`, self.location.href).href, raw[k]);
      if (split === 'test') {
        test?.free();
        test = ds;
        lastEval = null;
      } else {
        train?.free();
        train = ds;
      }
      return { split, count: ds.count, train: train?.count ?? 0, test: test?.count ?? 0 };
    });
  },

  /** The four IDX files picked from disk (raw or .gz; named as the official files). */
  async loadDatasetFiles({ files }, progress) {
    const got = {}, names = {};
    for (const f of files) {
      const key = Object.keys(FILES).find((k) => f.name.startsWith(FILES[k]));
      if (!key) throw new Error(`${f.name}: not one of the four Fashion-MNIST files (${Object.values(FILES).join(', ')})`);
      got[key] = new Uint8Array(await f.arrayBuffer());
      names[key] = f.name;
    }
    const missing = Object.keys(FILES).filter((k) => !got[k]);
    if (missing.length) throw new Error(`missing ${missing.map((k) => FILES[k]).join(', ')}`);
    return parseAll(got, (k) => names[k], progress);
  },

  /** The fetch starts as the message arrives (see EAGER), beside the
   * module's own download. */
  async loadModelUrl({ url, name, bytes }) {
    return setModel(await (bytes ?? fetchBytes(url, () => {})), name ?? url.split('/').pop());
  },
  /** Photos use this model instead of the current one; it is fetched when
   * the first photo arrives. null: photos use the current model. */
  async usePhotoModelUrl({ url, name, bytes = null }) {
    photoModel?.net?.free();
    photoModel = url ? { url, name: name ?? url.split('/').pop(), net: bytes ? fm.loadNet(bytes) : null } : null;
    return true;
  },
  async loadModelBytes({ bytes, name }) { return setModel(bytes, name); },

  // ---- learning from a person's corrections (web/corrections.js) ----
  /** The photo worker: the model photos are answered with, as a file. */
  async photoModelBytes() {
    const { n, name } = await photoNet();
    return { bytes: n.save(), name };
  },
  /** The photo worker: answer photos with this model from now on. */
  async usePhotoModelBytes({ bytes, name }) {
    const next = fm.loadNet(bytes); // a bad file throws; the current model stays
    if (photoModel) photoModel.net?.free();
    photoModel = { url: null, name, net: next };
    return { name };
  },
  /** The photo worker: answers for 28x28 inputs the pipeline already made
   * (the photos on the page, after the model changed). From the plain
   * render alone: the page keeps no photo's pixels (a phone's memory), so a
   * model's photo views (jittered renders of the photo) cannot apply here. */
  async answerInputs({ inputs }) {
    const { n, name } = await photoNet();
    return inputs.map((input) => {
      const probs = Array.from(n.predict(input, 1));
      const { index, unsure, in_scope: inScope } = n.verdict(probs);
      return { index, label: CLASS_NAMES[index], p: probs[index], unsure, inScope, model: name };
    });
  },
  /** The data worker: fine-tunes a photo model on corrected photos (28x28
   * inputs, each with its allowed classes: one class, or [] for none of the
   * ten) mixed with Fashion-MNIST images (7 of every 8 images), then
   * measures it on the test set so a person sees that it did not forget the
   * dataset. Stop (the `stop` call) ends it after the current batch. */
  async learnCorrections({ model, photos: corrected, steps = 40, lr = 0.005, seed = 0 }, progress) {
    needTrain(); needTest();
    if (!corrected?.length) throw new Error('no corrected photos to learn from');
    stopRequested = false;
    const learner = fm.loadNet(model);
    const set = fm.createPhotoSet({ folders: { corrected: [] } });
    let trainer = null;
    try {
      for (const { input, classes } of corrected) set.addLabeled(input, classes);
      // 8 corrected photos in each batch of 64: with half the batch (32
      // copies of one photo) batch norm's statistics drifted and the model
      // lost 5 points on Fashion-MNIST; at 8 it keeps them and still learns
      // the correction in 40 steps.
      const batch = 64, ratio = 0.125, fmPerBatch = batch - batch * ratio;
      trainer = fm.createTrainer(learner, train, {
        photos: set, photo_ratio: ratio, batch, epochs: 1, limit: steps * fmPerBatch, optimizer: 'sgd', momentum: 0.9,
        nesterov: true, lr, augment_shift: 2, augment_flip: true, augment_photo: 0.3, seed,
      });
      const t0 = performance.now();
      let info, done = 0, stopped = false;
      while ((info = trainer.step())) {
        done++;
        progress({ stage: 'learn', step: done, steps, loss: info.loss, seconds: (performance.now() - t0) / 1000 });
        await yieldNow(); // lets `stop` in
        if (stopRequested) { stopped = true; break; }
      }
      const seconds = (performance.now() - t0) / 1000;
      progress({ stage: 'evaluate' });
      const ev = fm.evaluate(learner, test);
      learner.setMeta('learned_from_corrections', String(corrected.length));
      learner.setMeta('test_accuracy', ev.accuracy.toFixed(4));
      return { bytes: learner.save(), testAccuracy: ev.accuracy, steps: done, stopped, seconds };
    } finally {
      trainer?.free();
      set.free();
      learner.free();
    }
  },
  async loadModelFile({ file }) {
    if (file.size > MAX_MODEL_BYTES) throw new Error(`the file is ${(file.size / 2 ** 20).toFixed(0)} MB, over the ${MAX_MODEL_BYTES / 2 ** 20} MB limit for a model`);
    return setModel(new Uint8Array(await file.arrayBuffer()), file.name);
  },
  async modelInfo() { return modelInfo(); },

  async saveModel() {
    if (!net) throw new Error('no model to save');
    return net.save();
  },

  /** The test set's confusion matrix and report. With workers = W > 1,
   * W - 1 helper workers (this same script, given the model file once) share
   * the images with this one: the same C code on the same images, so the
   * same answers, in about 1/W of the time on W cores. The images go out in
   * chunks to whichever worker is free, so a helper's start (about a second
   * before its first answer) costs nothing: this worker predicts meanwhile,
   * and nobody waits at the end for a share fixed in advance. A helper that
   * fails leaves its chunks to this worker. */
  async evaluate({ workers = 1 } = {}, progress) {
    needModel(); needTest();
    const t0 = performance.now();
    const n = test.count, W = Math.max(1, Math.min(workers, Math.floor(n / 500)));
    const probs = new Float32Array(n * 10);
    let next = 0, done = 0;
    const redo = []; // chunks a failed helper had
    // Chunk sizes: this worker's small, so it answers a helper's result
    // (and sends its next chunk) within about 50 ms; a helper's larger, with
    // two in flight so that it never waits for its next; both shrink at the
    // end, so that the last chunks finish together.
    const take = (most) => {
      if (redo.length) return redo.pop();
      if (next >= n) return null;
      const c = Math.min(most, Math.max(32, Math.ceil((n - next) / (4 * W))), n - next);
      next += c;
      return [next - c, c];
    };
    // Progress at most every 250 ms (and at the end): each message repaints
    // the page's progress bar, and with 2 cores that paint is taken from the
    // workers (per chunk of 64, every 40 ms, it slowed this worker's
    // predictions by about 8%).
    let told = 0;
    const tell = () => {
      const now = performance.now();
      if (now - told < 250 && done < n) return;
      told = now;
      progress({ stage: 'evaluate', done, total: n });
    };
    const helpers = [];
    const model = W > 1 ? net.save() : null; // sent with each helper's first chunk only
    const feed = (h) => {
      const job = h.failed ? null : take(250);
      if (!job) return;
      const [s, c] = job, images = test.images(s, c);
      const answer = h.bridge.call('predictImages', { model: h.started ? undefined : model, images, count: c }, { transfer: [images.buffer] })
        .then((p) => { probs.set(p, s * 10); done += c; h.answered = true; tell(); },
          () => { h.failed = true; redo.push([s, c]); }); // e.g. out of memory: this worker does it
      const settled = answer.then(() => { h.inflight.delete(settled); feed(h); });
      h.inflight.add(settled);
      h.started = true;
    };
    for (let k = 1; k < W; k++) {
      const h = { bridge: new Bridge(new URL('./worker.js', import.meta.url)), inflight: new Set(), started: false, failed: false, answered: false };
      helpers.push(h);
      feed(h);
      feed(h);
    }
    try {
      for (let job; (job = take(64)) || helpers.some((h) => h.inflight.size);) {
        if (job) {
          const [s, c] = job;
          probs.set(net.predict(test.images(s, c), c), s * 10);
          done += c;
          tell();
          await yieldNow();
        } else {
          await Promise.race(helpers.flatMap((h) => [...h.inflight])); // the helpers' last chunks
        }
      }
    } finally {
      for (const h of helpers) h.bridge.terminate();
    }
    const used = 1 + helpers.filter((h) => h.answered && !h.failed).length;
    const confusion = new Int32Array(100), predictions = new Uint8Array(n), labels = test.labels();
    for (let i = 0; i < n; i++) {
      let arg = 0;
      for (let j = 1; j < 10; j++) if (probs[i * 10 + j] > probs[i * 10 + arg]) arg = j;
      predictions[i] = arg;
      confusion[labels[i] * 10 + arg]++;
    }
    const seconds = (performance.now() - t0) / 1000;
    lastEval = { predictions, probs };
    const report = fm.report(confusion);
    return { ...report, confusion: Array.from(confusion), seconds, imagesPerSec: n / seconds, count: n, workers: used };
  },

  /** As a helper of evaluate: class probabilities of count images, with
   * the model file given in the first call (kept for the next ones). */
  async predictImages({ model, images, count }) {
    if (model) {
      evalNet?.free();
      evalNet = fm.loadNet(model);
    }
    if (!evalNet) throw new Error('predictImages: no model given');
    return evalNet.predict(images, count);
  },

  /** Test images with their labels and (if evaluated) predictions. */
  async testImages({ indices, saliency = false }) {
    needTest();
    const ids = indices.slice(0, 500).filter((i) => i >= 0 && i < test.count);
    const pixels = new Uint8Array(ids.length * 784), labels = test.labels();
    ids.forEach((idx, k) => pixels.set(test.image(idx), k * 784));
    let probs = null, maps = null;
    if (net) probs = net.predict(pixels, ids.length);
    // What the model looked at, for the gallery (up to 64 images).
    if (net && saliency) {
      maps = ids.slice(0, 64).map((_, k) => {
        const row = Array.from(probs.subarray(k * 10, k * 10 + 10));
        return saliencyMap(net, pixels.subarray(k * 784, k * 784 + 784), row.indexOf(Math.max(...row)));
      });
    }
    return { indices: ids, pixels, labels: ids.map((i) => labels[i]), probs, saliency: maps };
  },

  /** Indices of test images by (true, predicted) class, from the last evaluation. */
  async cellIndices({ truth, predicted }) {
    if (!lastEval) throw new Error('evaluate first');
    needTest();
    const labels = test.labels(), out = [];
    for (let i = 0; i < labels.length && out.length < 200; i++) {
      if (labels[i] === truth && lastEval.predictions[i] === predicted) out.push(i);
    }
    return out;
  },

  async mistakes() {
    if (!lastEval) throw new Error('evaluate first');
    const labels = test.labels(), out = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] !== lastEval.predictions[i]) out.push(i);
    return out;
  },

  async train(opts, progress) {
    needTest(); needTrain();
    stopRequested = false;
    const { arch, seed = 0, workers: wanted = 1, ...options } = opts;
    const workers = Math.max(1, Math.min(wanted, 2));
    const fresh = fm.createNet(arch, { seed });
    const trainer = fm.createTrainer(fresh, train, { seed, ...options, ...(workers > 1 ? { shard: 0, shards: workers } : {}) });
    // Data-parallel: a helper worker (this same script) computes the second
    // half of every batch; the two swap gradients and apply the same update
    // (see fm_trainer_finish). It gets the training set once, as IDX bytes.
    let helper = null;
    if (workers > 1) {
      try {
        helper = new Bridge(new URL('./worker.js', import.meta.url));
        // (The helper keeps no average of the weights: this worker's is the model.)
        await helper.call('shardBegin', { arch, seed, options: { seed, ...options, ema: 0, shard: 1, shards: workers }, ...trainFiles() });
      } catch (e) {
        helper?.terminate();
        trainer.free();
        fresh.free();
        throw new Error(`could not start the second training worker: ${e.message}`);
      }
    }
    // Per step: this worker computes its half while the helper computes the
    // other (requested at the end of the previous step), then both add the
    // two vectors in shard order and apply the same update.
    let theirsNext = helper?.call('shardStep');
    const step = async () => {
      if (!helper) return trainer.step();
      const mine = trainer.step();
      const theirs = await theirsNext;
      if (!mine) return null;
      // The vectors' buffers go back and forth between the workers: no
      // allocation per step (theirs.spare is this worker's previous one).
      const vectors = [trainer.exchangeVector(theirs.spare), theirs.vector];
      let failure = null;
      try {
        trainer.finish(vectors);
      } catch (e) {
        failure = e; // the helper fails the same way: it gets the same vectors
      }
      // The helper finishes this step and starts the next in one message.
      // Transferred, not copied: cloning 2 x 1.7 MB (cnn-small) cost more
      // than half the step.
      theirsNext = helper.call('shardFinishStep', { vectors }, { transfer: vectors.map((v) => v.buffer) });
      if (failure) {
        theirsNext.catch(() => {});
        throw failure;
      }
      const images = mine.images + theirs.info.images;
      return {
        ...mine, images,
        loss: (mine.loss * mine.images + theirs.info.loss * theirs.info.images) / images,
        accuracy: (mine.accuracy * mine.images + theirs.info.accuracy * theirs.info.images) / images,
      };
    };
    // With ema the model is the moving average of the weights: the figures
    // and the saved model are the average's (see fm_trainer_swap_average).
    const averaged = options.ema > 0;
    const withAverage = (fn) => {
      const swap = averaged && !trainer.averageInNet;
      if (swap) trainer.swapAverage();
      try {
        return fn();
      } finally {
        if (swap) trainer.swapAverage();
      }
    };
    const history = [];
    let images = 0, seconds = 0, lastPost = 0, info = null, stopped = false, lastCheckpoint = performance.now();
    let epochLoss = 0, epochRight = 0, epochImages = 0;
    // The new network replaces the current one as soon as training starts,
    // so Stop always leaves the model trained so far in place.
    net?.free();
    net = fresh;
    modelName = `${arch} (trained here)`;
    lastEval = null;
    try {
      for (;;) {
        if (stopRequested) { stopped = true; break; }
        const t = performance.now();
        info = await step();
        if (!info) break;
        seconds += (performance.now() - t) / 1000;
        images += info.images;
        epochLoss += info.loss * info.images;
        epochRight += info.accuracy * info.images;
        epochImages += info.images;
        const endOfEpoch = info.batch + 1 === info.batchesPerEpoch;
        const now = performance.now();
        if (now - lastPost > 100 || endOfEpoch) {
          lastPost = now;
          const done = info.epoch * info.batchesPerEpoch + info.batch + 1;
          const total = options.epochs * info.batchesPerEpoch;
          progress({
            stage: 'train', epoch: info.epoch, batch: info.batch, batchesPerEpoch: info.batchesPerEpoch,
            loss: info.loss, accuracy: info.accuracy, imagesPerSec: images / seconds, workers,
            eta: ((total - done) * (images / done)) / (images / seconds), done, total,
          });
        }
        if (endOfEpoch) {
          const ev = withAverage(() => fm.evaluate(net, test));
          const rec = { epoch: info.epoch + 1, loss: epochLoss / epochImages, trainAccuracy: epochRight / epochImages, testAccuracy: ev.accuracy };
          history.push(rec);
          progress({ stage: 'epoch', ...rec });
          epochLoss = epochRight = epochImages = 0;
        }
        // The model so far goes to the page every 20 s and at each epoch's
        // end; the page keeps the latest in IndexedDB, so a crash or a
        // reload does not lose the training done.
        if (endOfEpoch || now - lastCheckpoint > 20000) {
          lastCheckpoint = now;
          net.setMeta('epochs', String(history.length));
          progress({ stage: 'checkpoint', bytes: withAverage(() => net.save()), arch, epoch: info.epoch, batch: info.batch + 1, batchesPerEpoch: info.batchesPerEpoch, epochs: options.epochs });
        }
        await yieldNow();
      }
    } finally {
      if (averaged && !trainer.averageInNet) trainer.swapAverage(); // stopped early: the average so far
      trainer.free();
      theirsNext?.catch(() => {}); // a step the helper started before Stop: not needed
      helper?.terminate();
    }
    net.setMeta('epochs', String(history.length));
    if (history.length) net.setMeta('test_accuracy', history.at(-1).testAccuracy.toFixed(4));
    return { stopped, history, imagesPerSec: images / seconds, workers, model: modelInfo() };
  },

  // ---- the helper's side of data-parallel training (see train) ----
  async shardBegin({ arch, seed, options, images, labels }) {
    shard?.trainer.free();
    shard?.net.free();
    shard?.data.free();
    const data = fm.parseDataset(images, labels, { imagesName: 'training images', labelsName: 'training labels' });
    const n = fm.createNet(arch, { seed });
    shard = { data, net: n, trainer: fm.createTrainer(n, data, options) };
    return true;
  },
  /** recycle: the last step's two vectors; this shard's next vector is
   * written into its own old one, the other goes back as the spare. */
  async shardStep({ recycle = [] } = {}) {
    const info = shard.trainer.step();
    if (!info) return null;
    return { info, vector: info.pending ? shard.trainer.exchangeVector(recycle[1]) : null, spare: recycle[0] };
  },
  async shardFinishStep({ vectors }) {
    shard.trainer.finish(vectors);
    return methods.shardStep({ recycle: vectors });
  },

  stop() {
    stopRequested = true;
    return true;
  },

  /** Photos (Blobs) -> what the model sees, its top 3 and what it looked
   * at, each photo on its own; each result goes to the page as a progress
   * event as soon as it is ready ({index, result}), so answers stream in. */
  async classifyPhotos({ files }, progress) {
    const encoding = [];
    for (const [index, file] of files.entries()) {
      const fail = (e) => progress({ index, result: { name: file.name, error: e.message || String(e) } });
      try {
        // The verdict goes out as soon as the model has answered; the full
        // result once its pictures are encoded (the next photo starts
        // meanwhile: the encoders run beside this thread).
        const { result, pictures } = await classifyPhoto(file, (early) => progress({ index, result: early, early: true }));
        encoding.push(pictures.then((p) => progress({ index, result: { ...result, ...p } }), fail));
      } catch (e) {
        fail(e);
      }
      await yieldNow(); // lets other messages and transfers through
    }
    await Promise.all(encoding);
    return { done: files.length };
  },
};

/** One photo: the module reads its header first (so the page accepts what
 * `fmnist predict` accepts, with the same messages), the browser decodes it,
 * the C pipeline makes the 28x28 input, the model answers, and the gradient
 * of its answer shows what it looked at. */
async function classifyPhoto(file, onVerdict = () => {}) {
  const { n, name } = await photoNet();
  performance.mark('fmnist-photo-start');
  const t0 = performance.now(); // decode + pipeline + model, as the user waits for it
  if (file.size > MAX_IMAGE_BYTES) throw new Error(`the file is ${(file.size / 2 ** 20).toFixed(0)} MB, over the ${MAX_IMAGE_BYTES / 2 ** 20} MB limit`);
  // Dimensions from the header before anything is decoded: a 20,000 x
  // 20,000 image is refused here, and formats the module does not read
  // (animated WebP, HEIC, ...) are refused with its message.
  const head = new Uint8Array(await file.slice(0, 1 << 20).arrayBuffer());
  fm.imageInfo(head);
  let bmp;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    throw new Error('the file is damaged: the browser could not decode it');
  }
  if (bmp.width * bmp.height > 64 * 2 ** 20) {
    bmp.close();
    throw new Error(`the image is ${bmp.width}x${bmp.height} pixels, over the limit of 64 megapixels`);
  }
  // Very large photos are scaled down by the browser first (the pipeline
  // works at 28x28; 1024 px keeps memory bounded).
  const { width, height } = bmp;
  const scale = Math.min(1, 1024 / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bmp, 0, 0, w, h);
  bmp.close();
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const { input, box, mask } = fm.photoToInput(rgba, w, h);
  const probs = Array.from(n.predictPhoto(rgba, w, h, input));
  const ms = performance.now() - t0;
  performance.mark('fmnist-photo-answer');
  const top = probs.map((p, i) => ({ index: i, label: CLASS_NAMES[i], p })).sort((a, b) => b.p - a.p).slice(0, 3);
  // The model's own verdict (its thresholds travel in the file): unsure,
  // and whether the photo is probably one of the ten at all.
  const { unsure, in_scope: inScope } = n.verdict(probs);
  onVerdict({ name: file.name, top, unsure, inScope, model: name, ms });
  // The crop the pipeline kept, as fractions of the photo (for display).
  const crop = [box[0] / w, box[1] / h, box[2] / w, box[3] / h];
  // A small JPEG of the photo for the page to show (the original may be
  // 12 megapixels; 150 of them would not fit in a phone's memory).
  const ts = Math.min(1, 320 / Math.max(w, h));
  const thumbCanvas = reusedCanvas('thumb', Math.max(1, Math.round(w * ts)), Math.max(1, Math.round(h * ts)));
  thumbCanvas.getContext('2d').drawImage(canvas, 0, 0, thumbCanvas.width, thumbCanvas.height);
  const thumbP = thumbCanvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 }); // encodes while the rest runs
  // The steps as small PNGs too, drawn here: the page only shows them (no
  // canvas work on its main thread, however many photos come at once).
  const saliency = saliencyMap(n, input, top[0].index);
  performance.mark('fmnist-photo-saliency');
  const pictures = Promise.all([thumbP,
    pngOf(mask.width, mask.height, (i, o) => o.fill(mask.data[i] ? 255 : 40, 0, 3)),
    pngOf(28, 28, (i, o) => o.fill(input[i], 0, 3)),
    pngOf(28, 28, (i, o) => heat(input[i], saliency[i], o))])
    .then(([thumb, maskPng, inputPng, saliencyPng]) => {
      performance.mark('fmnist-photo-thumb');
      return { thumb, maskPng, inputPng, saliencyPng };
    });
  return { result: { name: file.name, input, top, width, height, crop, mask, unsure, inScope, model: name, ms, saliency }, pictures };
}

/** One canvas per use, resized as needed: making a canvas and its context
 * for every picture of every photo cost more than drawing them. */
const canvases = {};
function reusedCanvas(key, w, h) {
  const c = (canvases[key] ??= new OffscreenCanvas(w, h));
  if (c.width !== w || c.height !== h) {
    c.width = w;
    c.height = h;
  }
  return c;
}

/** A PNG of w x h pixels; paint(i, rgba) writes pixel i's red, green, blue.
 * convertToBlob takes the pixels as they are when it is called, so the
 * canvas is free again at once. */
function pngOf(w, h, paint) {
  const c = reusedCanvas(`png${w}x${h}`, w, h), ctx = c.getContext('2d'), img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const o = img.data.subarray(i * 4, i * 4 + 4);
    paint(i, o);
    o[3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c.convertToBlob({ type: 'image/png' });
}

/** The saliency colours (as app.js's saliencyCanvas): the input dimmed, the
 * pixels that moved the answer most in yellow, less in red. */
function heat(v, s, o) {
  const g = 0.45 * v, a = Math.min(1, 1.3 * s);
  o[0] = g + (255 - g) * a;
  o[1] = g * (1 - a) + 230 * a * a;
  o[2] = g * (1 - a);
}

/** |gradient of the class's logit| per input pixel (computed in C), lightly
 * smoothed (3x3 mean: single-pixel gradients are speckled) and scaled to
 * 0..1 by its 99th percentile (a few extreme pixels would wash it out). */
function saliencyMap(n, pixels, cls = -1) {
  const { gradient } = n.saliency(pixels, cls);
  const abs = gradient.map(Math.abs), map = new Float32Array(784);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    let sum = 0, count = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy >= 0 && yy < 28 && xx >= 0 && xx < 28) sum += abs[yy * 28 + xx], count++;
    }
    map[y * 28 + x] = sum / count;
  }
  const ref = [...map].sort((a, b) => a - b)[Math.floor(0.99 * 783)] || 1;
  return map.map((v) => Math.min(1, v / ref));
}

function needModel() { if (!net) throw new Error('no model loaded'); }
/** The training set as IDX files again (header + bytes), for a helper worker. */
function trainFiles() {
  const n = train.count, images = new Uint8Array(16 + n * 784), labels = new Uint8Array(8 + n);
  const iv = new DataView(images.buffer), lv = new DataView(labels.buffer);
  iv.setUint32(0, 0x803), iv.setUint32(4, n), iv.setUint32(8, 28), iv.setUint32(12, 28);
  lv.setUint32(0, 0x801), lv.setUint32(4, n);
  images.set(train.images(0, n), 16);
  labels.set(train.labels(), 8);
  return { images, labels };
}

function needTest() { if (!test) throw new Error('the test set is not loaded yet'); }
function needTrain() { if (!train) throw new Error('the training set is not loaded yet'); }

function setModel(bytes, name) {
  const next = fm.loadNet(bytes); // throws on a bad file: the current model stays
  performance.mark('fmnist-model-ready');
  net?.free();
  net = next;
  modelName = name;
  lastEval = null;
  return modelInfo();
}

/** The network photos are classified with, and its name. */
async function photoNet() {
  if (photoModel) {
    if (!photoModel.net) photoModel.net = fm.loadNet(await fetchBytes(photoModel.url, () => {}));
    return { n: photoModel.net, name: photoModel.name };
  }
  needModel();
  return { n: net, name: modelName };
}

async function parseAll(got, nameOf, progress) {
  progress({ stage: 'parse' });
  const nextTrain = fm.parseDataset(got.trainImages, got.trainLabels, { imagesName: nameOf('trainImages'), labelsName: nameOf('trainLabels') });
  let nextTest;
  try {
    nextTest = fm.parseDataset(got.testImages, got.testLabels, { imagesName: nameOf('testImages'), labelsName: nameOf('testLabels') });
  } catch (e) {
    nextTrain.free();
    throw e;
  }
  train?.free();
  test?.free();
  train = nextTrain;
  test = nextTest;
  lastEval = null;
  return { train: train.count, test: test.count };
}

// Calls run one at a time on this queue; serial() puts work on it.
let queue = Promise.resolve();
function serial(fn) {
  const p = queue.then(fn);
  queue = p.catch(() => {});
  return p;
}
// Downloads run beside the queue (they join it to parse); `stop` must not
// wait behind the training call it stops.
const BESIDE = new Set(['stop', 'loadSplitUrls']);
// Work that starts as soon as the message arrives, before the call's turn:
// the model's download overlaps the module's.
const EAGER = {
  loadModelUrl: (args) => ({ ...args, bytes: fetchBytes(args.url, () => {}) }),
};

self.onmessage = (ev) => {
  const { id, method } = ev.data;
  let args = ev.data.args ?? {};
  if (EAGER[method]) {
    args = EAGER[method](args);
    args.bytes.catch(() => {}); // reported when the call runs
  }
  const run = async () => {
    try {
      if (!methods[method]) throw new Error(`unknown method ${method}`);
      if (method !== 'init' && !BESIDE.has(method) && !fm) await methods.init();
      const result = await methods[method](args, (p) => self.postMessage({ id, progress: p }));
      const transfer = result instanceof Uint8Array || result instanceof Float32Array ? [result.buffer]
        : [result?.vector?.buffer, result?.spare?.buffer].filter(Boolean);
      self.postMessage({ id, result }, transfer);
    } catch (e) {
      self.postMessage({ id, error: e.message || String(e) });
    }
  };
  if (BESIDE.has(method)) run();
  else serial(run);
};
