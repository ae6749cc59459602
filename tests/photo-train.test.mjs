// Training on real photos (src/data/photoset.c, the trainer's photo share,
// the partial-label loss) on photos the test makes itself: Fashion-MNIST test
// images rendered as product photos, in class folders as a user keeps them,
// next to broken files. Gradient checks of the loss are in tests/c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fm, split, encodePng, renderPhoto } from './helpers.mjs';
import { loadPhotoFolder } from '../js/node-data.mjs';

const CLI = new URL('../bin/fmnist.mjs', import.meta.url).pathname;
const run = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

// Folder -> allowed classes, as a user would write it for their own photos.
const MAPPING = {
  folders: { tops: ['T-shirt/top'], trousers: [1], footwear: ['Sandal', 'Sneaker', 'Ankle boot'], other: [] },
};
const FOLDER_OF = { 0: 'tops', 1: 'trousers', 5: 'footwear', 7: 'footwear', 9: 'footwear', 8: 'other' };

let fixture;
/** DIR/<folder>/<n>.png rendered from test images, plus broken entries. */
async function photoFolder() {
  if (fixture) return fixture;
  const ds = await split('test');
  const dir = mkdtempSync(join(tmpdir(), 'fmnist-photos-'));
  const labels = ds.labels();
  const per = {};
  for (let i = 0; i < 400 && Object.values(per).reduce((a, b) => a + b, 0) < 48; i++) {
    const folder = FOLDER_OF[labels[i]];
    if (!folder || (per[folder] ?? 0) >= 12) continue;
    per[folder] = (per[folder] ?? 0) + 1;
    mkdirSync(join(dir, folder), { recursive: true });
    const { rgba, W, H } = renderPhoto(ds.image(i), i);
    writeFileSync(join(dir, folder, `${String(i).padStart(4, '0')}.png`), encodePng(rgba, W, H, 4));
  }
  writeFileSync(join(dir, 'mapping.json'), JSON.stringify(MAPPING));
  // What people's folders also hold: a note, a truncated JPEG, an image
  // claiming 100 megapixels, an empty folder and one the mapping lacks.
  writeFileSync(join(dir, 'tops', 'notes.txt'), 'bought in 2019');
  writeFileSync(join(dir, 'trousers', 'cut.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0]));
  const huge = encodePng(new Uint8Array(4), 1, 1, 4);
  huge.writeUInt32BE(10000, 16); huge.writeUInt32BE(10000, 20); // IHDR width, height
  writeFileSync(join(dir, 'footwear', 'huge.png'), huge);
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'other-stuff'));
  writeFileSync(join(dir, 'other-stuff', 'x.png'), encodePng(new Uint8Array(4), 1, 1, 4));
  fixture = { dir, count: Object.values(per).reduce((a, b) => a + b, 0), per };
  return fixture;
}

test('a photo folder is read through the C pipeline; bad files and folders are named and left out', async () => {
  const m = await fm();
  const { dir, count, per } = await photoFolder();
  const skipped = [];
  const set = await loadPhotoFolder(m, dir, { onSkip: (p, why) => skipped.push([p, why]) });
  assert.equal(set.count, count);
  const why = Object.fromEntries(skipped.map(([p, w]) => [p.slice(dir.length + 1), w]));
  assert.match(why['tops/notes.txt'], /cannot read the image header|unknown image type/);
  assert.match(why['trousers/cut.jpg'], /cannot decode|corrupt|bad|image/i);
  assert.match(why['footwear/huge.png'], /10000x10000 pixels, over the limit/);
  assert.equal(why.empty, 'the mapping does not list this folder');
  assert.equal(why['other-stuff'], 'the mapping does not list this folder');
  // Sorted order, labels from the mapping, inputs as photoToInput makes them.
  const first = set.photo(0);
  assert.equal(first.folder, 'footwear');
  assert.deepEqual(first.classes, [5, 7, 9]);
  assert.deepEqual(set.photo(count - 1).classes, [1]);
  assert.deepEqual(set.folders.find((f) => f.name === 'other').classes, []);
  // Folds: stratified, disjoint, covering the set.
  const held = set.split(0, 3, true), rest = set.split(0, 3, false);
  assert.equal(held.count + rest.count, count);
  assert.equal(held.count, Object.values(per).reduce((a, n) => a + Math.ceil(n / 3), 0));
  assert.throws(() => set.split(3, 3, true), /fold 3 of 3 does not exist/);
  held.free(); rest.free();
  // Jittered training renders sit beside the plain inputs, which stay as they were.
  const jittered = await loadPhotoFolder(m, dir, { jitters: 2 });
  assert.equal(jittered.count, count);
  assert.equal(jittered.renders, 3 * count);
  assert.deepEqual(jittered.inputs(), set.inputs());
  assert.throws(() => jittered.setJitters(33), /jittered renders per photo must be 0\.\.32, not 33/);
  jittered.free(); set.free();
});

