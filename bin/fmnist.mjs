#!/usr/bin/env node
// fmnist: the headless command line of the Fashion-MNIST wasm module.
//   fmnist train | eval | predict | views | bench   (fmnist help for the flags)
// Every command runs the same wasm module as the page; --json prints one
// JSON object on stdout; errors are one line on stderr and a non-zero exit.
import { rename, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadFmnist, CLASS_NAMES, FmnistError, MAX_IMAGE_BYTES, MAX_MODEL_BYTES } from '../js/fmnist.mjs';
import { dataDir, loadPhotoFolder, loadSplit, readInput } from '../js/node-data.mjs';
import { benchArch } from '../js/bench.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = join(ROOT, 'models');

const USAGE = `usage: fmnist <command> [flags]

commands:
  train    train a network on Fashion-MNIST and save it (safetensors)
  eval     evaluate a model on the official 10,000-image test set
  predict  classify photos (PNG, JPEG, GIF, BMP, WebP)
  views    set a model's test-time views (saved in the file)
  bench    training and inference speed of this machine

train flags:
  --arch NAME|SPEC     mlp, cnn-small, cnn-bn, cnn-res or a spec such as
                       "conv3x3:32,relu,maxpool2,flatten,dense:10" (default cnn-small)
  --epochs N           (default 1)          --batch N        (default 64)
  --lr X               (default 1e-3)       --optimizer adam|adamw|sgd (default adam)
  --momentum X         SGD momentum (0.9)   --nesterov       Nesterov momentum
  --weight-decay X     (default 0)          --schedule constant|cosine (default constant)
  --warmup-epochs X    linear warm-up       --min-lr X       cosine floor (default 0)
  --label-smoothing X  (default 0)          --seed N         (default 0)
  --augment-shift N    random shifts of up to N pixels
  --augment-flip       random horizontal flips
  --augment-erase P    random erasing with probability P
  --augment-photo P    photo-like distortions (rotation, scale, contrast, blur, noise) with probability P
  --augment-pair P     draw a sneaker as a pair of shoes with probability P
  --photos DIR         also train on real photos: DIR holds one folder per kind
                       (t-shirt/, shoes/, hat/, ...); see docs/photos.md
  --photo-ratio R      share of each batch taken from the photos (default 0.25)
  --photo-balance B    0: photos drawn as they come (default); 1: every folder
                       equally often (folders weighted by count^(1-B))
  --photo-map FILE     folder -> allowed classes (default DIR/mapping.json, else
                       photos/clothing-dataset-small.json)
  --photo-jitters N    also train on N renders of perturbed copies of each photo
                       (framing, resolution, light, colour, noise; default 0)
  --ema D              keep a moving average of the weights (decay D per step,
                       e.g. 0.999); the saved model and the figures are the average's
  --teacher FILE       distil that model into this one, with --distill A (0-1): each
  --distill A          image's target is (1 - A) x its label + A x the teacher's
                       answer for the same augmented image
  --init FILE          start from this model's weights (fine-tuning; --arch ignored)
  --limit N            train on the first N images only
  --holdout N          keep the last N training images out, for validation
  --data DIR           dataset directory (default $FASHION_MNIST_DIR or
                       /usr/share/datasets/fashion-mnist)
  --out FILE           where to save the model (default <arch>.safetensors)
eval flags:     --model FILE (default: the best model in models/)  --data DIR
                --views shift|mirror|none  override the model's test-time views
                --views-below P  override its shift views' threshold (0 to 1)
                --exact  float32 throughout (default: int16 multiplies in the 3x3
                         convolutions and dense layers, x1.15-1.33 faster; see
                         docs/performance.md)
                --holdout N  the last N training images instead of the test set: the
                         validation split of train --holdout N, for choosing views
                         and thresholds without looking at the test set
predict flags:  --model FILE (default: the photo model in models/, else the best model)  IMAGE...
                PNG, JPEG, GIF, BMP, WebP; --json gives label, index, probabilities, unsure, in_scope
views flags:    --model FILE  --set shift|mirror|none  [--out FILE (default: in place)]
                [--dtype F16|F32  store the weights as float16 (half the size) or float32]
                [--below P  views for images under P on their own (default 0.9; 1: all)]
                an image under P (--below) on its own is decided by the mean of it
                and, with shift, the image moved 1 pixel left and right, or, with
                mirror, its mirror image; none: the image alone
                [--photo-views N  a photo unsure on its own (under --photo-views-below P,
                default 0.6) is decided by the mean of it and N jittered renders]
bench flags:    --arch NAME (default cnn-small)  --data DIR
all commands:   --json (one JSON object on stdout)`;

