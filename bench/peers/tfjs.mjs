// TensorFlow.js 4.22 on the reference models: inference on the wasm (XNNPACK)
// and cpu backends, training on cpu (tfjs-wasm has no Conv2DBackpropFilter).
// usage: node tfjs.mjs <cnn-small|mlp>   -> one JSON line
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { train, test, toFloat, now } from './common.mjs';

const arch = process.argv[2] ?? 'cnn-small';
const require = createRequire(import.meta.url);
setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
function build() {
  const m = tf.sequential();
  if (arch === 'cnn-small') {
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  } else {
    m.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
    m.add(tf.layers.dense({ units: 256, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  }
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  return m;
}
await tf.setBackend('cpu');
const m = build();
const out = { peer: 'tfjs-4.22', arch };
// Training on cpu: mlp on 6,400 images; the CNN takes ~28 s per batch there, so 2 batches.
const ntr = arch === 'mlp' ? 6400 : 128;
const x = tf.tensor4d(toFloat(train.px, ntr), [ntr, 28, 28, 1]), y = tf.tensor1d(Float32Array.from(train.labels.subarray(0, ntr)));
let t0 = now();
await m.fit(x, y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });
out.train_cpu_images_per_sec = ntr / ((now() - t0) / 1000);
for (const backend of ['wasm', 'cpu']) {
  await tf.setBackend(backend);
  await tf.ready();
  const n = backend === 'wasm' ? 2560 : 512;
  const xt = tf.tensor4d(toFloat(test.px, n), [n, 28, 28, 1]);
  tf.tidy(() => m.predict(xt.slice([0, 0, 0, 0], [256, 28, 28, 1])).dataSync());
  t0 = now();
  tf.tidy(() => m.predict(xt, { batchSize: 256 }).dataSync());
  out[`infer_${backend}_images_per_sec`] = n / ((now() - t0) / 1000);
  const one = xt.slice([0, 0, 0, 0], [1, 28, 28, 1]);
  for (let i = 0; i < 20; i++) tf.tidy(() => m.predict(one).dataSync());
  t0 = now();
  for (let i = 0; i < 100; i++) tf.tidy(() => m.predict(one).dataSync());
  out[`latency_${backend}_ms`] = (now() - t0) / 100;
}
console.log(JSON.stringify(out));
