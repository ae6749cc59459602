// Training: determinism, a short real run that must reach a stated accuracy,
// divergence handling, and clear errors for bad specs and options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fm, split } from './helpers.mjs';

async function trainSteps(spec, seed, steps, opts = {}) {
  const m = await fm();
  const ds = await split('train');
  const net = m.createNet(spec, { seed });
  const tr = m.createTrainer(net, ds, { seed, limit: 64 * steps, ...opts });
  while (tr.step());
  tr.free();
  return net;
}

test('the same seed gives bit-identical weights; another seed does not', async () => {
  const spec = 'conv3x3:8,bn,relu,maxpool2,flatten,dropout:0.3,dense:10';
  const opts = { augment_shift: 2, augment_flip: 1, augment_erase: 0.5 };
  const a = await trainSteps(spec, 7, 12, opts), b = await trainSteps(spec, 7, 12, opts), c = await trainSteps(spec, 8, 12, opts);
  assert.deepEqual(a.params(), b.params());
  assert.deepEqual(a.save(), b.save());
  assert.notDeepEqual(a.params(), c.params());
  a.free(); b.free(); c.free();
});

test('the pair augmentation reaches the trainer: reproducible, and it changes what is learnt', async () => {
  const spec = 'conv3x3:8,relu,maxpool2,flatten,dense:10';
  const pairs = { augment_pair: 1 }; // nothing else draws from the augment stream
  const a = await trainSteps(spec, 7, 6, pairs), b = await trainSteps(spec, 7, 6, pairs);
  const none = await trainSteps(spec, 7, 6);
  assert.deepEqual(a.params(), b.params());
  assert.notDeepEqual(a.params(), none.params()); // 384 images hold some 40 sneakers
  a.free(); b.free(); none.free();
});

test('a short real run: mlp on 32,000 training images reaches >= 81% test accuracy', async () => {
  const m = await fm();
  const net = await trainSteps('mlp', 1, 500);
  const ev = m.evaluate(net, await split('test'));
  assert.ok(ev.accuracy >= 0.81, `test accuracy ${ev.accuracy}`);
  net.free();
});

test('a short real run: cnn-small on 6,400 images, sgd + nesterov + cosine, reaches >= 70%', async () => {
  const m = await fm();
  const net = await trainSteps('cnn-small', 2, 100, { optimizer: 'sgd', lr: 0.05, momentum: 0.9, nesterov: 1, schedule: 'cosine' });
  const ev = m.evaluate(net, await split('test'), { count: 2000 });
  assert.ok(ev.accuracy >= 0.70, `test accuracy ${ev.accuracy}`);
  net.free();
});

test('evaluation: confusion matrix, report and accuracy agree', async () => {
  const m = await fm();
  const net = await trainSteps('mlp', 3, 20);
  const ev = m.evaluate(net, await split('test'));
  const total = ev.confusion.flat().reduce((a, b) => a + b, 0);
  assert.equal(total, 10000);
  const diag = ev.confusion.reduce((s, row, i) => s + row[i], 0);
  assert.ok(Math.abs(ev.accuracy - diag / 10000) < 1e-6);
  for (let c = 0; c < 10; c++) {
    const tp = ev.confusion[c][c], row = ev.confusion[c].reduce((a, b) => a + b, 0);
    const col = ev.confusion.reduce((s, r) => s + r[c], 0);
    const p = col ? tp / col : 0, r = row ? tp / row : 0;
    assert.ok(Math.abs(ev.per_class[c].precision - p) < 1e-6);
    assert.ok(Math.abs(ev.per_class[c].recall - r) < 1e-6);
    assert.ok(Math.abs(ev.per_class[c].f1 - (p + r ? (2 * p * r) / (p + r) : 0)) < 1e-6);
    assert.equal(ev.per_class[c].support, 1000);
  }
  const preds = net.predict((await split('test')).images(0, 100));
  for (let i = 0; i < 100; i++) {
    const row = Array.from(preds.subarray(i * 10, i * 10 + 10));
    assert.equal(ev.predictions[i], row.indexOf(Math.max(...row)));
  }
  net.free();
});

test('a learning rate that makes the loss non-finite stops with a clear error and keeps the last good weights', async () => {
  const m = await fm();
  const ds = await split('train');
  const net = m.createNet('mlp', { seed: 1 });
  const tr = m.createTrainer(net, ds, { optimizer: 'sgd', lr: 1e6, momentum: 0, limit: 6400 });
  let before = net.params(), error;
  try {
    for (;;) {
      before = net.params();
      if (!tr.step()) break;
    }
  } catch (e) {
    error = e;
  }
  assert.match(String(error), /training diverged at epoch 1, batch \d+ .* the weights from before this step are kept/);
  const after = net.params();
  assert.deepEqual(after, before);
  assert.ok(after.every(Number.isFinite));
  tr.free(); net.free();
});

