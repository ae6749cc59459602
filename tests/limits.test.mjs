// Resource limits: hostile sizes are refused early, with a clear message and
// bounded memory, instead of being allocated (Node side; the page uses the
// same checks through the same module).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, ftruncateSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { fm, encodePng, idx } from './helpers.mjs';
import { loadFmnist } from '../js/fmnist.mjs';

const dir = mkdtempSync(join(tmpdir(), 'fmnist-limits-'));
const bin = new URL('../bin/fmnist.mjs', import.meta.url).pathname;

/** A PNG whose header claims w x h (its pixel data is a single tiny row). */
function hugePngHeader(w, h) {
  const png = encodePng(new Uint8Array(4), 2, 2);
  const b = Buffer.from(png);
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  // Fix the IHDR CRC so only the size is "wrong".
  const { crc32 } = (() => {
    const t = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
    return { crc32: (buf) => { let c = 0xffffffff; for (const x of buf) c = t[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; } };
  })();
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
  return b;
}

test('a 20,000 x 20,000 PNG is refused from its header, before any pixel memory', async () => {
  const m = await fm();
  const before = m.x.memory.buffer.byteLength;
  const png = hugePngHeader(20000, 20000);
  assert.throws(() => m.imageInfo(png), /20000x20000 pixels, over the limit of 64 megapixels|too large/);
  assert.throws(() => m.decodeImageRgba(png), /20000x20000 pixels, over the limit|too large/);
  assert.equal(m.x.memory.buffer.byteLength, before, 'wasm memory did not grow');
  writeFileSync(join(dir, 'huge.png'), png);
  writeFileSync(join(dir, 'tiny.safetensors'), (await fm()).createNet('flatten,dense:10').save());
  const r = spawnSync(process.execPath, [bin, 'predict', '--model', join(dir, 'tiny.safetensors'), join(dir, 'huge.png')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /huge\.png: .*20000x20000 pixels, over the limit/);
});

test('a 1 GB "model" is refused before it is read', async () => {
  const path = join(dir, 'big.safetensors');
  const fd = openSync(path, 'w');
  ftruncateSync(fd, 1024 ** 3); // sparse: no disk used
  closeSync(fd);
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', bin, 'eval', '--model', path], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^fmnist: model .*big\.safetensors is 1024 MB, over the 260 MB limit$/);
  const m = await fm();
  assert.throws(() => m.loadNet(new Uint8Array(300 * 2 ** 20)), /model file is 300 MB, over the 260 MB limit/);
});

test('a model header that claims a huge tensor is refused without allocating it', async () => {
  const m = await fm();
  const header = JSON.stringify({ __metadata__: { arch: 'flatten,dense:65536,dense:10' }, '1.weight': { dtype: 'F32', shape: [65536, 784], data_offsets: [0, 4 * 65536 * 784] } });
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
  assert.throws(() => m.loadNet(Buffer.concat([len, Buffer.from(header)])), /outside the 0 data bytes/);
});

test('a gzip bomb posing as an IDX file is refused from its stated size', async () => {
  const m = await fm();
  // 600 MB of zeros compresses to ~600 KB; the reader checks the size before inflating.
  const bomb = Buffer.from(deflateSync(Buffer.alloc(1), { level: 9 }));
  const gz = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), bomb, Buffer.alloc(4), Buffer.from([0, 0, 0, 0x26])]);
  gz.writeUInt32LE(600 * 2 ** 20, gz.length - 4);
  assert.throws(() => m.parseDataset(gz, gz), /uncompressed size 629145600 bytes is over the limit/);
});

test('predicting keeps no training buffers: 64 images through the default model in a fresh module stay under 64 MB of wasm memory', async () => {
  // A page's evaluation worker holds one module like this. Inference
  // allocates only the activations between fused passes and no backward
  // scratch, and its activations share buffers; with training's buffers cnn-bn
  // grew to 111 MB, now 24 (cnn-res: 171, now 43).
  const fresh = await loadFmnist();
  const index = JSON.parse(readFileSync(new URL('../models/index.json', import.meta.url), 'utf8'));
  const net = fresh.loadNet(readFileSync(new URL(`../models/${index.default}`, import.meta.url)));
  const pixels = new Uint8Array(64 * 784).map((_, i) => (i * 37) % 256);
  const probs = net.predict(pixels, 64);
  assert.equal(probs.length, 640);
  const mb = fresh.x.memory.buffer.byteLength / 2 ** 20;
  assert.ok(mb < 64, `wasm memory ${mb.toFixed(1)} MB after predicting 64 images`);
  // Training the same network afterwards gets every buffer it needs.
  const labels = new Uint8Array(64).map((_, i) => i % 10);
  const ds = fresh.parseDataset(idx(3, [64, 28, 28], pixels), idx(1, [64], labels));
  const trainer = fresh.createTrainer(net, ds, { epochs: 1, batch: 16 });
  const info = trainer.step();
  assert.ok(Number.isFinite(info.loss), `loss ${info.loss}`);
  trainer.free();
  ds.free();
  net.free();
});
