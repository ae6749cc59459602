// bench/bench.mjs (`make bench`): training and inference speed of the two
// reference models in the wasm module (this Node process, one thread) and in
// the native build (1 and 2 threads), measured in one run, with GFLOP/s as a
// fraction of the machine's measured wasm SIMD128 peak.
import { spawnSync } from 'node:child_process';
import { loadFmnist } from '../js/fmnist.mjs';
import { dataDir, loadSplit } from '../js/node-data.mjs';
import { benchArch } from '../js/bench.mjs';

// One core's wasm SIMD128 f32 mul+add peak on this machine kind
// (../shared/docs/toolchain.md, measured with ../shared/anchors/peak.c).
const WASM_PEAK_GFLOPS = 53;
const ARCHS = ['mlp', 'cnn-small'];

const fm = await loadFmnist();
const train = await loadSplit(fm, dataDir(), 'train');
const rows = [];
for (const arch of ARCHS) rows.push({ build: 'wasm (Node, 1 thread)', name: arch, ...benchArch(fm, train, arch) });
for (const threads of [1, 2]) {
  const r = spawnSync(new URL('../build/native/fmnist-bench', import.meta.url).pathname, [...ARCHS, '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`native bench failed: ${r.stderr}`);
  for (const line of r.stdout.trim().split('\n')) {
    const j = JSON.parse(line);
    rows.push({ ...j, build: `native (${threads} thread${threads > 1 ? 's' : ''})`, name: j.arch, train_gflops: (j.train_images_per_sec * 6 * j.macs_per_image) / 1e9 });
  }
}
const pad = (s, n) => String(s).padStart(n);
console.log(`${'build'.padEnd(22)} ${'model'.padEnd(10)} ${pad('train img/s', 12)} ${pad('infer img/s', 12)} ${pad('latency ms', 11)} ${pad('train GFLOP/s', 14)}`);
for (const r of rows) {
  const frac = r.build.startsWith('wasm') ? ` (${Math.round((100 * r.train_gflops) / WASM_PEAK_GFLOPS)}% of peak)` : '';
  console.log(`${r.build.padEnd(22)} ${r.name.padEnd(10)} ${pad(Math.round(r.train_images_per_sec), 12)} ${pad(Math.round(r.infer_images_per_sec), 12)} ${pad(r.latency_ms.toFixed(3), 11)} ${pad(r.train_gflops.toFixed(1), 14)}${frac}`);
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
