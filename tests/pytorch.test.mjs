// Models go both ways between this project and PyTorch:
// - our model files load into PyTorch (strict load_state_dict into the
//   equivalent nn.Sequential) and give the same predictions as the wasm module;
// - a network trained in PyTorch and saved from its state_dict
//   (scripts/pytorch_save.py) loads into the wasm module and predicts the same;
// so the layouts, the batch-norm semantics and the normalisation really match.
// Needs Debian's python3-torch for /usr/bin/python3 (build.sh installs it):
// without it these tests fail, they are not skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fm, split } from './helpers.mjs';

const python = '/usr/bin/python3'; // Debian's, which python3-torch belongs to (not a pyenv python3 on PATH)
const loadScript = new URL('../scripts/pytorch_load.py', import.meta.url).pathname;
const saveScript = new URL('../scripts/pytorch_save.py', import.meta.url).pathname;
const SPECS = ['cnn-small', 'conv3x3:8,bn,relu,maxpool2,conv5x5:8,bn,relu,gap,flatten,dropout:0.2,dense:16,bn,relu,dense:10',
  // Residual blocks, one nested in another, on Winograd-sized planes.
  'conv3x3:8,bn,relu,skip,conv3x3:8,bn,relu,skip,conv3x3:8,bn,relu,add,conv3x3:8,bn,add,relu,maxpool2,flatten,dense:10'];

test('PyTorch is installed for /usr/bin/python3', () => {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `python3-torch is missing (./build.sh installs it): ${r.stderr || r.error}`);
});