test('photo mapping errors say what is wrong', async () => {
  const m = await fm();
  const bad = [
    ['not json', /not a JSON object/],
    ['{"source": "x"}', /no "folders" object/],
    ['{"folders": {}}', /lists no folders/],
    ['{"folders": {"tops": "T-shirt/top"}}', /folder 'tops' needs a list of classes/],
    ['{"folders": {"tops": ["Tshirt"]}}', /folder 'tops': 'Tshirt' is not a class/],
    ['{"folders": {"tops": [10]}}', /folder 'tops': '10' is not a class/],
    ['{"folders": {"a": [0], "a": [1]}}', /folder 'a' is listed twice/],
  ];
  for (const [text, re] of bad) assert.throws(() => m.createPhotoSet(text), re, text);
  const set = m.createPhotoSet(MAPPING);
  assert.throws(() => set.addInput('hats', new Uint8Array(784)), /folder 'hats' is not in the photo mapping \(it knows tops, trousers, footwear, other\)/);
  assert.throws(() => set.addLabeled(new Uint8Array(784), [10]), /class 10 is not an index/);
  assert.throws(() => set.addInput('tops', new Uint8Array(10)), /784 bytes/);
  assert.equal(set.count, 0);
  set.free();
  const net = m.createNet('mlp'), ds = await split('test');
  assert.throws(() => m.createTrainer(net, ds, { photo_ratio: 0.5 }), /no photos to train on/);
  net.free();
});

