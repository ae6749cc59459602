// Trained models (every card in models/, NAME.json beside NAME.safetensors):
// each file matches its card (sha256), loads, and reproduces the card's test
// accuracy exactly in float32 (setExact: as training measured it); the
// default int16 inference changes at most 0.1% of the predictions and the
// accuracy by at most 0.05 points, with the same predictions from the wasm
// module and from the native build. models/index.json lists those the npm
// package ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fm, split } from './helpers.mjs';

const dir = new URL('../models/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8'));
const nativeEval = new URL('../build/native/fmnist-eval', import.meta.url).pathname;

const cards = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'index.json').map((f) => f.slice(0, -5));

test('models/index.json names a default model that exists, and only models with cards', () => {
  assert.ok(index.models.some((m) => m.file === index.default), `default ${index.default} not listed`);
  for (const m of index.models) assert.ok(cards.includes(m.name), `${m.name} has no card`);
});

for (const name of cards) {
  const entry = index.models.find((m) => m.name === name);
  test(`model ${name}: card, file and accuracy agree (wasm and native)`, async () => {
    const card = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8'));
    const bytes = readFileSync(new URL(card.file, dir));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), card.sha256, 'sha256 in the card');
    assert.equal(bytes.length, card.file_bytes);
    const m = await fm();
    const net = m.loadNet(bytes);
    assert.equal(net.spec, card.arch);
    assert.equal(net.paramCount, card.params);
    assert.equal(net.getMeta('tta') ?? 'none', card.test_time_views, 'test-time views in the card');
    if (card.test_time_views === 'shift') assert.equal(Number(net.getMeta('views_below') ?? 0.9), card.test_time_views_below ?? 0.9, 'their threshold');
    const test = await split('test');
    net.setExact(true);
    const exact = m.evaluate(net, test);
    const right = (e) => e.confusion.reduce((s, row, i) => s + row[i], 0);
    assert.equal(right(exact), card.test_correct, 'wasm in float32 reproduces the card accuracy exactly');
    assert.deepEqual(exact.confusion, card.confusion);
    if (entry) assert.equal(entry.test_accuracy, card.test_accuracy);
    net.setExact(false);
    const ev = m.evaluate(net, test);
    const correct = right(ev);
    const moved = ev.predictions.filter((p, i) => p !== exact.predictions[i]).length;
    assert.ok(moved <= test.count / 1000, `int16 inference changed ${moved} of ${test.count} predictions`);
    assert.ok(Math.abs(correct - card.test_correct) <= test.count / 2000, `int16 inference: ${correct} right, float32 ${card.test_correct}`);

    const r = spawnSync(nativeEval, [new URL(card.file, dir).pathname], { encoding: 'utf8', maxBuffer: 1 << 22 });
    assert.equal(r.status, 0, r.stderr);
    const native = JSON.parse(r.stdout);
    assert.equal(native.correct, correct, 'native reproduces the wasm accuracy');
    const wasmPreds = Array.from(ev.predictions).join('');
    const diff = [...wasmPreds].filter((c, i) => c !== native.predictions[i]).length;
    assert.equal(diff, 0, `${diff} predictions differ between the wasm and native builds`);
    net.free();
  });
}