/** PyTorch's predictions for the first n test images, from scripts/pytorch_load.py. */
function torchPredict(file, n) {
  const r = spawnSync(python, [loadScript, file, String(n)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Largest difference between PyTorch's and our probabilities, and our top classes. */
function compare(torch, ours, n) {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 10; c++) worst = Math.max(worst, Math.abs(torch.probabilities[i][c] - ours[i * 10 + c]));
  }
  const argmax = (i) => { const row = Array.from(ours.subarray(i * 10, i * 10 + 10)); return row.indexOf(Math.max(...row)); };
  return { worst, predictions: Array.from({ length: n }, (_, i) => argmax(i)) };
}

for (const spec of SPECS) {
  test(`PyTorch loads ${spec.slice(0, 40)} and predicts as the wasm module does`, async () => {
    const m = await fm();
    const net = m.createNet(spec, { seed: 4 });
    net.setExact(true); // float32 throughout, as PyTorch computes
    const tr = m.createTrainer(net, await split('train'), { limit: 640, seed: 4 }); // non-default BN statistics
    while (tr.step());
    tr.free();
    const file = join(mkdtempSync(join(tmpdir(), 'fmnist-pt-')), 'model.safetensors');
    writeFileSync(file, net.save());
    const torch = torchPredict(file, 200);
    const { worst, predictions } = compare(torch, net.predict((await split('test')).images(0, 200)), 200);
    assert.ok(worst < 1e-4, `largest probability difference ${worst}`);
    assert.deepEqual(torch.predictions, predictions);
    net.free();
  });

  test(`a ${spec.slice(0, 40)} trained in PyTorch loads here and predicts as PyTorch does`, async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fmnist-pt-')), 'from-torch.safetensors');
    const r = spawnSync(python, [saveScript, spec, file, '--steps', '40', '--count', '200', '--seed', '3'],
      { encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, r.stderr);
    const torch = JSON.parse(r.stdout);
    const m = await fm();
    const net = m.loadNet(readFileSync(file));
    net.setExact(true);
    assert.equal(net.spec, torch.arch);
    assert.equal(net.getMeta('format'), 'pt');
    // Trained: at least twice chance, so the comparison is of a real model's outputs.
    const labels = (await split('test')).labels(0, 200);
    const right = torch.predictions.filter((p, i) => p === labels[i]).length;
    assert.ok(right > 40, `PyTorch's model got ${right}/200 test images right`);
    const { worst, predictions } = compare(torch, net.predict((await split('test')).images(0, 200)), 200);
    assert.ok(worst < 1e-4, `largest probability difference ${worst}`);
    assert.deepEqual(predictions, torch.predictions);
    // Saved again from here, it keeps every weight.
    const again = m.loadNet(net.save());
    assert.deepEqual(again.params(), net.params());
    again.free();
    net.free();
  });
}

test('PyTorch loads a float16 model file and predicts as the wasm module does from the same file', async () => {
  const m = await fm();
  const net = m.createNet('conv3x3:8,bn,relu,skip,conv3x3:8,bn,relu,add,maxpool2,flatten,dense:10', { seed: 6 });
  const tr = m.createTrainer(net, await split('train'), { limit: 640, seed: 6 });
  while (tr.step());
  tr.free();
  const file = join(mkdtempSync(join(tmpdir(), 'fmnist-pt-')), 'model-f16.safetensors');
  const bytes = net.save({ dtype: 'F16' });
  writeFileSync(file, bytes);
  const torch = torchPredict(file, 200);
  const loaded = m.loadNet(bytes);
  loaded.setExact(true);
  const { worst, predictions } = compare(torch, loaded.predict((await split('test')).images(0, 200)), 200);
  assert.ok(worst < 1e-4, `largest probability difference ${worst}`);
  assert.deepEqual(torch.predictions, predictions);
  loaded.free(); net.free();
});

test('PyTorch loads the shipped default model and predicts as the wasm module does (image alone)', async () => {
  const index = JSON.parse(readFileSync(new URL('../models/index.json', import.meta.url), 'utf8'));
  const file = new URL(`../models/${index.default}`, import.meta.url).pathname;
  const torch = torchPredict(file, 1000);
  const m = await fm();
  const net = m.loadNet(readFileSync(file));
  net.setMeta('tta', 'none'); // PyTorch runs the network once per image
  const images = (await split('test')).images(0, 1000);
  net.setExact(true);
  const { worst, predictions } = compare(torch, net.predict(images), 1000);
  assert.ok(worst < 1e-4, `largest probability difference ${worst}`);
  assert.deepEqual(torch.predictions, predictions);
  // The default int16 inference: close, and at most one class in 1,000 moved.
  net.setExact(false);
  const q = compare(torch, net.predict(images), 1000);
  const moved = q.predictions.filter((p, i) => p !== torch.predictions[i]).length;
  assert.ok(q.worst < 2e-2 && moved <= 1, `int16: largest probability difference ${q.worst}, ${moved} classes differ`);
  net.free();
});

test('PyTorch measures the default model\'s test accuracy as its card states, with its test-time views and without', () => {
  const index = JSON.parse(readFileSync(new URL('../models/index.json', import.meta.url), 'utf8'));
  const card = JSON.parse(readFileSync(new URL(`../models/${index.default.replace(/\.safetensors$/, '.json')}`, import.meta.url), 'utf8'));
  const file = new URL(`../models/${index.default}`, import.meta.url).pathname;
  const r = spawnSync(python, [new URL('../scripts/pytorch_eval.py', import.meta.url).pathname, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const torch = JSON.parse(r.stdout);
  console.log(`# PyTorch on ${index.default}: ${JSON.stringify(torch)}`);
  assert.equal(torch.images, card.test_count);
  // Float32 in both, different summation orders: at most one image may fall the other way.
  const alone = card.single_view_accuracy ?? card.test_accuracy;
  assert.ok(Math.abs(torch.image_alone - alone) <= 1 / card.test_count, `image alone: PyTorch ${torch.image_alone}, card ${alone}`);
  if (card.test_time_views !== 'none') {
    assert.equal(torch.views, card.test_time_views);
    assert.ok(Math.abs(torch.with_views - card.test_accuracy) <= 1 / card.test_count,
      `with views: PyTorch ${torch.with_views}, card ${card.test_accuracy}`);
  }
});
