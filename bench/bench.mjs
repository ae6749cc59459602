// bench/bench.mjs (`make bench`): our module against the peers, measured in
// one run on this machine: training and inference images/s and one-image
// latency of the two reference models, for our wasm module (in this Node
// process, one thread), our native build (1 and 2 threads), TensorFlow.js
// (wasm and cpu backends), ONNX Runtime Web, ConvNetJS, and PyTorch when
// Debian's python3-torch is installed. Ratios are ours (wasm) / peer.
// These VMs change speed by up to 2x within minutes, so our module is
// measured again between the peers: each peer's ratio is against the mean of
// our rounds just before and just after it, and our row shows the median of
// all our rounds.
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
// Our rounds: rounds[i][arch]; a peer row remembers the round before it.
const rounds = [];
function oursRound() {
  rounds.push(Object.fromEntries(ARCHS.map((arch) => [arch, benchArch(fm, train, arch)])));
}
oursRound();
const push = (row) => rows.push({ ...row, after: rounds.length - 1 });
for (const threads of [1, 2]) {
  for (const j of child(`${root}build/native/fmnist-bench`, [...ARCHS, '--threads', String(threads)])) {
    push({ system: `ours, native (${threads} thread${threads > 1 ? 's' : ''})`, arch: j.arch, train: j.train_images_per_sec, infer: j.infer_images_per_sec, latency: j.latency_ms });
  }
}
oursRound();
for (const arch of ARCHS) {
  for (const j of child(process.execPath, ['bench/peers/tfjs.mjs', arch])) {
    push({ system: 'TensorFlow.js wasm (XNNPACK)', arch, infer: j.infer_wasm_images_per_sec, latency: j.latency_wasm_ms, note: 'cannot train a CNN' });
    push({ system: 'TensorFlow.js cpu (JS)', arch, train: j.train_cpu_images_per_sec, infer: j.infer_cpu_images_per_sec, latency: j.latency_cpu_ms });
  }
}
oursRound();
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (hasTorch) {
  mkdirSync(`${root}build/bench`, { recursive: true });
  child('/usr/bin/python3', ['bench/peers/export_onnx.py', 'build/bench']);
  for (const arch of ARCHS) {
    if (existsSync(`${root}build/bench/${arch}.onnx`)) {
      for (const j of child(process.execPath, ['bench/peers/ort.mjs', arch, `build/bench/${arch}.onnx`])) {
        push({ system: 'ONNX Runtime Web (wasm)', arch, infer: j.infer_wasm_images_per_sec, latency: j.latency_wasm_ms });
      }
    }
    oursRound();
    for (const j of child('/usr/bin/python3', ['bench/peers/torch_bench.py', arch])) {
      push({ system: `PyTorch ${j.peer.split('-')[1]} native (1 thread)`, arch, train: j.train_images_per_sec, infer: j.infer_images_per_sec, latency: j.latency_ms });
    }
    oursRound();
  }
} else {
  console.error('(ONNX Runtime Web and PyTorch skipped: python3-torch is not installed; it exports the ONNX models)');
}
for (const j of child(process.execPath, ['bench/peers/convnetjs.mjs'])) {
  push({ system: 'ConvNetJS (JS)', arch: 'cnn-small', train: j.train_images_per_sec, infer: j.infer_images_per_sec });
}
oursRound();

// Our row: the median of our rounds; a peer's ratio: against the mean of the
// rounds either side of it.
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const KEYS = { train: 'train_images_per_sec', infer: 'infer_images_per_sec', latency: 'latency_ms', gflops: 'train_gflops' };
for (const arch of ARCHS) {
  const of = (key) => rounds.map((r) => r[arch][KEYS[key]]);
  rows.unshift({ system: 'ours, wasm (1 thread)', arch, ...Object.fromEntries(Object.keys(KEYS).map((k) => [k, median(of(k))])),
    rounds: rounds.length });
}
const bracket = (r, key) => (rounds[r.after][r.arch][KEYS[key]] + rounds[r.after + 1][r.arch][KEYS[key]]) / 2;

const fmt = (v, d = 0) => (v === undefined ? '–' : v.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a, b) => (a === undefined || b === undefined ? '' : ` (x${(a / b).toFixed(2)})`);
for (const arch of ARCHS) {
  const ours = rows.find((r) => r.arch === arch && r.system.startsWith('ours, wasm'));
  console.log(`\n${arch}: images/s and latency; (xN) = ours (wasm, 1 thread) / that system`);
  console.log(`${'system'.padEnd(32)} ${'train img/s'.padStart(20)} ${'inference img/s'.padStart(22)} ${'latency ms'.padStart(18)}`);
  for (const r of rows.filter((x) => x.arch === arch)) {
    const self = r === ours;
    const vs = (key, inverse) => (self || r[key] === undefined ? '' : inverse ? ratio(r[key], bracket(r, key)) : ratio(bracket(r, key), r[key]));
    console.log(`${r.system.padEnd(32)} ${(fmt(r.train) + vs('train')).padStart(20)} ` +
      `${(fmt(r.infer) + vs('infer')).padStart(22)} ` +
      `${(fmt(r.latency, 3) + vs('latency', true)).padStart(18)}${r.note ? `  ${r.note}` : ''}`);
  }
  const spread = (key) => { const v = rounds.map((x) => x[arch][KEYS[key]]); return `${fmt(Math.min(...v))}-${fmt(Math.max(...v))}`; };
  console.log(`ours, wasm: the median of ${rounds.length} rounds between the peers (training ${spread('train')}, inference ${spread('infer')} images/s)`);
  console.log(`ours, wasm: training at ${ours.gflops.toFixed(1)} GFLOP/s = ${Math.round((100 * ours.gflops) / WASM_PEAK_GFLOPS)}% of the ${WASM_PEAK_GFLOPS} GFLOP/s wasm SIMD128 peak of one core`);
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