const badSpecs = [
  ['', /architecture spec is empty/],
  ['dense:10', /token 1 'dense:10': dense needs a flat input: add 'flatten' before it/],
  ['flatten,dense:0', /units must be an integer 1\.\.65536/],
  ['conv4x4:8,flatten,dense:10', /kernel must be square and odd/],
  ['conv3x5:8,flatten,dense:10', /kernel must be square and odd/],
  ['conv3x3:8,flatten,dense:11', /must end in a flat output of 10 classes/],
  ['flatten,dropout:1.5,dense:10', /probability must be a number in \[0, 1\)/],
  ['flatten,,dense:10', /empty module/],
  ['flatten,dense:10,', /empty module|trailing comma/],
  ['flatten,maxpool2,dense:10', /max-pooling needs a spatial input/],
  ['flatten,softmax,dense:10', /token 2 'softmax': unknown module/],
  ['conv3x3:4,add,flatten,dense:10', /token 2 'add': add has no skip before it/],
  ['conv3x3:4,skip,conv3x3:4,flatten,dense:10', /token 2 'skip' has no add after it/],
  ['conv3x3:4,skip,conv3x3:8,add,flatten,dense:10', /token 4 'add': the shortcut from token 2 is 4x28x28 but the input here is 8x28x28/],
  ['conv3x3:4,skip,maxpool2,add,flatten,dense:10', /shortcut from token 2 is 4x28x28 but the input here is 4x14x14/],
  ['flatten,' + 'relu,'.repeat(1_000_000) + 'dense:10', /architecture spec is too long|limit/],
  ['flatten,' + 'relu,'.repeat(300) + 'dense:10', /architecture has 302 modules, limit 256/],
  ['flatten,dense:65536,dense:65536,dense:10', /too large for a browser tab/],
];
for (const [spec, message] of badSpecs) {
  test(`spec '${spec.slice(0, 40)}${spec.length > 40 ? '...' : ''}' is refused: ${message.source.slice(0, 50)}`, async () => {
    const m = await fm();
    assert.throws(() => m.createNet(spec), message);
  });
}

