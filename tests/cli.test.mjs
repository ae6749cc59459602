// The fmnist command line: its contract (flags, --json shapes, exit codes,
// one-line errors) on the real dataset and on PNG files made here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fm, split, encodePng } from './helpers.mjs';

const bin = new URL('../bin/fmnist.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'fmnist-cli-'));
const run = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

function assertOneLineError(r, code, pattern) {
  assert.equal(r.status, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

test('help prints usage and exits 0', () => {
  const r = run('help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /usage: fmnist <command>/);
});

test('unknown commands and flags, bad values: exit 2 with one line on stderr', () => {
  assertOneLineError(run('fly'), 2, /^fmnist: unknown command 'fly'/);
  assertOneLineError(run('train', '--bogus'), 2, /^fmnist: Unknown option '--bogus'/);
  assertOneLineError(run('train', '--epochs', 'two'), 2, /^fmnist: --epochs: 'two' is not an integer >= 1/);
  assertOneLineError(run('train', '--optimizer', 'rmsprop'), 2, /^fmnist: --optimizer: 'rmsprop' is not one of adam, adamw, sgd/);
  assertOneLineError(run('predict'), 2, /^fmnist: predict needs at least one image file/);
  assertOneLineError(run('views', '--set', 'shift'), 2, /^fmnist: views: --model FILE is required/);
  assertOneLineError(run('views', '--model', 'm.safetensors', '--set', 'flip'), 2, /^fmnist: --set: 'flip' is not one of shift, mirror, none/);
  assertOneLineError(run('eval', '--views', 'all'), 2, /^fmnist: --views: 'all' is not one of shift, mirror, none/);
});

test('missing files and bad data: exit 1 with one line on stderr', () => {
  assertOneLineError(run('eval', '--model', join(dir, 'nope.safetensors')), 1, /^fmnist: cannot read model .*nope\.safetensors: no such file$/);
  writeFileSync(join(dir, 'junk.safetensors'), 'not a model at all');
  assertOneLineError(run('eval', '--model', join(dir, 'junk.safetensors')), 1, /^fmnist: .*junk\.safetensors: not a safetensors model/);
  assertOneLineError(run('train', '--data', dir, '--epochs', '1'), 1, /^fmnist: .*train-images-idx3-ubyte\[\.gz\] not found/);
  assertOneLineError(run('train', '--arch', 'dense:5'), 1, /^fmnist: architecture: .*dense needs a flat input/);
});

test('train --ema saves the average: the validation figure of every epoch is the saved model\'s, which eval reproduces', () => {
  const out = join(dir, 'mlp-ema.safetensors');
  const t = run('train', '--arch', 'mlp', '--limit', '3200', '--holdout', '1000', '--epochs', '2', '--ema', '0.99',
    '--out', out, '--json');
  assert.equal(t.status, 0, t.stderr);
  const tj = JSON.parse(t.stdout);
  assert.equal(tj.history.length, 2);
  const e = JSON.parse(run('eval', '--model', out, '--json').stdout);
  assert.ok(Math.abs(e.accuracy - tj.test_accuracy) < 1e-6, 'the model saved is the one measured');
  const plain = JSON.parse(run('train', '--arch', 'mlp', '--limit', '3200', '--holdout', '1000', '--epochs', '2',
    '--out', join(dir, 'mlp-plain.safetensors'), '--json').stdout);
  assert.notEqual(plain.test_accuracy, tj.test_accuracy, 'the average is not the trained weights');
  assertOneLineError(run('train', '--ema', '1'), 2, /^fmnist: --ema: '1' is not a number >= 0 <= 0\.99999/);
});

test('train --teacher FILE --distill A: the teacher is recorded; the two flags go together', () => {
  const out = join(dir, 'mlp-distilled.safetensors');
  const teacher = new URL('../models/cnn-small.safetensors', import.meta.url).pathname;
  const t = run('train', '--arch', 'mlp', '--limit', '640', '--teacher', teacher, '--distill', '0.5', '--out', out, '--json');
  assert.equal(t.status, 0, t.stderr);
  const j = JSON.parse(t.stdout);
  assert.ok(j.test_accuracy > 0.5, `test accuracy ${j.test_accuracy}`);
  const bytes = readFileSync(out), n = Number(bytes.readBigUInt64LE(0));
  const meta = JSON.parse(bytes.subarray(8, 8 + n).toString()).__metadata__;
  assert.equal(meta.teacher, 'cnn-small.safetensors');
  assert.equal(JSON.parse(meta.training).distill, 0.5);
  assertOneLineError(run('train', '--distill', '0.5'), 2, /^fmnist: --teacher FILE and --distill A \(above 0\) go together/);
  assertOneLineError(run('train', '--teacher', teacher), 2, /^fmnist: --teacher FILE and --distill A \(above 0\) go together/);
  assertOneLineError(run('train', '--teacher', teacher, '--distill', '2'), 2, /^fmnist: --distill: '2' is not a number >= 0 <= 1/);
  assertOneLineError(run('train', '--teacher', join(dir, 'none.safetensors'), '--distill', '1'), 1, /^fmnist: cannot read model .*none\.safetensors: no such file$/);
});

test('eval --holdout N measures the last N training images (the validation split), never the test set', async () => {
  const model = new URL('../models/cnn-small.safetensors', import.meta.url);
  const r = run('eval', '--model', model.pathname, '--holdout', '2000', '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.split, 'validation');
  assert.equal(j.images, 2000);
  assert.equal(j.confusion.flat().reduce((a, b) => a + b), 2000);
  const m = await fm(), trainSet = await split('train');
  const net = m.loadNet(readFileSync(model));
  assert.equal(j.accuracy, m.evaluate(net, trainSet, { start: trainSet.count - 2000 }).accuracy);
  net.free();
  assertOneLineError(run('eval', '--holdout', '60001'), 2, /^fmnist: --holdout 60001 is more than the 60000 training images/);
  assertOneLineError(run('eval', '--holdout', '0'), 2, /^fmnist: --holdout: '0' is not an integer >= 1/);
});

test('predict renders each photo at the side the model takes', async () => {
  const m = await fm();
  const ds = await split('test');
  const big = new Uint8Array(224 * 224), src = ds.image(1);
  for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) big[y * 224 + x] = 255 - src[(y >> 3) * 28 + (x >> 3)];
  const photo = join(dir, 'photo-side.png');
  writeFileSync(photo, encodePng(big, 224, 224));
  const net = m.createNet('conv3x3:4,relu,maxpool2,flatten,dense:10', { side: 48, seed: 2 });
  const model = join(dir, 'side48.safetensors');
  writeFileSync(model, net.save());
  const p = run('predict', '--model', model, '--json', photo);
  assert.equal(p.status, 0, p.stderr);
  const img = m.decodeImageRgba(readFileSync(photo));
  const want = Array.from(net.predict(m.photoToInput(img.rgba, img.width, img.height, { side: 48 }).input));
  JSON.parse(p.stdout)[0].probabilities.forEach((v, c) => assert.ok(Math.abs(v - want[c]) < 1e-5, `class ${c}`));
  const wide = m.createNet('flatten,dense:10', { side: 70 });
  writeFileSync(join(dir, 'side70.safetensors'), wide.save());
  assertOneLineError(run('predict', '--model', join(dir, 'side70.safetensors'), photo), 1,
    /photos are rendered as square gray images of 8 to 64 pixels, but this model takes 1x70x70/);
  net.free(); wide.free();
});

test('train --json, then eval --json and predict --json on the saved model', async () => {
  const out = join(dir, 'mlp.safetensors');
  const t = run('train', '--arch', 'mlp', '--limit', '6400', '--epochs', '2', '--seed', '4', '--out', out, '--json');
  assert.equal(t.status, 0, t.stderr);
  const tj = JSON.parse(t.stdout);
  assert.equal(tj.arch, 'flatten,dense:256,relu,dense:128,relu,dense:10');
  assert.equal(tj.epochs, 2);
  assert.equal(tj.history.length, 2);
  assert.ok(tj.seconds > 0 && tj.train_images_per_sec > 0);
  assert.ok(tj.test_accuracy > 0.7, `accuracy ${tj.test_accuracy}`);

  const e = run('eval', '--model', out, '--json');
  assert.equal(e.status, 0, e.stderr);
  const ej = JSON.parse(e.stdout);
  assert.ok(Math.abs(ej.accuracy - tj.test_accuracy) < 1e-6, 'eval reproduces the accuracy train reported');
  assert.equal(ej.confusion.length, 10);
  assert.equal(ej.per_class.length, 10);
  assert.deepEqual(Object.keys(ej.per_class[0]).sort(), ['f1', 'label', 'precision', 'recall', 'support']);
  assert.ok(ej.images_per_sec > 0);

  // PNG fixtures: three test images as they are, and one as a large "photo"
  // (upscaled 8x, inverted to a light background).
  const ds = await split('test');
  const files = [0, 1, 2].map((i) => {
    const f = join(dir, `test-${i}.png`);
    writeFileSync(f, encodePng(ds.image(i), 28, 28));
    return f;
  });
  const big = new Uint8Array(224 * 224), src = ds.image(0);
  for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) big[y * 224 + x] = 255 - src[(y >> 3) * 28 + (x >> 3)];
  files.push(join(dir, 'photo.png'));
  writeFileSync(files[3], encodePng(big, 224, 224));

  const p = run('predict', '--model', out, '--json', ...files);
  assert.equal(p.status, 0, p.stderr);
  const pj = JSON.parse(p.stdout);
  assert.equal(pj.length, 4);
  const m = await fm();
  const net = m.loadNet(readFileSync(out));
  for (let i = 0; i < 3; i++) {
    assert.equal(pj[i].file, files[i]);
    const probs = Array.from(net.predict(ds.image(i), 1));
    assert.equal(pj[i].index, probs.indexOf(Math.max(...probs)), 'same answer as the module on the raw image');
    assert.equal(pj[i].label, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'][pj[i].index]);
    assert.equal(pj[i].probabilities.length, 10);
    assert.ok(Math.abs(pj[i].probabilities.reduce((a, b) => a + b) - 1) < 1e-4);
  }
  assert.equal(pj[3].index, pj[0].index, 'the upscaled, inverted photo of image 0 gets the same class');
  net.free();

  // Test-time views: saved in the file, so eval and predict use them; eval
  // --views overrides them without changing the file.
  const shifted = join(dir, 'mlp-shift.safetensors');
  const v = run('views', '--model', out, '--set', 'shift', '--out', shifted, '--json');
  assert.equal(v.status, 0, v.stderr);
  assert.deepEqual(JSON.parse(v.stdout), { model: shifted, views: 'shift', views_below: 0.9, photo_views: 0, photo_views_below: 0.6, dtype: 'F32' });
  const viewed = m.loadNet(readFileSync(shifted));
  assert.equal(viewed.getMeta('tta'), 'shift');
  const es = JSON.parse(run('eval', '--model', shifted, '--json').stdout);
  assert.notEqual(es.accuracy, ej.accuracy, 'three views change some answers');
  const en = JSON.parse(run('eval', '--model', shifted, '--views', 'none', '--json').stdout);
  assert.equal(en.accuracy, ej.accuracy, '--views none is the image alone');
  // The views' threshold: at 0 no image is unsure enough to get them; --below saves one in the file.
  const e0 = JSON.parse(run('eval', '--model', shifted, '--views-below', '0', '--json').stdout);
  assert.equal(e0.views_below, 0);
  assert.equal(e0.accuracy, ej.accuracy, 'views below probability 0: never asked for');
  const low = join(dir, 'mlp-shift-low.safetensors');
  assert.deepEqual(JSON.parse(run('views', '--model', out, '--set', 'shift', '--below', '0.5', '--out', low, '--json').stdout),
    { model: low, views: 'shift', views_below: 0.5, photo_views: 0, photo_views_below: 0.6, dtype: 'F32' });
  assert.equal(m.loadNet(readFileSync(low)).getMeta('views_below'), '0.5');
  assertOneLineError(run('views', '--model', out, '--set', 'shift', '--below', '2'), 2, /^fmnist: --below must be a number from 0 to 1, not '2'/);
  assertOneLineError(run('eval', '--model', out, '--views-below', 'x'), 2, /^fmnist: --views-below must be a number from 0 to 1, not 'x'/);
  // The mirror follows the same threshold: under 0 it is never asked for,
  // under 1 it changes answers; eval names the set and its threshold.
  const em0 = JSON.parse(run('eval', '--model', out, '--views', 'mirror', '--views-below', '0', '--json').stdout);
  assert.equal(em0.accuracy, ej.accuracy, 'mirror views below probability 0: never asked for');
  const em1 = JSON.parse(run('eval', '--model', out, '--views', 'mirror', '--views-below', '1', '--json').stdout);
  assert.equal(em1.views, 'mirror');
  assert.notEqual(em1.accuracy, ej.accuracy, 'the mirror for every image changes some answers');
  assert.match(run('eval', '--model', out, '--views', 'mirror', '--views-below', '0.7').stdout, /, test-time views: mirror \(under 0\.7\)\n/);
  // --dtype F16 halves the file; the views stay, and it evaluates within a few images of float32.
  const half = join(dir, 'half.safetensors');
  assert.deepEqual(JSON.parse(run('views', '--model', shifted, '--set', 'shift', '--dtype', 'F16', '--out', half, '--json').stdout),
    { model: half, views: 'shift', views_below: 0.9, photo_views: 0, photo_views_below: 0.6, dtype: 'F16' });
  assert.ok(statSync(half).size < 0.55 * statSync(shifted).size);
  const eh = JSON.parse(run('eval', '--model', half, '--json').stdout);
  assert.equal(eh.views, 'shift');
  assert.ok(Math.abs(eh.accuracy - es.accuracy) <= 0.002, `float16 ${eh.accuracy} vs float32 ${es.accuracy}`);
  assertOneLineError(run('views', '--model', shifted, '--set', 'shift', '--dtype', 'F8'), 2, /^fmnist: views: --dtype must be F16 or F32, not 'F8'/);
  viewed.free();

  writeFileSync(join(dir, 'fake.png'), 'not an image, whatever its name says');
  assertOneLineError(run('predict', '--model', out, join(dir, 'fake.png')), 1, /fake\.png: cannot (decode image|read the image header): unknown image type/);
});

test('eval --exact gives the float32 figure of the model card; the default int16 inference stays within 0.05 points', () => {
  const model = new URL('../models/cnn-small.safetensors', import.meta.url).pathname;
  const card = JSON.parse(readFileSync(new URL('../models/cnn-small.json', import.meta.url), 'utf8'));
  const exact = run('eval', '--model', model, '--exact', '--json');
  assert.equal(exact.status, 0, exact.stderr);
  const ej = JSON.parse(exact.stdout);
  assert.equal(Math.round(ej.accuracy * 10000), card.test_correct);
  const q = run('eval', '--model', model, '--json');
  assert.equal(q.status, 0, q.stderr);
  assert.ok(Math.abs(JSON.parse(q.stdout).accuracy - ej.accuracy) <= 0.0005, 'int16 within 0.05 points');
});
