// bench/bench.mjs (`make bench`): our module against the peers, measured in
// one run on this machine: training and inference images/s and one-image
// latency of the two reference models, for our wasm module (in this Node
// process, one thread), our native build (1 and 2 threads), TensorFlow.js
// (wasm and cpu backends), ONNX Runtime Web, ConvNetJS, and PyTorch when
// Debian's python3-torch is installed. Ratios are ours (wasm) / peer.
// `node bench/bench.mjs --json` also prints the rows as JSON.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { loadFmnist } from '../js/fmnist.mjs';
import { dataDir, loadSplit } from '../js/node-data.mjs';
import { benchArch } from '../js/bench.mjs';

// One core's wasm SIMD128 f32 mul+add peak on this machine kind
// (../shared/docs/toolchain.md, measured with ../shared/anchors/peak.c).
const WASM_PEAK_GFLOPS = 53;
const ARCHS = ['mlp', 'cnn-small'];
const root = new URL('..', import.meta.url).pathname;
const rows = [];

// PyTorch runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset: some of
// these machines set them, and OpenBLAS is faster choosing for itself.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'].includes(k)));

function child(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: root, maxBuffer: 1 << 24, env });
  if (r.status !== 0) {
    console.error(`(skipped ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
    return [];
  }
  return r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

const fm = await loadFmnist();
const train = await loadSplit(fm, dataDir(), 'train');
for (const arch of ARCHS) {
  const r = benchArch(fm, train, arch);
  rows.push({ system: 'ours, wasm (1 thread)', arch, train: r.train_images_per_sec, infer: r.infer_images_per_sec, latency: r.latency_ms, gflops: r.train_gflops });
}
for (const threads of [1, 2]) {
  for (const j of child(`${root}build/native/fmnist-bench`, [...ARCHS, '--threads', String(threads)])) {
    rows.push({ system: `ours, native (${threads} thread${threads > 1 ? 's' : ''})`, arch: j.arch, train: j.train_images_per_sec, infer: j.infer_images_per_sec, latency: j.latency_ms });
  }
}
for (const arch of ARCHS) {
  for (const j of child(process.execPath, ['bench/peers/tfjs.mjs', arch])) {
    rows.push({ system: 'TensorFlow.js wasm (XNNPACK)', arch, infer: j.infer_wasm_images_per_sec, latency: j.latency_wasm_ms, note: 'cannot train a CNN' });
    rows.push({ system: 'TensorFlow.js cpu (JS)', arch, train: j.train_cpu_images_per_sec, infer: j.infer_cpu_images_per_sec, latency: j.latency_cpu_ms });
  }
}
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (hasTorch) {
  mkdirSync(`${root}build/bench`, { recursive: true });
  child('/usr/bin/python3', ['bench/peers/export_onnx.py', 'build/bench']);
  for (const arch of ARCHS) {
    if (existsSync(`${root}build/bench/${arch}.onnx`)) {
      for (const j of child(process.execPath, ['bench/peers/ort.mjs', arch, `build/bench/${arch}.onnx`])) {
        rows.push({ system: 'ONNX Runtime Web (wasm)', arch, infer: j.infer_wasm_images_per_sec, latency: j.latency_wasm_ms });
      }
    }
    for (const j of child('/usr/bin/python3', ['bench/peers/torch_bench.py', arch])) {
      rows.push({ system: `PyTorch ${j.peer.split('-')[1]} native (1 thread)`, arch, train: j.train_images_per_sec, infer: j.infer_images_per_sec, latency: j.latency_ms });
    }
  }
} else {
  console.error('(ONNX Runtime Web and PyTorch skipped: python3-torch is not installed; it exports the ONNX models)');
}
for (const j of child(process.execPath, ['bench/peers/convnetjs.mjs'])) {
  rows.push({ system: 'ConvNetJS (JS)', arch: 'cnn-small', train: j.train_images_per_sec, infer: j.infer_images_per_sec });
}

const fmt = (v, d = 0) => (v === undefined ? '–' : v.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a, b) => (a === undefined || b === undefined ? '' : ` (x${(a / b).toFixed(2)})`);
for (const arch of ARCHS) {
  const ours = rows.find((r) => r.arch === arch && r.system.startsWith('ours, wasm'));
  console.log(`\n${arch}: images/s and latency; (xN) = ours (wasm, 1 thread) / that system`);
  console.log(`${'system'.padEnd(32)} ${'train img/s'.padStart(20)} ${'inference img/s'.padStart(22)} ${'latency ms'.padStart(18)}`);
  for (const r of rows.filter((x) => x.arch === arch)) {
    const self = r === ours;
    console.log(`${r.system.padEnd(32)} ${(fmt(r.train) + (self ? '' : ratio(ours.train, r.train))).padStart(20)} ` +
      `${(fmt(r.infer) + (self ? '' : ratio(ours.infer, r.infer))).padStart(22)} ` +
      `${(fmt(r.latency, 3) + (self ? '' : ratio(r.latency, ours.latency))).padStart(18)}${r.note ? `  ${r.note}` : ''}`);
  }
  console.log(`ours, wasm: training at ${ours.gflops.toFixed(1)} GFLOP/s = ${Math.round((100 * ours.gflops) / WASM_PEAK_GFLOPS)}% of the ${WASM_PEAK_GFLOPS} GFLOP/s wasm SIMD128 peak of one core`);
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
