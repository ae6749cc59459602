// ConvNetJS 0.3 (pure JavaScript) on the reference CNN: training and inference.
// usage: node convnetjs.mjs   -> one JSON line
import { createRequire } from 'node:module';
import { train, test, now } from './common.mjs';

const convnetjs = createRequire(import.meta.url)('convnetjs');
const vol = (px, i) => { const v = new convnetjs.Vol(28, 28, 1, 0); for (let k = 0; k < 784; k++) v.w[k] = px[i * 784 + k] / 255; return v; };
const net = new convnetjs.Net();
net.makeLayers([
  { type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 },
  { type: 'conv', sx: 3, filters: 16, stride: 1, pad: 1, activation: 'relu' },
  { type: 'conv', sx: 3, filters: 32, stride: 1, pad: 1, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'conv', sx: 3, filters: 64, stride: 1, pad: 1, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'fc', num_neurons: 128, activation: 'relu' },
  { type: 'softmax', num_classes: 10 },
]);
const trainer = new convnetjs.Trainer(net, { method: 'adam', learning_rate: 1e-3, batch_size: 64, l2_decay: 0 });
let t0 = now();
for (let i = 0; i < 256; i++) trainer.train(vol(train.px, i), train.labels[i]);
const trainRate = 256 / ((now() - t0) / 1000);
t0 = now();
for (let i = 0; i < 256; i++) net.forward(vol(test.px, i));
console.log(JSON.stringify({ peer: 'convnetjs-0.3', arch: 'cnn-small', train_images_per_sec: trainRate, infer_images_per_sec: 256 / ((now() - t0) / 1000) }));
