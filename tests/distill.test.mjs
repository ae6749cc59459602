// Knowledge distillation (training options distill + teacher): a student
// trained on a teacher's answers comes to answer as the teacher does; runs
// resume bit-identically with the teacher given again; data-parallel shards
// each ask the teacher about their own samples; clear errors. The loss's
// gradient is checked against finite differences in the C tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fm, idx, split } from './helpers.mjs';

const teacherBytes = readFileSync(new URL('../models/cnn-bn.safetensors', import.meta.url));

/** Share of n images whose top class in a and b agree. */
function agreement(a, b, n) {
  let same = 0;
  for (let i = 0; i < n; i++) {
    let ta = 0, tb = 0;
    for (let j = 1; j < 10; j++) {
      if (a[i * 10 + j] > a[i * 10 + ta]) ta = j;
      if (b[i * 10 + j] > b[i * 10 + tb]) tb = j;
    }
    same += ta === tb;
  }
  return same / n;
}

test('a student distilled from a teacher answers as the teacher does, not as the labels say', async () => {
  // The teacher learnt the wrong answers on purpose: trained on labels moved
  // to the next class (a T-shirt called "Trouser"). Distilled from it, the
  // student must follow it (so its targets come from the teacher, for the
  // right images); trained on the labels, the student must not.
  const m = await fm();
  const train = await split('train'), testSet = await split('test');
  const n = 2048, spec = 'conv3x3:8,relu,maxpool2,flatten,dense:10';
  const shifted = m.parseDataset(idx(3, [n, 28, 28], train.images(0, n)),
    idx(1, [n], train.labels(0, n).map((y) => (y + 1) % 10)));
  const teacher = m.createNet(spec, { seed: 1 });
  const trT = m.createTrainer(teacher, shifted, { seed: 1, epochs: 3, optimizer: 'adam', lr: 3e-3 });
  while (trT.step());
  const images = testSet.images(0, 1000), t = teacher.predict(images, 1000);
  const run = (distill) => {
    const net = m.createNet('mlp', { seed: 4 });
    const opts = { seed: 4, limit: n, epochs: 2, optimizer: 'adam', lr: 1e-3 };
    const tr = m.createTrainer(net, train, distill ? { ...opts, distill, teacher } : opts);
    while (tr.step());
    const r = agreement(t, net.predict(images, 1000), 1000);
    tr.free();
    net.free();
    return r;
  };
  const labels = run(0), distilled = run(1), half = run(0.5);
  console.log(`# top class as the shifted teacher's on 1,000 test images: trained on labels ${labels}, ` +
    `distilled ${distilled}, half of each ${half}`);
  assert.ok(labels < 0.15, `the label-trained student agrees with the shifted teacher on ${labels}`);
  assert.ok(distilled > 0.6, `the distilled student agrees with its teacher on only ${distilled}`);
  assert.ok(half > labels && half < distilled, `half of each: ${half}`);
  [trT, teacher, shifted].forEach((x) => x.free());
});

test('a distilled run resumed mid-epoch with its teacher given again continues bit-identically', async () => {
  const m = await fm();
  const ds = await split('train');
  const teacher = m.loadNet(teacherBytes);
  const spec = 'conv3x3:4,bn,relu,maxpool2,flatten,dense:10';
  const opts = { seed: 6, limit: 64 * 5, epochs: 2, optimizer: 'sgd', lr: 0.05, momentum: 0.9, augment_shift: 2, distill: 0.5 };
  const net = m.createNet(spec, { seed: 6 });
  const tr = m.createTrainer(net, ds, { ...opts, teacher });
  for (let i = 0; i < 7; i++) assert.ok(tr.step());
  const model = net.save(), state = tr.saveState();
  while (tr.step());
  const net2 = m.loadNet(model), tr2 = m.createTrainer(net2, ds, opts);
  tr2.loadState(state);
  assert.throws(() => tr2.step(), /option distill is 0\.5 but the trainer has no teacher/);
  tr2.setTeacher(teacher);
  while (tr2.step());
  assert.deepEqual(net2.params(), net.params());
  // The teacher changes the run (the same run without it differs).
  const net3 = m.createNet(spec, { seed: 6 }), tr3 = m.createTrainer(net3, ds, { ...opts, distill: 0 });
  while (tr3.step());
  assert.notDeepEqual(net3.params(), net.params());
  [tr, tr2, tr3].forEach((x) => x.free());
  [net, net2, net3, teacher].forEach((x) => x.free());
});

test('data-parallel shards each ask the teacher about their own samples: two shards match one trainer', async () => {
  const m = await fm();
  const ds = await split('train');
  const teacher = m.loadNet(teacherBytes);
  const spec = 'conv3x3:4,relu,maxpool2,flatten,dense:10'; // no batch norm: shards match up to rounding
  const opts = { seed: 2, batch: 32, limit: 32 * 6, optimizer: 'sgd', lr: 0.05, augment_shift: 2, distill: 0.8, teacher };
  const one = m.createNet(spec, { seed: 2 }), trOne = m.createTrainer(one, ds, opts);
  while (trOne.step());
  const nets = [0, 1].map(() => m.createNet(spec, { seed: 2 }));
  const trs = nets.map((net, shard) => m.createTrainer(net, ds, { ...opts, shard, shards: 2 }));
  while (trs.map((t) => t.step())[0]) {
    const vectors = trs.map((t) => t.exchangeVector());
    trs.forEach((t) => t.finish(vectors));
  }
  const a = one.params(), b = nets[0].params();
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  assert.ok(d < 1e-4, `weights differ from the single trainer by ${d}`);
  [trOne, ...trs].forEach((x) => x.free());
  [one, ...nets, teacher].forEach((x) => x.free());
});

test('distillation options are checked', async () => {
  const m = await fm();
  const ds = await split('train');
  const net = m.createNet('mlp');
  assert.throws(() => m.createTrainer(net, ds, { distill: 1.5 }), /training option distill: 1\.5 is out of range/);
  assert.throws(() => m.createTrainer(net, ds, { distill: 1, teacher: 'cnn-bn' }), /training option teacher: not a Net/);
  assert.throws(() => m.createTrainer(net, ds, { distill: 1, teacher: net }), /a network cannot be its own teacher/);
  const tr = m.createTrainer(net, ds, { limit: 64, distill: 1 });
  assert.throws(() => tr.step(), /has no teacher \(fm_trainer_set_teacher\)/);
  assert.throws(() => tr.setTeacher({}), /setTeacher: not a Net/);
  tr.free();
  net.free();
});
