// Data-parallel training: trainers that each compute a shard of every batch
// and exchange gradients (as the page's two Web Workers do) stay identical to
// each other, and match one trainer up to float rounding for networks
// without batch norm and dropout. Separate module instances stand in for
// the workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFmnist } from '../js/fmnist.mjs';
import { loadSplit, DEFAULT_DATA_DIR } from '../js/node-data.mjs';

const options = { batch: 32, epochs: 1, limit: 320, optimizer: 'sgd', lr: 0.05, momentum: 0.9, seed: 5, augmentShift: 2, augmentFlip: true };

async function worker(arch, extra) {
  const fm = await loadFmnist();
  const train = await loadSplit(fm, DEFAULT_DATA_DIR, 'train');
  const net = fm.createNet(arch, { seed: 3 });
  const cfg = Object.fromEntries(Object.entries({ ...options, ...extra }).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), v]));
  return { fm, net, trainer: fm.createTrainer(net, train, cfg) };
}

/** Runs every step with `shards` workers; returns their parameters. */
async function runSharded(arch, shards) {
  const ws = [];
  for (let s = 0; s < shards; s++) ws.push(await worker(arch, { shard: s, shards }));
  let losses = 0;
  for (;;) {
    const infos = ws.map((w) => w.trainer.step());
    if (!infos[0]) break;
    assert.ok(infos.every((i) => i.pending), 'a shard step waits for the exchange');
    const vectors = ws.map((w) => w.trainer.exchangeVector());
    for (const w of ws) w.trainer.finish(vectors);
    losses += infos.reduce((a, i) => a + i.loss * i.images, 0);
  }
  return { params: ws.map((w) => w.net.params()), buffers: ws.map((w) => w.net.save()), losses };
}

function maxDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('two shards match one trainer up to rounding (cnn-small, 10 steps)', async () => {
  const one = await worker('cnn-small', {});
  let losses = 0, info;
  while ((info = one.trainer.step())) losses += info.loss * info.images;
  const two = await runSharded('cnn-small', 2);
  assert.equal(maxDiff(two.params[0], two.params[1]), 0, 'shards hold identical weights');
  const d = maxDiff(one.net.params(), two.params[0]);
  assert.ok(d < 1e-4 && d >= 0, `weights differ from the single trainer by ${d}`);
  console.log(`# max weight difference, 1 vs 2 shards after 10 steps: ${d}`);
  assert.ok(Math.abs(losses - two.losses) / losses < 1e-3, `loss sums ${losses} vs ${two.losses}`);
});

test('shards with batch norm and dropout stay identical to each other', async () => {
  const r = await runSharded('conv3x3:8,bn,relu,maxpool2,flatten,dropout:0.3,dense:16,bn,relu,dense:10', 2);
  assert.equal(maxDiff(r.params[0], r.params[1]), 0);
  assert.deepEqual(r.buffers[0], r.buffers[1], 'same running statistics: the saved files are identical');
});

test('a shard step must be finished before the next one', async () => {
  const w = await worker('mlp', { shard: 1, shards: 2 });
  assert.ok(w.trainer.step().pending);
  assert.throws(() => w.trainer.step(), /waiting for its exchange/);
  assert.throws(() => w.trainer.saveState(), /middle of a data-parallel step/);
  assert.throws(() => w.trainer.finish([w.trainer.exchangeVector()]), /1 of 2 shards/);
  await assert.rejects(worker('mlp', { shard: 2, shards: 2 }), /shard 2 of 2 does not exist/);
});