class UsageError extends Error {}

const VIEWS = ['shift', 'mirror', 'none'];
const COMMON = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };
const FLAGS = {
  train: {
    arch: { type: 'string', default: 'cnn-small' }, epochs: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' }, lr: { type: 'string', default: '1e-3' },
    optimizer: { type: 'string', default: 'adam' }, momentum: { type: 'string' },
    nesterov: { type: 'boolean' }, 'weight-decay': { type: 'string' },
    schedule: { type: 'string', default: 'constant' }, 'warmup-epochs': { type: 'string' },
    'min-lr': { type: 'string' }, 'label-smoothing': { type: 'string' },
    seed: { type: 'string', default: '0' }, 'augment-shift': { type: 'string' },
    'augment-flip': { type: 'boolean' }, 'augment-erase': { type: 'string' }, 'augment-photo': { type: 'string' },
    'augment-pair': { type: 'string' }, ema: { type: 'string' },
    teacher: { type: 'string' }, distill: { type: 'string' },
    limit: { type: 'string' }, holdout: { type: 'string' },
    photos: { type: 'string' }, 'photo-ratio': { type: 'string' }, 'photo-balance': { type: 'string' }, 'photo-map': { type: 'string' }, 'photo-jitters': { type: 'string' },
    init: { type: 'string' },
    data: { type: 'string' }, out: { type: 'string' },
  },
  eval: { model: { type: 'string' }, data: { type: 'string' }, views: { type: 'string' }, 'views-below': { type: 'string' }, exact: { type: 'boolean' }, holdout: { type: 'string' } },
  views: { model: { type: 'string' }, set: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' }, below: { type: 'string' },
    'photo-views': { type: 'string' }, 'photo-views-below': { type: 'string' } },
  predict: { model: { type: 'string' } },
  bench: { arch: { type: 'string', default: 'cnn-small' }, data: { type: 'string' } },
};

function num(flags, name, { int = false, min = -Infinity, max = Infinity } = {}) {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min || v > max) {
    throw new UsageError(`--${name}: '${raw}' is not ${int ? 'an integer' : 'a number'}` +
      (min > -Infinity ? ` >= ${min}` : '') + (max < Infinity ? ` <= ${max}` : ''));
  }
  return v;
}

function choice(flags, name, options) {
  const v = flags[name];
  if (v !== undefined && !options.includes(v)) throw new UsageError(`--${name}: '${v}' is not one of ${options.join(', ')}`);
  return v;
}

/** The default model: models/index.json names it ("default"); for photos,
 * its "photo" model when it has one. */
function defaultModel(kind = 'default') {
  const index = join(MODELS, 'index.json');
  if (existsSync(index)) {
    const names = JSON.parse(readFileSync(index, 'utf8'));
    for (const file of [names[kind], names.default]) {
      if (file && existsSync(join(MODELS, file))) return join(MODELS, file);
    }
  }
  throw new FmnistError(`no --model given and no default model in ${MODELS} (train one: fmnist train --out FILE)`);
}

async function loadModel(fm, path, kind) {
  const file = path ?? defaultModel(kind);
  const bytes = await readInput(file, 'model', MAX_MODEL_BYTES);
  try {
    return { net: fm.loadNet(bytes), file };
  } catch (e) {
    throw new FmnistError(`${file}: ${e.message}`);
  }
}

