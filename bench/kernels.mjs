// bench/kernels.mjs: runs the per-kernel benchmark (bench/kernels.c) as
// wasm SIMD128 under Node's WASI, and natively when that build exists.
//   node bench/kernels.mjs
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { WASI } from 'node:wasi';

const root = new URL('..', import.meta.url).pathname;
console.log('wasm SIMD128 (V8, one thread):');
const wasi = new WASI({ version: 'preview1', args: ['bench_kernels'], returnOnExit: true });
const { instance } = await WebAssembly.instantiate(await readFile(root + 'build/bench_kernels.wasm'),
  { wasi_snapshot_preview1: wasi.wasiImport, env: { emscripten_notify_memory_growth() {} } });
wasi.start(instance);
if (existsSync(root + 'build/native/bench_kernels')) {
  console.log('\nnative (SIMDe to SSE/AVX, one thread):');
  process.stdout.write(spawnSync(root + 'build/native/bench_kernels', { encoding: 'utf8' }).stdout);
}
