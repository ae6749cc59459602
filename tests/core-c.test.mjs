// The C numerical tests (tests/c/test_core.c: GEMM kernels vs the scalar
// reference, gradient checks of every layer, the loss and whole networks) in
// all three builds: wasm SIMD128 under Node's WASI, native through SIMDe, and
// native under AddressSanitizer + UndefinedBehaviorSanitizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const root = new URL('..', import.meta.url).pathname;

function checkOutput(out) {
  const failures = out.split('\n').filter((l) => l.startsWith('not ok'));
  assert.deepEqual(failures, []);
  const m = out.match(/^(\d+) passed, (\d+) failed$/m);
  assert.ok(m, 'summary line missing');
  assert.ok(Number(m[1]) >= 80, `only ${m[1]} C tests ran`);
  assert.equal(Number(m[2]), 0);
}

for (const [name, bin] of [['native', 'build/native/test_core'], ['native ASan+UBSan', 'build/native/test_core_asan']]) {
  test(`C core tests, ${name} build`, () => {
    const r = spawnSync(root + bin, { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
    assert.equal(r.error, undefined, `cannot run ${bin}: ${r.error}`);
    assert.equal(r.status, 0, r.stdout.slice(-2000) + r.stderr.slice(-4000));
    checkOutput(r.stdout);
  });
}

test('C core tests, wasm SIMD128 build (WASI)', async () => {
  const bytes = await readFile(root + 'build/test_core.wasm');
  // Capture stdout through a pipe-less path: WASI writes to fd 1, which we
  // redirect to a temporary file and read back.
  const { mkdtempSync, openSync, closeSync, readFileSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/fmnist-wasi-');
  const fd = openSync(`${dir}/out.txt`, 'w');
  const wasi = new WASI({ version: 'preview1', args: ['test_core'], stdout: fd, returnOnExit: true });
  const { instance } = await WebAssembly.instantiate(bytes, {
    wasi_snapshot_preview1: wasi.wasiImport,
    env: { emscripten_notify_memory_growth() {} },
  });
  const code = wasi.start(instance);
  closeSync(fd);
  const out = readFileSync(`${dir}/out.txt`, 'utf8');
  assert.equal(code, 0, out.slice(-2000));
  checkOutput(out);
});