// ---- progress on a terminal ----
const tty = process.stderr.isTTY;
let lastDraw = 0;
function progress(line, force = false) {
  if (!tty) return;
  const now = Date.now();
  if (!force && now - lastDraw < 100) return;
  lastDraw = now;
  process.stderr.write(`\r\x1b[K${line}`);
}
function progressDone() { if (tty) process.stderr.write('\r\x1b[K'); }
function say(json, line) { if (!json) process.stderr.write(line + '\n'); }

function fmtTime(s) {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

// ---- commands ----
async function train(fm, f) {
  const opts = {
    epochs: num(f, 'epochs', { int: true, min: 1 }), batch: num(f, 'batch', { int: true, min: 1, max: 4096 }),
    lr: num(f, 'lr', { min: 0 }), optimizer: choice(f, 'optimizer', ['adam', 'adamw', 'sgd']),
    momentum: num(f, 'momentum', { min: 0, max: 0.9999 }), nesterov: f.nesterov,
    weight_decay: num(f, 'weight-decay', { min: 0 }), schedule: choice(f, 'schedule', ['constant', 'cosine']),
    warmup_epochs: num(f, 'warmup-epochs', { min: 0 }), min_lr: num(f, 'min-lr', { min: 0 }),
    label_smoothing: num(f, 'label-smoothing', { min: 0, max: 0.99 }),
    seed: num(f, 'seed', { int: true, min: 0 }), augment_shift: num(f, 'augment-shift', { int: true, min: 0, max: 8 }),
    augment_flip: f['augment-flip'], augment_erase: num(f, 'augment-erase', { min: 0, max: 1 }),
    augment_photo: num(f, 'augment-photo', { min: 0, max: 1 }),
    augment_pair: num(f, 'augment-pair', { min: 0, max: 1 }),
    ema: num(f, 'ema', { min: 0, max: 0.99999 }),
    distill: num(f, 'distill', { min: 0, max: 1 }),
    limit: num(f, 'limit', { int: true, min: 1 }), holdout: num(f, 'holdout', { int: true, min: 0 }),
    photo_ratio: num(f, 'photo-ratio', { min: 0, max: 1 }),
    photo_balance: num(f, 'photo-balance', { min: 0, max: 1 }),
  };
  const jitters = num(f, 'photo-jitters', { int: true, min: 0, max: 32 });
  if ((opts.photo_ratio !== undefined || opts.photo_balance !== undefined || f['photo-map'] || jitters !== undefined) && !f.photos) {
    throw new UsageError('--photo-ratio, --photo-balance, --photo-map and --photo-jitters need --photos DIR');
  }
  if (!f.teacher !== !(opts.distill > 0)) throw new UsageError('--teacher FILE and --distill A (above 0) go together');
  const dir = dataDir(f.data);
  const [trainSet, testSet] = [await loadSplit(fm, dir, 'train'), await loadSplit(fm, dir, 'test')];
  let photos, skipped = [];
  if (f.photos) {
    photos = await loadPhotoFolder(fm, f.photos, {
      mapping: f['photo-map'], jitters,
      onSkip: (path, why) => { skipped.push({ file: path, reason: why }); say(f.json, `left out ${path}: ${why}`); },
      onProgress: (d, n) => progress(`reading photos ${d}/${n}`),
    });
    progressDone();
    opts.photo_ratio ??= 0.25;
    say(f.json, `photos: ${photos.count} from ${f.photos} (${skipped.length} left out)` +
      (jitters ? `, each with ${jitters} jittered renders` : '') + `, ${Math.round(100 * opts.photo_ratio)}% of each batch`);
  }
  const teacher = f.teacher ? (await loadModel(fm, f.teacher)).net : undefined;
  const net = f.init ? (await loadModel(fm, f.init)).net : fm.createNet(f.arch, { seed: opts.seed });
  const out = f.out ?? `${/^[\w-]+$/.test(f.arch) ? f.arch : 'model'}.safetensors`;
  say(f.json, `training ${net.spec} (${net.paramCount.toLocaleString('en')} parameters) for ${opts.epochs} epoch(s)`);
  if (teacher) say(f.json, `distilling ${basename(f.teacher)} (${teacher.spec}) into it, weight ${opts.distill}`);
  const trainer = fm.createTrainer(net, trainSet, { ...opts, photos, teacher });
  const history = [];
  const t0 = performance.now();
  let images = 0, trainSeconds = 0, info, epochLoss = 0, epochRight = 0, epochImages = 0;
  let tStep = performance.now();
  let stopped = false;
  process.once('SIGINT', () => { stopped = true; });
  while (!stopped && (info = trainer.step())) {
    const now = performance.now();
    trainSeconds += (now - tStep) / 1000;
    images += info.images;
    epochLoss += info.loss * info.images;
    epochRight += info.accuracy * info.images;
    epochImages += info.images;
    const rate = images / trainSeconds;
    const left = (opts.epochs * info.batchesPerEpoch - (info.epoch * info.batchesPerEpoch + info.batch + 1)) * (epochImages / (info.batch + 1)) / rate;
    progress(`epoch ${info.epoch + 1}/${opts.epochs} batch ${info.batch + 1}/${info.batchesPerEpoch} ` +
      `loss ${(epochLoss / epochImages).toFixed(4)} ${Math.round(rate)} images/s ETA ${fmtTime(left)}`);
    if (info.batch + 1 === info.batchesPerEpoch) {
      // With --ema the figures are the average's, the model that is saved.
      const swap = opts.ema > 0 && !trainer.averageInNet;
      if (swap) trainer.swapAverage();
      const ev = fm.evaluate(net, testSet);
      const rec = { epoch: info.epoch + 1, loss: epochLoss / epochImages, train_accuracy: epochRight / epochImages, test_accuracy: ev.accuracy };
      if (opts.holdout) rec.validation_accuracy = fm.evaluate(net, trainSet, { start: trainSet.count - opts.holdout }).accuracy;
      if (swap) trainer.swapAverage();
      history.push(rec);
      progressDone();
      say(f.json, `epoch ${rec.epoch}: loss ${rec.loss.toFixed(4)}, train accuracy ${(100 * rec.train_accuracy).toFixed(2)}%` +
        (rec.validation_accuracy !== undefined ? `, validation ${(100 * rec.validation_accuracy).toFixed(2)}%` : '') +
        `, test accuracy ${(100 * rec.test_accuracy).toFixed(2)}%`);
      epochLoss = epochRight = epochImages = 0;
    }
    tStep = performance.now();
  }
  progressDone();
  const seconds = (performance.now() - t0) / 1000;
  if (stopped) say(f.json, 'stopped: saving the model trained so far');
  if (opts.ema > 0 && !trainer.averageInNet) trainer.swapAverage();
  const testAccuracy = history.length ? history.at(-1).test_accuracy : fm.evaluate(net, testSet).accuracy;
  net.setMeta('test_accuracy', testAccuracy.toFixed(4));
  net.setMeta('epochs', String(history.length));
  net.setMeta('training', JSON.stringify(opts));
  if (photos) net.setMeta('photos', `${photos.count} photos from ${basename(f.photos)}`);
  if (teacher) net.setMeta('teacher', basename(f.teacher));
  await writeFile(out + '.tmp', net.save()); // never a half-written model under its name
  await rename(out + '.tmp', out);
  say(f.json, `saved ${out}; test accuracy ${(100 * testAccuracy).toFixed(2)}%, ${Math.round(images / trainSeconds)} images/s, ` +
    `${fmtTime(seconds)}, peak wasm memory ${(fm.x.memory.buffer.byteLength / 2 ** 20).toFixed(0)} MB`);
  return {
    arch: net.spec, epochs: history.length, seconds, train_images_per_sec: images / trainSeconds,
    test_accuracy: testAccuracy, history, out, params: net.paramCount, stopped,
    ...(photos ? { photos: photos.count, photo_renders: photos.renders, photos_left_out: skipped } : {}),
    // Wasm memory only grows: its size now is the run's peak (dataset bytes included).
    wasm_memory_bytes: fm.x.memory.buffer.byteLength,
  };
}

async function evaluate(fm, f) {
  const { net, file } = await loadModel(fm, f.model);
  if (choice(f, 'views', VIEWS)) net.setMeta('tta', f.views);
  if (f['views-below'] !== undefined) setViewsBelow(net, f['views-below'], '--views-below');
  if (f.exact) net.setExact(true);
  const holdout = num(f, 'holdout', { int: true, min: 1 });
  const data = await loadSplit(fm, dataDir(f.data), holdout ? 'train' : 'test');
  if (holdout > data.count) throw new UsageError(`--holdout ${holdout} is more than the ${data.count} training images`);
  const start = holdout ? data.count - holdout : 0, what = holdout ? 'validation (last training) images' : 'test images';
  const ev = fm.evaluate(net, data, { start, onProgress: (d, n) => progress(`evaluating ${d}/${n}`) });
  progressDone();
  if (!f.json) {
    const pad = (s, n) => String(s).padStart(n);
    const below = net.getMeta('views_below') ?? '0.9';
    const set = net.getMeta('tta') ?? 'none';
    const views = set !== 'none' ? `, test-time views: ${set} (under ${below})` : '';
    const lines = [`model ${file}: ${net.spec}${views}`, `accuracy ${(100 * ev.accuracy).toFixed(2)}% on ${data.count - start} ${what} ` +
      `(${Math.round(ev.images_per_sec)} images/s)`, '', 'confusion matrix (rows = true class, columns = predicted):'];
    lines.push(pad('', 12) + CLASS_NAMES.map((_, i) => pad(i, 5)).join(''));
    ev.confusion.forEach((row, i) => lines.push(pad(`${i} ${CLASS_NAMES[i]}`.slice(0, 12), 12) + row.map((v) => pad(v, 5)).join('')));
    lines.push('', `${pad('class', 12)} precision  recall      f1  support`);
    for (const c of [...ev.per_class, { label: 'macro avg', ...ev.macro }]) {
      lines.push(`${pad(c.label, 12)} ${pad(c.precision.toFixed(4), 9)} ${pad(c.recall.toFixed(4), 7)} ${pad(c.f1.toFixed(4), 7)} ${pad(c.support, 8)}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  }
  const { predictions, ...rest } = ev;
  return { model: file, arch: net.spec, split: holdout ? 'validation' : 'test', images: data.count - start,
    views: net.getMeta('tta') ?? 'none', views_below: Number(net.getMeta('views_below') ?? 0.9), ...rest };
}

/** Sets metadata "views_below" (the C predict functions read it) from a
 * flag's text, stored as given; the C side refuses anything but a plain
 * number from 0 to 1, and that refusal is the flag's error. */
function setViewsBelow(net, text, flag) {
  try {
    net.setMeta('views_below', text);
  } catch {
    throw new UsageError(`${flag} must be a number from 0 to 1, not '${text}'`);
  }
}

async function predict(fm, f, files) {
  if (!files.length) throw new UsageError('predict needs at least one image file');
  const { net } = await loadModel(fm, f.model, 'photo');
  const results = [];
  for (const file of files) {
    const bytes = await readInput(file, 'image', MAX_IMAGE_BYTES);
    let probs, box;
    try {
      const img = fm.decodeImageRgba(bytes);
      const made = fm.photoToInput(img.rgba, img.width, img.height, { side: net.photoSide });
      box = made.box;
      probs = Array.from(net.predictPhoto(img.rgba, img.width, img.height, made.input));
    } catch (e) {
      throw new FmnistError(`${file}: ${e.message}`);
    }
    const { index, unsure, in_scope } = net.verdict(probs);
    results.push({ file, label: CLASS_NAMES[index], index, unsure, in_scope, probabilities: probs, crop: box });
    if (!f.json) {
      const top = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
      const verdict = !in_scope ? 'probably none of the ten, closest ' : unsure ? 'not sure, maybe ' : '';
      process.stdout.write(`${basename(file)}: ${verdict}${CLASS_NAMES[index]} (` +
        top.map(([p, i]) => `${CLASS_NAMES[i]} ${(100 * p).toFixed(1)}%`).join(', ') + ')\n');
    }
  }
  return results;
}

/** 'F16' when a safetensors file's weights are float16, else 'F32' (from
 * its JSON header: 8 bytes of length, then the header). */
function weightDtype(bytes) {
  const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  return Object.values(header).some((t) => t?.dtype === 'F16') ? 'F16' : 'F32';
}

/** Sets the test-time views a model is run with (metadata "tta", read by
 * the C predict functions) and saves it. */
async function views(fm, f) {
  if (!f.model) throw new UsageError('views: --model FILE is required');
  const photoViews = num(f, 'photo-views', { int: true, min: 0, max: 32 });
  const photoBelow = num(f, 'photo-views-below', { min: 0, max: 1 });
  if (!choice(f, 'set', VIEWS) && photoViews === undefined && photoBelow === undefined) {
    throw new UsageError(`views: --set ${VIEWS.join('|')} or --photo-views N is required`);
  }
  if (f.dtype !== undefined && !['F16', 'F32'].includes(f.dtype)) throw new UsageError(`views: --dtype must be F16 or F32, not '${f.dtype}'`);
  const { net, file } = await loadModel(fm, f.model);
  if (f.set) net.setMeta('tta', f.set);
  if (f.below !== undefined) setViewsBelow(net, f.below, '--below');
  if (photoViews !== undefined) net.setMeta('photo_views', String(photoViews));
  if (photoBelow !== undefined) net.setMeta('photo_views_below', f['photo-views-below']);
  const out = f.out ?? file;
  const bytes = net.save({ dtype: f.dtype });
  await writeFile(out, bytes);
  const dtype = weightDtype(bytes);
  const below = net.getMeta('views_below') ?? '0.9', set = net.getMeta('tta') ?? 'none';
  const photoUnder = Number(net.getMeta('photo_views_below') ?? 0.6);
  say(f.json, `${out}: test-time views ${set}${set !== 'none' ? ` (under ${below})` : ''}, ` +
    `photo views ${net.photoViews}${net.photoViews ? ` (under ${photoUnder})` : ''}, ${dtype} weights`);
  return { model: out, views: set, views_below: Number(below), photo_views: net.photoViews, photo_views_below: photoUnder, dtype };
}

async function bench(fm, f) {
  const trainSet = await loadSplit(fm, dataDir(f.data), 'train');
  const r = benchArch(fm, trainSet, f.arch);
  if (!f.json) {
    process.stdout.write(`${f.arch}: train ${Math.round(r.train_images_per_sec)} images/s (batch 64), ` +
      `inference ${Math.round(r.infer_images_per_sec)} images/s (batch 256), latency ${r.latency_ms.toFixed(3)} ms (1 image)\n`);
  }
  return r;
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!FLAGS[cmd]) throw new UsageError(`unknown command '${cmd}' (expected train, eval, predict, views or bench)`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON, ...FLAGS[cmd] }, allowPositionals: cmd === 'predict', strict: true });
  } catch (e) {
    throw new UsageError(e.message.split('\n')[0]);
  }
  const f = parsed.values;
  if (f.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const fm = await loadFmnist();
  const result = cmd === 'train' ? await train(fm, f)
    : cmd === 'eval' ? await evaluate(fm, f)
      : cmd === 'predict' ? await predict(fm, f, parsed.positionals)
        : cmd === 'views' ? await views(fm, f)
          : await bench(fm, f);
  if (f.json) process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  progressDone();
  const known = e instanceof UsageError || e instanceof FmnistError;
  process.stderr.write(`fmnist: ${known ? e.message : (e.stack || e)}${e instanceof UsageError ? ' (see fmnist help)' : ''}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