test('training on photos mixed with Fashion-MNIST: the photos\' loss falls, runs resume exactly', async () => {
  const m = await fm();
  const { dir } = await photoFolder();
  // With jittered renders: the trainer draws among them, and a resume replays the draws.
  const set = await loadPhotoFolder(m, dir, { jitters: 2 });
  const ds = await split('test');
  const opts = { epochs: 6, batch: 32, lr: 2e-3, limit: 320, photo_ratio: 0.5, seed: 3, augment_photo: 0.3, photos: set };
  // The photos' own loss (their set's mass) under the current weights.
  const photoLoss = (net) => {
    const p = net.predict(set.inputs(), set.count);
    let loss = 0;
    for (let i = 0; i < set.count; i++) {
      const allowed = set.photo(i).classes, row = p.subarray(10 * i, 10 * i + 10);
      loss -= allowed.length ? Math.log(allowed.reduce((a, c) => a + row[c], 0)) : row.reduce((a, q) => a + Math.log(q), 0) / 10;
    }
    return loss / set.count;
  };
  const net = m.createNet('conv3x3:8,relu,maxpool2,flatten,dense:10', { seed: 1 });
  const before = photoLoss(net);
  const tr = m.createTrainer(net, ds, opts);
  let s, steps = 0, state, weights;
  while ((s = tr.step())) {
    if (++steps === 25) { state = tr.saveState(); weights = net.save(); }
    assert.ok(Number.isFinite(s.loss));
    assert.equal(s.images, 32);
  }
  assert.equal(steps, 6 * 20); // 320 Fashion-MNIST images, 16 per batch
  const after = photoLoss(net);
  assert.ok(after < 0.6 * before, `photo loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  // Resume from step 25: the photo order and augmentation are rebuilt exactly.
  const again = m.loadNet(weights);
  const tr2 = m.createTrainer(again, ds, opts);
  tr2.loadState(state);
  while (tr2.step());
  assert.deepEqual(again.params(), net.params());
  tr.free(); tr2.free(); net.free(); again.free(); set.free();
});

test('photo views: a photo unsure on its own is answered with its jittered renders, the same from a file as from a set', async () => {
  const m = await fm();
  const { dir } = await photoFolder();
  const set = await loadPhotoFolder(m, dir, { jitters: 3 }), plainSet = await loadPhotoFolder(m, dir);
  const net = m.createNet('conv3x3:8,relu,maxpool2,flatten,dense:10', { seed: 2 });
  const first = join(dir, 'footwear', readdirSync(join(dir, 'footwear')).filter((n) => n.endsWith('.png')).sort()[0]);
  const img = m.decodeImageRgba(readFileSync(first));
  const { input } = m.photoToInput(img.rgba, img.width, img.height);
  // Without photo views: the plain render's answer.
  assert.equal(net.photoViews, 0);
  assert.deepEqual(net.predictPhoto(img.rgba, img.width, img.height, input), net.predict(input));
  assert.deepEqual(net.predictPhotoSet(plainSet), net.predict(plainSet.inputs()));
  // With three, for every photo (threshold 1): the mean of four renders, the same
  // whether the renders come from the photo or from the set that keeps them.
  net.setMeta('photo_views', '3');
  net.setMeta('photo_views_below', '1');
  const one = net.predictPhoto(img.rgba, img.width, img.height, input), all = net.predictPhotoSet(set);
  assert.notDeepEqual(Array.from(one), Array.from(net.predict(input)));
  for (let c = 0; c < 10; c++) assert.ok(Math.abs(one[c] - all[c]) < 1e-6, `class ${c}: ${one[c]} vs ${all[c]}`);
  assert.ok(Math.abs(one.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  // A set without enough renders cannot give the model's answer; bad metadata is refused.
  assert.throws(() => net.predictPhotoSet(plainSet), /averages 3 photo views, but photo 0 of the set has 0 jittered renders/);
  assert.throws(() => net.setMeta('photo_views', '33'), /photo_views must be a whole number from 0 to 32/);
  assert.throws(() => net.setMeta('photo_views', '2.5'), /photo_views must be a whole number/);
  assert.throws(() => net.setMeta('photo_views_below', '3'), /photo_views_below must be a number from 0 to 1/);
  // Saved with the file.
  assert.equal(m.loadNet(net.save()).photoViews, 3);
  net.free(); set.free(); plainSet.free();
});

test('photos rendered at a larger side train a model of that side; its views match a photo\'s own', async () => {
  const m = await fm();
  const { dir } = await photoFolder();
  const set = await loadPhotoFolder(m, dir, { jitters: 2, side: 40 });
  assert.equal(set.side, 40);
  assert.equal(set.photo(0).input.length, 1600);
  assert.equal(set.inputs().length, set.count * 1600);
  // The set's plain render is the pipeline's render at 40 of the same file.
  const files = readdirSync(join(dir, 'footwear')).filter((n) => n.endsWith('.png')).sort();
  const img = m.decodeImageRgba(readFileSync(join(dir, 'footwear', files[0])));
  const { input } = m.photoToInput(img.rgba, img.width, img.height, { side: 40 });
  const first = set.folders.findIndex((f) => f.name === 'footwear');
  const idx = Array.from({ length: set.count }, (_, i) => i).find((i) => set.photo(i).folder === set.folders[first].name);
  assert.deepEqual(set.photo(idx).input, input);
  // Photos only (no Fashion-MNIST at 40x40): their loss falls.
  const net = m.createNet('conv3x3:8,relu,maxpool2,conv3x3:16,relu,maxpool2,flatten,dense:10', { seed: 1, side: 40 });
  const photoLoss = () => {
    const p = net.predict(set.inputs());
    let loss = 0;
    for (let i = 0; i < set.count; i++) {
      const allowed = set.photo(i).classes, row = p.subarray(10 * i, 10 * i + 10);
      loss -= allowed.length ? Math.log(allowed.reduce((a, c) => a + row[c], 0)) : row.reduce((a, q) => a + Math.log(q), 0) / 10;
    }
    return loss / set.count;
  };
  const before = photoLoss();
  const tr = m.createTrainer(net, null, { epochs: 30, batch: 16, lr: 2e-3, photo_ratio: 1, seed: 3, photos: set });
  while (tr.step());
  const after = photoLoss();
  assert.ok(after < 0.6 * before, `photo loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  // Photo views from the set's renders are the ones predictPhoto makes at the model's side.
  net.setMeta('photo_views', '2');
  net.setMeta('photo_views_below', '1');
  const one = net.predictPhoto(img.rgba, img.width, img.height, input), all = net.predictPhotoSet(set);
  for (let c = 0; c < 10; c++) assert.ok(Math.abs(one[c] - all[10 * idx + c]) < 1e-6, `class ${c}`);
  // A 28x28 model cannot train on, or answer, 40x40 renders; the side is set before photos.
  const small = m.createNet('mlp');
  assert.throws(() => m.createTrainer(small, null, { photo_ratio: 1, photos: set }), /photos are 40x40 but the network expects 784 inputs/);
  assert.throws(() => small.predictPhotoSet(set), /a photo set holds 40x40 renders, but this model takes 784 inputs/);
  assert.throws(() => set.setSide(28), /already holds 40x40 renders: set the side before adding photos/);
  assert.throws(() => set.addInput('tops', new Uint8Array(784)), /a photo input here is 1600 bytes \(40x40\)/);
  const fresh = m.createPhotoSet({ folders: { tops: ['T-shirt/top'] } });
  assert.throws(() => fresh.setSide(65), /render side must be 8 to 64 pixels, not 65/);
  tr.free(); net.free(); small.free(); set.free(); fresh.free();
});

test('fmnist-train --side: a native photo model of larger inputs, its cross-validation report as the module answers', async () => {
  const m = await fm();
  const { dir } = await photoFolder();
  const train = new URL('../build/native/fmnist-train', import.meta.url).pathname;
  const out = join(mkdtempSync(join(tmpdir(), 'fmnist-side-')), 'side40');
  const args = ['--side', '40', '--arch', 'conv3x3:8,relu,maxpool2,flatten,dense:10', '--photos', dir, '--photo-map', join(dir, 'mapping.json'),
    '--epochs', '2', '--batch', '16', '--lr', '0.01', '--seed', '5'];
  const r = spawnSync(train, [...args, '--photo-fold', '0/4', '--photo-report', `${out}.jsonl`, '--out', `${out}.safetensors`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const net = m.loadNet(readFileSync(`${out}.safetensors`));
  assert.equal(net.photoSide, 40);
  assert.equal(net.getMeta('test_accuracy'), null, 'no Fashion-MNIST test accuracy for a 40x40 model');
  // The held-out photos' probabilities: what the module gives for the same fold.
  const set = await loadPhotoFolder(m, dir, { side: 40 }), held = set.split(0, 4, true);
  const want = net.predictPhotoSet(held);
  const lines = readFileSync(`${out}.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, held.count);
  lines.forEach((l, i) => l.probabilities.forEach((p, c) => assert.ok(Math.abs(p - want[10 * i + c]) < 1e-4, `photo ${i} class ${c}`)));
  // What such a run cannot do is said, not attempted.
  const fail = (extra, re) => {
    const e = spawnSync(train, [...args, ...extra], { encoding: 'utf8' });
    assert.equal(e.status, 1);
    assert.match(e.stderr, re);
  };
  fail(['--photo-ratio', '0.5'], /--photo-ratio: below 1 needs Fashion-MNIST images, which are 28x28/);
  fail(['--holdout', '100'], /--holdout: needs Fashion-MNIST images/);
  fail(['--side', '70'], /--side: expects 8\.\.64 pixels/);
  fail(['--init', `${out}.safetensors`, '--side', '48'], /--side: differs from the model's own input side/);
  const noPhotos = spawnSync(train, ['--side', '40', '--epochs', '1'], { encoding: 'utf8' });
  assert.match(noPhotos.stderr, /trains on photos alone: give --photos DIR/);
  net.free(); set.free(); held.free();
});

test('a photo model says when a photo is none of the ten (verdict from its metadata)', async () => {
  const m = await fm();
  const net = m.createNet('mlp');
  const uniform = new Float32Array(10).fill(0.1), split3 = new Float32Array(10), sure = new Float32Array(10);
  split3[0] = split3[2] = split3[6] = 1 / 3;
  sure[4] = 0.9; sure[3] = 0.1;
  // Without scope_min (a Fashion-MNIST-only model) everything is in scope.
  assert.deepEqual([net.verdict(uniform).in_scope, net.verdict(uniform).unsure], [true, true]);
  net.setMeta('scope_min', '0.35');
  assert.equal(net.verdict(uniform).in_scope, false);
  assert.equal(net.verdict(split3).in_scope, true); // 1 - log 3 / log 10 = 0.52
  assert.equal(net.verdict(split3).unsure, true);
  assert.deepEqual(net.verdict(sure), { index: 4, label: 'Coat', confidence: sure[4], unsure: false, in_scope: true });
  net.setMeta('unsure_below', '0.3');
  assert.equal(net.verdict(split3).unsure, false);
  assert.throws(() => net.setMeta('scope_min', '1.5'), /scope_min must be a number from 0 to 1/);
  assert.throws(() => net.setMeta('unsure_below', 'high'), /unsure_below must be a number from 0 to 1/);
  // Saved and loaded with the file.
  const again = m.loadNet(net.save());
  assert.equal(again.verdict(uniform).in_scope, false);
  assert.equal(again.getMeta('scope_min'), '0.35');
  net.free(); again.free();
});

test('fmnist train --photos: the CLI contract', async () => {
  const { dir, count } = await photoFolder();
  const work = mkdtempSync(join(tmpdir(), 'fmnist-photo-cli-'));
  const out = join(work, 'p.safetensors');
  const r = run('train', '--arch', 'mlp', '--photos', dir, '--photo-ratio', '0.5', '--photo-jitters', '2', '--photo-balance', '1', '--limit', '256',
    '--epochs', '1', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.photos, count);
  assert.equal(res.photo_renders, 3 * count);
  assert.deepEqual(res.photos_left_out.map((x) => x.file.slice(dir.length + 1)).sort(),
    ['empty', 'footwear/huge.png', 'other-stuff', 'tops/notes.txt', 'trousers/cut.jpg']);
  assert.ok(existsSync(out));
  // Photo views saved in the file; predict answers with them.
  const v = run('views', '--model', out, '--photo-views', '2', '--photo-views-below', '0.95', '--json');
  assert.equal(v.status, 0, v.stderr);
  assert.deepEqual(JSON.parse(v.stdout), { model: out, views: 'none', views_below: 0.9, photo_views: 2, photo_views_below: 0.95, dtype: 'F32' });
  assert.equal(run('views', '--model', out, '--photo-views', '40').status, 2);
  // predict gives the verdict fields for every photo.
  const p = run('predict', '--model', out, '--json', join(dir, 'tops', readdirSync(join(dir, 'tops')).filter((n) => n.endsWith('.png')).sort()[0]));
  assert.equal(p.status, 0, p.stderr);
  const [one] = JSON.parse(p.stdout);
  for (const k of ['label', 'index', 'probabilities', 'unsure', 'in_scope']) assert.ok(k in one, k);
  assert.equal(typeof one.in_scope, 'boolean');
  // Bad flags and folders: one line, no model written.
  const bad = join(work, 'bad.safetensors');
  let e = run('train', '--arch', 'mlp', '--photos', join(work, 'nowhere'), '--out', bad);
  assert.equal(e.status, 1);
  assert.match(e.stderr, /^fmnist: cannot read the photo folder .*nowhere: no such folder\n$/);
  e = run('train', '--arch', 'mlp', '--photo-ratio', '0.5', '--out', bad);
  assert.equal(e.status, 2);
  assert.match(e.stderr, /--photo-ratio, --photo-balance, --photo-map and --photo-jitters need --photos DIR/);
  e = run('train', '--arch', 'mlp', '--photo-balance', '1', '--out', bad);
  assert.equal(e.status, 2);
  e = run('train', '--arch', 'mlp', '--photos', dir, '--photo-balance', '1.5', '--out', bad);
  assert.equal(e.status, 2);
  assert.match(e.stderr, /--photo-balance: '1\.5' is not a number >= 0 <= 1/);
  e = run('train', '--arch', 'mlp', '--photos', dir, '--photo-jitters', '33', '--out', bad);
  assert.equal(e.status, 2);
  assert.match(e.stderr, /--photo-jitters: '33' is not an integer >= 0 <= 32/);
  e = run('train', '--arch', 'mlp', '--photos', dir, '--photo-ratio', '2', '--out', bad);
  assert.equal(e.status, 2);
  const empty = mkdtempSync(join(tmpdir(), 'fmnist-nophotos-'));
  mkdirSync(join(empty, 'tops'));
  writeFileSync(join(empty, 'mapping.json'), JSON.stringify(MAPPING));
  e = run('train', '--arch', 'mlp', '--photos', empty, '--out', bad);
  assert.equal(e.status, 1);
  assert.match(e.stderr, /no photos in the folders the mapping lists/);
  writeFileSync(join(empty, 'mapping.json'), '{"folders": {"tops": ["Tshirt"]}}');
  e = run('train', '--arch', 'mlp', '--photos', empty, '--out', bad);
  assert.equal(e.status, 1);
  assert.match(e.stderr, /mapping\.json: photo mapping: folder 'tops': 'Tshirt' is not a class/);
  assert.ok(!existsSync(bad) && !existsSync(bad + '.tmp'));
  rmSync(work, { recursive: true }); rmSync(empty, { recursive: true });
});

test('photo_balance draws rare folders as often as common ones', async () => {
  const m = await fm();
  const ds = await split('test');
  const labels = ds.labels();
  const set = m.createPhotoSet({ folders: { many: ['T-shirt/top'], few: ['Trouser'] } });
  let many = 0, few = 0;
  for (let i = 0; i < labels.length && (many < 60 || few < 2); i++) {
    if (labels[i] === 0 && many < 60) set.addInput('many', ds.image(i)), many++;
    if (labels[i] === 1 && few < 2) set.addInput('few', ds.image(i)), few++;
  }
  const rare = [];
  for (let i = 0; i < set.count; i++) if (set.photo(i).folder === 'few') rare.push(set.photo(i).input);
  assert.equal(rare.length, 2);
  // Photos only; the rare photos' loss after the same number of steps.
  const rareLoss = (balance) => {
    const net = m.createNet('flatten,dense:10', { seed: 5 });
    const tr = m.createTrainer(net, ds, { epochs: 1, batch: 8, lr: 1e-3, photo_ratio: 1, photo_balance: balance, seed: 1, photos: set });
    for (let s = 0; s < 4 && tr.step(); s++);
    const p = net.predict(Uint8Array.from([...rare[0], ...rare[1]]), 2);
    tr.free(); net.free();
    return -(Math.log(p[1]) + Math.log(p[11])) / 2;
  };
  const plain = rareLoss(0), balanced = rareLoss(1);
  assert.ok(balanced < plain - 0.1, `rare folder loss: plain ${plain.toFixed(3)}, balanced ${balanced.toFixed(3)}`);
  assert.throws(() => m.createTrainer(m.createNet('mlp'), ds, { photo_ratio: 1, photo_balance: 2, photos: set }), /photo_balance: 2 is out of range/);
  set.free();
});

test('net.blend averages weights and batch-norm statistics (model soups); predictions follow', async () => {
  const m = await fm();
  const ds = await split('test');
  const spec = 'conv3x3:8,bn,relu,conv3x3:8,relu,maxpool2,flatten,dense:10';
  const a = m.createNet(spec, { seed: 1 }), b = m.createNet(spec, { seed: 2 });
  // Give b different batch-norm statistics: a few training steps.
  const tr = m.createTrainer(b, ds, { epochs: 1, limit: 64, batch: 32 });
  while (tr.step());
  tr.free();
  const before = a.predict(ds.images(0, 4), 4); // fills a's cached Winograd filters
  const pa = a.params(), pb = b.params();
  a.blend(b, 0.25);
  const pc = a.params();
  let worst = 0;
  for (let i = 0; i < pc.length; i++) worst = Math.max(worst, Math.abs(pc[i] - (0.75 * pa[i] + 0.25 * pb[i])));
  assert.ok(worst < 1e-6, `weights off by ${worst}`);
  const fresh = m.loadNet(a.save()); // running statistics travel in the file
  assert.deepEqual(a.predict(ds.images(0, 4), 4), fresh.predict(ds.images(0, 4), 4));
  assert.notDeepEqual(a.predict(ds.images(0, 4), 4), before);
  fresh.blend(b, 1); // all the way: b's weights and b's batch-norm statistics
  const pf = fresh.predict(ds.images(0, 4), 4), pbb = b.predict(ds.images(0, 4), 4);
  assert.ok(pf.every((p, i) => Math.abs(p - pbb[i]) < 1e-5), 'blend weight 1 gives the other network');
  const other = m.createNet('mlp');
  assert.throws(() => a.blend(other, 0.5), /cannot blend networks of different architectures/);
  assert.throws(() => a.blend(b, 1.5), /blend weight must be in \[0, 1\]/);
  [a, b, fresh, other].forEach((n) => n.free());
});
