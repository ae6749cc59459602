// ONNX Runtime Web 1.30 (wasm SIMD, 1 thread) inference on the reference
// models exported from PyTorch by bench/peers/export_onnx.py.
// usage: node ort.mjs <cnn-small|mlp> ONNX_FILE   -> one JSON line
import fs from 'node:fs';
import * as ort from 'onnxruntime-web';
import { test, toFloat, now } from './common.mjs';

const [arch = 'cnn-small', file] = process.argv.slice(2);
ort.env.wasm.numThreads = 1;
const x = toFloat(test.px, 10000);
const s = await ort.InferenceSession.create(fs.readFileSync(file), { executionProviders: ['wasm'] });
const run = async (off, n) => (await s.run({ x: new ort.Tensor('float32', x.subarray(off * 784, (off + n) * 784), [n, 1, 28, 28]) })).p;
await run(0, 256);
let t0 = now();
for (let off = 0; off < 10000; off += 256) await run(off, Math.min(256, 10000 - off));
const rate = 10000 / ((now() - t0) / 1000);
for (let i = 0; i < 20; i++) await run(i, 1);
t0 = now();
for (let i = 0; i < 300; i++) await run(i, 1);
console.log(JSON.stringify({ peer: 'onnxruntime-web-1.30', arch, infer_wasm_images_per_sec: rate, latency_wasm_ms: (now() - t0) / 300 }));
