// IDX reader: the real files (gzip and raw) and every kind of broken file,
// each with the error it must give (naming the file and the problem).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fm, split, idx } from './helpers.mjs';
import { dataDir } from '../js/node-data.mjs';

const dir = dataDir();
const imgGz = readFileSync(`${dir}/t10k-images-idx3-ubyte.gz`);
const lblGz = readFileSync(`${dir}/t10k-labels-idx1-ubyte.gz`);
const img = gunzipSync(imgGz), lbl = gunzipSync(lblGz);

test('the official test split loads: 10,000 28x28 images, 1,000 per class', async () => {
  const ds = await split('test');
  assert.equal(ds.count, 10000);
  assert.equal(ds.rows, 28);
  assert.equal(ds.cols, 28);
  const counts = new Array(10).fill(0);
  for (const l of ds.labels()) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(1000));
});

test('raw and gzipped IDX files give the same data', async () => {
  const m = await fm();
  const a = m.parseDataset(img, lbl), b = m.parseDataset(imgGz, lblGz);
  assert.deepEqual(a.images(0, 50), b.images(0, 50));
  assert.deepEqual(a.labels(), b.labels());
  assert.deepEqual(a.images(9990, 10), new Uint8Array(img.subarray(16 + 9990 * 784)));
  a.free(); b.free();
});

const small = idx(3, [2, 28, 28], new Uint8Array(2 * 784).fill(7));
const smallLabels = idx(1, [2], [3, 4]);

const broken = [
  ['an empty images file', Buffer.alloc(0), smallLabels, /images\.idx: file is 0 bytes, too short/],
  ['a bad magic number', Buffer.from([1, 2, 8, 3, ...small.subarray(4)]), smallLabels, /images\.idx: not an IDX file \(bad magic number 01 02 08 03\)/],
  ['a non-byte element type', idx(3, [2, 28, 28], new Uint8Array(2 * 784), 0x0d), smallLabels, /element type 0x0d is not unsigned bytes/],
  ['images and labels swapped', smallLabels, small, /images\.idx: IDX file has 1 dimensions, expected 3/],
  ['a zero count', idx(3, [0, 28, 28], []), smallLabels, /IDX dimension 0 is 0/],
  ['a header claiming 2^31 images', idx(3, [2 ** 31, 28, 28], new Uint8Array(784)), smallLabels, /IDX dimension 0 is 2147483648 \(allowed 1\.\.10000000\)/],
  ['truncated pixel data', small.subarray(0, small.length - 1), smallLabels, /promises 1568 data bytes but the file holds 1567 \(truncated\)/],
  ['trailing garbage', Buffer.concat([small, Buffer.from([0])]), smallLabels, /holds 1569 \(trailing garbage\)/],
  ['a truncated header', small.subarray(0, 10), smallLabels, /truncated inside its IDX header/],
  ['image and label counts that differ', small, idx(1, [3], [1, 2, 3]), /images\.idx holds 2 images but labels\.idx holds 3 labels/],
  ['a label outside 0..9', small, idx(1, [2], [3, 10]), /labels\.idx: label 10 of item 1 is not a class 0\.\.9/],
  ['a truncated gzip file', imgGz.subarray(0, imgGz.length >> 1), lblGz, /images\.idx: gzip: (corrupt or truncated|uncompressed size)/],
  ['a gzip file with a flipped byte', (() => { const b = Buffer.from(lblGz); b[b.length >> 1] ^= 0x55; return b; })(), smallLabels, /images\.idx: gzip: (corrupt|CRC mismatch)/],
];

for (const [what, images, labels, message] of broken) {
  test(`IDX reader refuses ${what}`, async () => {
    const m = await fm();
    assert.throws(() => m.parseDataset(images, labels, { imagesName: 'images.idx', labelsName: 'labels.idx' }), message);
  });
}

test('a corrupt gzip labels file is reported under its own name', async () => {
  const m = await fm();
  const bad = Buffer.from(lblGz);
  bad[bad.length - 6] ^= 1; // the stored uncompressed length
  assert.throws(() => m.parseDataset(imgGz, bad, { imagesName: 'i.gz', labelsName: 'l.gz' }), /^FmnistError: l\.gz: gzip: /);
});