test('bad training options are refused by name', async () => {
  const m = await fm();
  const ds = await split('test');
  const net = m.createNet('mlp');
  assert.throws(() => m.createTrainer(net, ds, { lr: -1 }), /training option lr: -1 is out of range/);
  assert.throws(() => m.createTrainer(net, ds, { batch: 1.5 }), /training option batch: 1\.5 is out of range \(an integer/);
  assert.throws(() => m.createTrainer(net, ds, { warp: 9 }), /unknown training option 'warp'/);
  assert.throws(() => m.createTrainer(net, ds, { holdout: 10000 }), /no training images left/);
  net.free();
});

test('a run resumed from a checkpoint (model + trainer state) continues bit-identically, mid-epoch too', async () => {
  const m = await fm();
  const ds = await split('train');
  const spec = 'conv3x3:4,bn,relu,maxpool2,flatten,dropout:0.3,dense:10';
  const opts = { seed: 9, limit: 64 * 7, epochs: 3, augment_shift: 1, augment_erase: 0.5, optimizer: 'adamw', weight_decay: 0.01, schedule: 'cosine' };
  const steps = (tr, n) => { for (let i = 0; i < n; i++) assert.ok(tr.step()); };

  const net = m.createNet(spec, { seed: 9 });
  const tr = m.createTrainer(net, ds, opts);
  steps(tr, 10); // epoch 1, batch 3 of 7
  const model = net.save(), state = tr.saveState();
  steps(tr, 8);
  const expected = net.params();

  const net2 = m.loadNet(model);
  const tr2 = m.createTrainer(net2, ds, opts);
  tr2.loadState(state);
  assert.equal(tr2.epoch, 1);
  steps(tr2, 8);
  assert.deepEqual(net2.params(), expected);

  assert.throws(() => tr2.loadState(state.subarray(0, 100)), /checkpoint: checkpoint is \d+ bytes, expected \d+/);
  const bad = new Uint8Array(state); bad[200] ^= 1;
  assert.throws(() => tr2.loadState(bad), /CRC mismatch/);
  const other = m.createTrainer(m.createNet('mlp'), ds, opts);
  assert.throws(() => other.loadState(state), /checkpoint is for a network of \d+ parameters/);
  [tr, tr2, other].forEach((t) => t.free());
  net.free(); net2.free();
});

test('ema: the finished model is the moving average of the weights, by the stated formula; training itself is unchanged', async () => {
  const m = await fm();
  const ds = await split('train');
  const spec = 'conv3x3:4,bn,relu,maxpool2,flatten,dense:10';
  const opts = { seed: 3, limit: 64 * 5, epochs: 2, optimizer: 'sgd', lr: 0.05, momentum: 0.9, augment_shift: 1 };
  const decay = 0.9;

  // Reference: the same run without an average, the average computed here in float32.
  const plain = m.createNet(spec, { seed: 3 });
  const trPlain = m.createTrainer(plain, ds, opts);
  const avg = Float32Array.from(plain.params());
  for (let t = 0; trPlain.step(); t++) {
    const d = Math.fround(Math.min(decay, (1 + t) / (10 + t))), w = Math.fround(1 - d), p = plain.params();
    for (let i = 0; i < avg.length; i++) avg[i] = Math.fround(avg[i] + Math.fround(w * Math.fround(p[i] - avg[i])));
  }

  const net = m.createNet(spec, { seed: 3 });
  const tr = m.createTrainer(net, ds, { ...opts, ema: decay });
  let steps = 0;
  while (tr.step()) {
    steps++;
    assert.equal(tr.averageInNet, steps === 10, 'the average is swapped in after the last step only');
  }
  assert.equal(steps, 10);
  assert.deepEqual(net.params(), avg);
  assert.notDeepEqual(net.params(), plain.params());
  tr.swapAverage();
  assert.equal(tr.averageInNet, false);
  assert.deepEqual(net.params(), plain.params(), 'the trained weights are those of the run without ema');
  tr.swapAverage();
  assert.deepEqual(net.params(), avg);

  const noAvg = m.createTrainer(m.createNet(spec), ds, opts);
  assert.throws(() => noAvg.swapAverage(), /keeps no average of the weights \(option ema is 0\)/);
  assert.throws(() => m.createTrainer(net, ds, { ema: 1 }), /training option ema: 1 is out of range/);
  [trPlain, tr, noAvg].forEach((t) => t.free());
  plain.free(); net.free();
});

// CRC-32 (IEEE), as the checkpoint format uses, to rewrite a state in the older layout.
function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

test('ema: a run resumed mid-epoch continues bit-identically, average included; states without an average still load', async () => {
  const m = await fm();
  const ds = await split('train');
  const spec = 'conv3x3:4,bn,relu,maxpool2,flatten,dense:10';
  const opts = { seed: 5, limit: 64 * 7, epochs: 2, optimizer: 'sgd', lr: 0.03, momentum: 0.9, nesterov: 1, ema: 0.95 };
  const steps = (tr, n) => { for (let i = 0; i < n; i++) assert.ok(tr.step()); };

  const net = m.createNet(spec, { seed: 5 });
  const tr = m.createTrainer(net, ds, opts);
  steps(tr, 9); // epoch 1, batch 2 of 7
  const model = net.save(), state = tr.saveState();
  steps(tr, 5);
  assert.equal(tr.step(), null);
  const expected = net.params();

  const net2 = m.loadNet(model);
  const tr2 = m.createTrainer(net2, ds, opts);
  tr2.loadState(state);
  tr2.swapAverage(); // validating the average mid-run does not change the run
  assert.ok(tr2.averageInNet);
  steps(tr2, 5);
  assert.equal(tr2.step(), null);
  assert.ok(tr2.averageInNet);
  assert.deepEqual(net2.params(), expected);

  const far = new Uint8Array(state), view = new DataView(far.buffer);
  view.setUint32(20, 0xffffffff, true); // batch position, with the checksum fixed up
  view.setUint32(far.length - 4, crc32(far.subarray(0, far.length - 4)), true);
  assert.throws(() => tr2.loadState(far), /checkpoint position \(batch 4294967295\) does not fit this dataset/);

  const plainOpts = { ...opts, ema: 0 };
  const withoutEma = m.createTrainer(m.loadNet(model), ds, plainOpts);
  assert.throws(() => withoutEma.loadState(state), /keeps an average of the weights: resume it with the same ema option/);

  // The older layout ("FMCKPT1", no flags, average or statistics count) of a run without ema.
  const net3 = m.createNet(spec, { seed: 5 }), tr3 = m.createTrainer(net3, ds, plainOpts);
  steps(tr3, 9);
  const model3 = net3.save(), v2 = tr3.saveState();
  steps(tr3, 5);
  const header = 72;
  const v1 = new Uint8Array(v2.length - 20);
  v1.set(v2.subarray(0, header));
  v1.set(v2.subarray(header + 20, v2.length - 4), header);
  v1.set(new TextEncoder().encode('FMCKPT1\n'));
  new DataView(v1.buffer).setUint32(v1.length - 4, crc32(v1.subarray(0, v1.length - 4)), true);
  const net4 = m.loadNet(model3), tr4 = m.createTrainer(net4, ds, plainOpts);
  tr4.loadState(v1);
  steps(tr4, 5);
  assert.deepEqual(net4.params(), net3.params());
  [tr, tr2, withoutEma, tr3, tr4].forEach((t) => t.free());
  [net, net2, net3, net4].forEach((n) => n.free());
});
