// Every input that once crashed a fuzz target (fuzz/regressions/TARGET/) is
// replayed through the same target under gcc's ASan + UBSan, together with
// the seed corpus the project generates, so fixed bugs stay fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const seeds = mkdtempSync(join(tmpdir(), 'fmnist-seeds-'));
const gen = spawnSync(process.execPath, [join(root, 'scripts/make-fuzz-seeds.mjs'), seeds], { encoding: 'utf8' });

for (const target of ['idx', 'safetensors', 'spec', 'image', 'mapping', 'state']) {
  test(`fuzz target ${target}: kept findings and seeds replay cleanly under ASan + UBSan`, () => {
    assert.equal(gen.status, 0, gen.stderr);
    const files = [];
    for (const dir of [join(root, 'fuzz/regressions', target), join(seeds, target)]) {
      if (existsSync(dir)) files.push(...readdirSync(dir).map((f) => join(dir, f)));
    }
    assert.ok(files.length > 0);
    const r = spawnSync(join(root, `build/fuzz/replay_${target}`), files, { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout.slice(-1000)}\n${r.stderr.slice(-3000)}`);
    assert.equal(r.stdout.trim().split('\n').length, files.length);
  });
}
