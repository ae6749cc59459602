#!/usr/bin/env node
// make-fuzz-seeds.mjs: seed corpora for `make fuzz`, made by the project's
// own code (no dataset files are copied): small IDX pairs (raw and gzip),
// small model files saved by the module, spec strings, images (PNG, GIF,
// BMP, and WebP lossy, lossless, with alpha, animated, written by cwebp),
// photo folder mappings.
//   node scripts/make-fuzz-seeds.mjs OUT_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadFmnist } from '../js/fmnist.mjs';
import { encodePng, idx } from '../tests/helpers.mjs';
import { encodeBmp, encodeGif, toWebp } from '../tests/formats.mjs';

const out = process.argv[2] ?? 'build/fuzz/corpus';
const put = (target, name, bytes) => {
  mkdirSync(join(out, target), { recursive: true });
  writeFileSync(join(out, target, name), bytes);
};

// IDX: one byte of split position, then images + labels.
const images = idx(3, [3, 4, 5], Uint8Array.from({ length: 60 }, (_, i) => i * 4));
const labels = idx(1, [3], [0, 9, 4]);
for (const [name, a, b] of [['raw', images, labels], ['gz', gzipSync(images), gzipSync(labels)], ['mixed', gzipSync(images), labels]]) {
  const split = Math.round(((a.length + 1 - 1) * 255) / (a.length + b.length));
  put('idx', name, Buffer.concat([Buffer.from([split]), a, b]));
}

const fm = await loadFmnist();
for (const [i, spec] of ['flatten,dense:10', 'conv3x3:2,bn,relu,maxpool2,flatten,dense:10', 'conv1x1:3,relu,gap,flatten,dropout:0.5,dense:10'].entries()) {
  const net = fm.createNet(spec, { seed: i });
  net.setMeta('note', 'seed "corpus"');
  put('safetensors', `model${i}`, net.save());
  put('safetensors', `model${i}-f16`, net.save({ dtype: 'F16' }));
  net.free();
}
for (const [i, spec] of ['mlp', 'cnn-small', 'cnn-bn', 'conv5x5:4,bn,relu,maxpool2,gap,flatten,dense:10',
  'flatten,dense:16,bn,dropout:0.25,dense:10', 'conv3x3:8,relu,flatten,dense:10',
  'conv3x3:4,bn,relu,skip,conv3x3:4,bn,relu,skip,conv3x3:4,add,add,gap,flatten,dense:10'].entries()) put('spec', `spec${i}`, spec);
const gray = Uint8Array.from({ length: 40 * 30 }, (_, i) => (i * 13) % 256);
put('image', 'gray.png', encodePng(gray, 40, 30));
put('image', 'rgb.png', encodePng(Uint8Array.from({ length: 17 * 9 * 3 }, (_, i) => (i * 31) % 256), 17, 9, 3));
put('image', 'tiny.png', encodePng(Uint8Array.of(200), 1, 1));
put('image', 'two.gif', encodeGif([gray, gray.map((v) => 255 - v)], 40, 30));
put('image', 'gray.bmp', encodeBmp(gray, 40, 30));
const rgba = encodePng(Uint8Array.from({ length: 23 * 19 * 4 }, (_, i) => (i * 29) % 256), 23, 19, 4);
put('image', 'lossy.webp', toWebp(encodePng(gray, 40, 30), '-q', '60'));
put('image', 'alpha.webp', toWebp(rgba, '-q', '60', '-alpha_q', '40'));
put('image', 'lossless.webp', toWebp(rgba, '-lossless'));
put('image', 'anim.webp', toWebp(encodeGif([gray, gray.map((v) => 255 - v)], 40, 30)));
// Photo folder mappings: the shipped one, indices, an empty list, escapes.
put('mapping', 'shipped.json', readFileSync(new URL('../photos/clothing-dataset-small.json', import.meta.url)));
put('mapping', 'indices.json', '{"folders": {"a": [0, 9], "b": [], "c\\u00e9": ["Ankle boot"]}, "note": [1, {"x": 2}]}');
// Trainer states for the network and data fuzz_state.c builds (first byte:
// bit 0 = the trainer keeps an average of the weights, bit 1 = fix the CRC).
{
  const ds = fm.parseDataset(idx(3, [4, 28, 28], Uint8Array.from({ length: 4 * 784 }, (_, i) => (i * 7) % 256)),
    idx(1, [4], [0, 3, 6, 9]));
  for (const ema of [0, 0.9]) {
    const net = fm.createNet('conv3x3:2,bn,relu,maxpool2,flatten,dense:10', { seed: 1 });
    const tr = fm.createTrainer(net, ds, { batch: 2, epochs: 2, optimizer: 'sgd', ema });
    for (const steps of [1, 2]) {
      for (let i = 0; i < steps; i++) tr.step();
      const state = tr.saveState(), mode = ema ? 1 : 0;
      put('state', `ema${ema}-step${steps}`, Buffer.concat([Buffer.from([mode]), state]));
      put('state', `ema${ema}-step${steps}-crc`, Buffer.concat([Buffer.from([mode | 2]), state]));
    }
    tr.free();
    net.free();
  }
  ds.free();
}
console.log(`fuzz seeds written to ${out}`);
