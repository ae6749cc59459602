// Our model files load into PyTorch (strict load_state_dict into the
// equivalent nn.Sequential) and give the same predictions as the wasm module:
// the layouts, the batch-norm semantics and the normalisation really match.
// Needs Debian's python3-torch (not a dependency of the project: ~1 GB);
// skipped, saying so, where it is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fm, split } from './helpers.mjs';

const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const script = new URL('../scripts/pytorch_load.py', import.meta.url).pathname;
const skip = hasTorch ? false : 'python3-torch is not installed (apt-get install python3-torch to run this check)';

for (const spec of ['cnn-small', 'conv3x3:8,bn,relu,maxpool2,conv5x5:8,bn,relu,gap,flatten,dropout:0.2,dense:16,bn,relu,dense:10']) {
  test(`PyTorch loads ${spec.slice(0, 40)} and predicts as the wasm module does`, { skip }, async () => {
    const m = await fm();
    const net = m.createNet(spec, { seed: 4 });
    const tr = m.createTrainer(net, await split('train'), { limit: 640, seed: 4 }); // non-default BN statistics
    while (tr.step());
    tr.free();
    const file = join(mkdtempSync(join(tmpdir(), 'fmnist-pt-')), 'model.safetensors');
    writeFileSync(file, net.save());
    const r = spawnSync(python, [script, file, '200'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, r.stderr);
    const torch = JSON.parse(r.stdout);
    const ours = net.predict((await split('test')).images(0, 200));
    let worst = 0;
    for (let i = 0; i < 200; i++) {
      for (let c = 0; c < 10; c++) worst = Math.max(worst, Math.abs(torch.probabilities[i][c] - ours[i * 10 + c]));
    }
    assert.ok(worst < 1e-4, `largest probability difference ${worst}`);
    const argmax = (i) => { const row = Array.from(ours.subarray(i * 10, i * 10 + 10)); return row.indexOf(Math.max(...row)); };
    assert.deepEqual(torch.predictions, Array.from({ length: 200 }, (_, i) => argmax(i)));
    net.free();
  });
}
