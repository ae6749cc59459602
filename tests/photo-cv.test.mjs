// scripts/photo-cv.mjs, which sets a photo model's doubt thresholds from its
// cross-validation answers: on fold reports the test writes itself, the
// chosen thresholds keep every fold (not only the folds pooled) within the
// --max-flagged budget, and bad budgets are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = new URL('../scripts/photo-cv.mjs', import.meta.url).pathname;
const run = (...args) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });

/** Probabilities with the top class `c` at `peak`, the rest spread evenly. */
const probs = (c, peak) => Array.from({ length: 10 }, (_, k) => (k === c ? peak : (1 - peak) / 9));

/** Two folds of reports. Photos of the ten are confident (top 0.9), except
 * in fold 1, where 10 of 100 are vaguer (top 0.25) than the 30 vague photos
 * of none of the ten (top 0.3; their other 10 are sure, 0.9): no threshold
 * flags those hats without the vaguer photos of the ten, which are 5% of
 * the photos of the ten pooled and 10% of fold 1's. */
function writeFolds(dir) {
  const folds = [0, 1].map((k) => {
    const rows = [];
    for (let i = 0; i < 100; i++) {
      const vague = k === 1 && i < 10;
      rows.push({ folder: 't-shirt', allowed: 1, probabilities: probs(0, vague ? 0.25 : 0.9) });
    }
    for (let i = 0; i < 20; i++) rows.push({ folder: 'hat', allowed: 0, probabilities: probs(i % 10, i < 15 ? 0.3 : 0.9) });
    return rows;
  });
  return folds.map((rows, k) => {
    const file = join(dir, `fold${k}.jsonl`);
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return file;
  });
}

test('photo-cv.mjs: doubt thresholds keep every fold within the flagging budget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmnist-photo-cv-'));
  const files = writeFolds(dir);
  const measured = (budget) => {
    const out = join(dir, `cv-${budget}.json`);
    const r = run('--max-flagged', String(budget), '--json', out, ...files);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(readFileSync(out, 'utf8'));
  };
  // 10% per fold allows flagging fold 1's vaguer photos, and with them the
  // vague hats (75% of those); 8% per fold does not, though 5% pooled would.
  const loose = measured(0.1), tight = measured(0.08);
  assert.equal(loose.out_of_scope_flagged, 0.75);
  assert.equal(loose.in_scope_flagged, 0.05);
  assert.ok(Math.max(...loose.flagged_per_fold.map(([, others]) => others)) <= 0.1);
  assert.equal(tight.in_scope_flagged, 0);
  assert.equal(tight.out_of_scope_flagged, 0);
  assert.ok(Math.max(...tight.flagged_per_fold.map(([, others]) => others)) <= 0.08);
  assert.equal(tight.max_flagged_per_fold, 0.08);
});

test('photo-cv.mjs: a budget that is not a fraction is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmnist-photo-cv-'));
  const files = writeFolds(dir);
  for (const bad of ['1.5', '0', 'lots']) {
    const r = run('--max-flagged', bad, ...files);
    assert.equal(r.status, 2, `--max-flagged ${bad}`);
    assert.match(r.stderr, /--max-flagged .*: needs a fraction between 0 and 1/);
  }
});

test('photo-cv.mjs: balanced accuracy is the mean over folders, with the worst folder named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmnist-photo-cv-'));
  // 90 of 100 T-shirts right (top class 0, allowed), 1 of 4 coats (top class 6, allowed only 4).
  const rows = [
    ...Array.from({ length: 100 }, (_, i) => ({ folder: 't-shirt', allowed: 1, probabilities: probs(i < 90 ? 0 : 6, 0.9) })),
    ...Array.from({ length: 4 }, (_, i) => ({ folder: 'outwear', allowed: 1 << 4, probabilities: probs(i < 1 ? 4 : 6, 0.9) })),
  ];
  const files = [0, 1].map((k) => {
    const file = join(dir, `fold${k}.jsonl`);
    writeFileSync(file, rows.filter((_, i) => i % 2 === k).map((r) => JSON.stringify(r)).join('\n') + '\n');
    return file;
  });
  const out = join(dir, 'cv.json');
  const r = run('--json', out, ...files);
  assert.equal(r.status, 0, r.stderr);
  const cv = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(cv.balanced_accuracy, (0.9 + 0.25) / 2);
  assert.deepEqual(cv.worst_folder, { folder: 'outwear', accuracy: 0.25 });
  assert.match(r.stdout, /balanced \(mean over folders\) 57\.5%, worst outwear 25\.0%/);
});
