// Model files: safetensors layout (PyTorch state_dict names and shapes),
// save -> load -> identical predictions, and every kind of broken file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fm, split } from './helpers.mjs';

function header(bytes) {
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return { n, json: JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) };
}
/** Rebuilds a file from an edited header and the original data section. */
function withHeader(bytes, edit) {
  const { n, json } = header(bytes);
  edit(json);
  let text = JSON.stringify(json);
  while (text.length % 8) text += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  return Buffer.concat([len, Buffer.from(text), Buffer.from(bytes.subarray(8 + n))]);
}

test('cnn-small saves with PyTorch nn.Sequential names, shapes and metadata', async () => {
  const m = await fm();
  const net = m.createNet('cnn-small', { seed: 3 });
  const { n, json } = header(net.save());
  assert.equal(n % 8, 0, 'data section is 8-byte aligned');
  const meta = json.__metadata__;
  assert.equal(meta.arch, 'conv3x3:16,relu,conv3x3:32,relu,maxpool2,conv3x3:64,relu,maxpool2,flatten,dense:128,relu,dense:10');
  assert.equal(meta.normalization, 'x/255');
  assert.equal(meta.input, '1x28x28');
  assert.equal(meta.classes.split(',').length, 10);
  const shapes = Object.fromEntries(Object.entries(json).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes, {
    '0.weight': [16, 1, 3, 3], '0.bias': [16], '2.weight': [32, 16, 3, 3], '2.bias': [32],
    '5.weight': [64, 32, 3, 3], '5.bias': [64], '9.weight': [128, 3136], '9.bias': [128],
    '11.weight': [10, 128], '11.bias': [10],
  });
  assert.equal(net.paramCount, 426122);
  net.free();
});

test('batch norm saves running statistics and num_batches_tracked (I64) as PyTorch does', async () => {
  const m = await fm();
  const net = m.createNet('conv3x3:8,bn,relu,flatten,dense:16,bn,dense:10');
  const { json } = header(net.save());
  assert.deepEqual(json['1.running_mean'].shape, [8]);
  assert.deepEqual(json['1.running_var'].shape, [8]);
  assert.deepEqual(json['1.num_batches_tracked'], { ...json['1.num_batches_tracked'], dtype: 'I64', shape: [] });
  assert.deepEqual(json['5.weight'].shape, [16]);
  net.free();
});

test('save -> load gives identical parameters, metadata and predictions', async () => {
  const m = await fm();
  const ds = await split('test');
  const net = m.createNet('conv3x3:8,bn,relu,maxpool2,flatten,dropout:0.2,dense:10', { seed: 5 });
  // Train a few steps so batch-norm statistics are not at their defaults.
  const tr = m.createTrainer(net, ds, { limit: 256, batch: 64, seed: 1 });
  while (tr.step());
  tr.free();
  net.setMeta('note', 'quotes " and \\ and ünïcode');
  const bytes = net.save();
  const copy = m.loadNet(bytes);
  assert.equal(copy.spec, net.spec);
  assert.deepEqual(copy.params(), net.params());
  assert.equal(copy.getMeta('note'), 'quotes " and \\ and ünïcode');
  const px = ds.images(0, 300);
  assert.deepEqual(copy.predict(px), net.predict(px));
  assert.deepEqual(copy.save(), bytes, 'a re-save is byte-identical');
  net.free(); copy.free();
});

async function sample() {
  const m = await fm();
  const net = m.createNet('mlp', { seed: 1 });
  const bytes = net.save();
  net.free();
  return { m, bytes };
}

const broken = [
  ['a file shorter than its length field', (b) => b.subarray(0, 5), /too short for safetensors/],
  ['a header length beyond the file', (b) => b.subarray(0, 100), /truncated: its header needs \d+ bytes/],
  ['a huge header length', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(1n << 40n); return c; }, /over the 4 MB limit/],
  ['truncated tensor data', (b) => b.subarray(0, b.length - 4), /data offsets \[\d+, \d+\] are outside|truncated/],
  ['trailing bytes', (b) => Buffer.concat([b, Buffer.alloc(4)]), /trailing bytes/],
  ['a header that is not JSON', (b) => { const c = Buffer.from(b); c[8] = 0x5b; c[9] = 0x2c; return c; }, /not (valid JSON|a valid JSON object)/],
  ['a missing tensor', (b) => withHeader(b, (h) => { delete h['3.bias']; }), /missing tensor 3\.bias/],
  ['an extra tensor', (b) => withHeader(b, (h) => { h['7.weight'] = { ...h['5.bias'] }; }), /unexpected tensor 7\.weight/],
  ['a wrong shape', (b) => withHeader(b, (h) => { h['1.weight'].shape = [784, 256]; }), /tensor 1\.weight has F32 shape \[784,256\], expected F32 \[256,784\]/],
  ['a wrong dtype', (b) => withHeader(b, (h) => { h['1.bias'].dtype = 'BF16'; }), /dtype BF16; only F32 and F16 are supported/],
  ['an F16 tensor with F32-sized data', (b) => withHeader(b, (h) => { h['5.bias'].dtype = 'F16'; }), /tensor 5\.bias: data offsets span 40 bytes, its shape needs 20/],
  ['offsets out of range', (b) => withHeader(b, (h) => { h['5.bias'].data_offsets = [0, 1e12]; }), /outside the \d+ data bytes/],
  ['offsets that do not match the shape', (b) => withHeader(b, (h) => { h['5.bias'].data_offsets[1] -= 4; }), /span 36 bytes, its shape needs 40/],
  ['no architecture', (b) => withHeader(b, (h) => { delete h.__metadata__.arch; }), /no architecture/],
  ['a bad architecture', (b) => withHeader(b, (h) => { h.__metadata__.arch = 'dense:10'; }), /model architecture: .*dense needs a flat input/],
  ['another normalization', (b) => withHeader(b, (h) => { h.__metadata__.normalization = 'x/127.5-1'; }), /normalization 'x\/127\.5-1'/],
  ['unknown test-time views', (b) => withHeader(b, (h) => { h.__metadata__.tta = 'rotate'; }), /metadata tta must be "none", "shift" or "mirror", not "rotate"/],
  ['a non-finite weight', (b) => { const c = Buffer.from(b); c.writeFloatLE(NaN, c.length - 4); return c; }, /tensor 5\.bias holds a non-finite value/],
];

for (const [what, breakIt, message] of broken) {
  test(`model loader refuses ${what}`, async () => {
    const { m, bytes } = await sample();
    assert.throws(() => m.loadNet(breakIt(Buffer.from(bytes))), message);
  });
}

test('model loader refuses an F16 infinity', async () => {
  const { m, bytes } = await sample();
  const net = m.loadNet(bytes), c = Buffer.from(net.save({ dtype: 'F16' }));
  net.free();
  c.writeUInt16LE(0x7c00, c.length - 2);
  assert.throws(() => m.loadNet(c), /tensor 5\.bias holds a non-finite value \(inf at element 9\)/);
});

/** The value of an IEEE binary16 (the reference for F16 files). */
function half(h) {
  const e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (e ? (1024 + m) * 2 ** (e - 25) : m * 2 ** -24);
}

test('float16 files: half the weight bytes, each weight the nearest half, loads back exactly and predicts as the float32 model', async () => {
  const m = await fm();
  const net = m.createNet('conv3x3:8,bn,relu,maxpool2,skip,conv3x3:8,bn,relu,add,flatten,dense:10', { seed: 5 });
  const tr = m.createTrainer(net, await split('train'), { limit: 640, seed: 5 }); // batch-norm statistics of its own
  while (tr.step());
  tr.free();
  const f32 = net.save(), f16 = net.save({ dtype: 'F16' });
  const { n, json } = header(f16);
  const tensors = Object.entries(json).filter(([k]) => k !== '__metadata__');
  for (const [name, t] of tensors) assert.equal(t.dtype, name.endsWith('num_batches_tracked') ? 'I64' : 'F16', name);
  const data = Buffer.from(f16.subarray(8 + n));
  const weightBytes = tensors.filter(([, t]) => t.dtype === 'F16').reduce((s, [, t]) => s + t.data_offsets[1] - t.data_offsets[0], 0);
  assert.equal(weightBytes, net.paramCount * 2 + 4 * 8 * 2, 'two bytes per parameter and batch-norm statistic');
  const back = m.loadNet(f16);
  // The loaded float32 weights are exactly the stored halves, each within half a unit of the original.
  const orig = net.params(), got = back.params();
  const w = json['0.weight'], stored = Array.from({ length: 72 }, (_, i) => half(data.readUInt16LE(w.data_offsets[0] + 2 * i)));
  assert.deepEqual(Array.from(got.subarray(0, 72)), stored);
  for (let i = 0; i < orig.length; i++) assert.ok(Math.abs(got[i] - orig[i]) <= Math.abs(orig[i]) * 2 ** -11 + 2 ** -25, `weight ${i}: ${orig[i]} -> ${got[i]}`);
  // Saved again, by default or as F16, it gives the same bytes (a float16 file stays float16).
  assert.deepEqual(Buffer.from(back.save({ dtype: 'F16' })), Buffer.from(f16));
  assert.deepEqual(Buffer.from(back.save()), Buffer.from(f16));
  assert.equal(header(back.save({ dtype: 'F32' })).json['0.weight'].dtype, 'F32');
  // Once trained, its weights are no longer halves: saved as float32 by default.
  const again = m.loadNet(f16), step = m.createTrainer(again, await split('train'), { limit: 64, seed: 1 });
  step.step();
  step.free();
  assert.equal(header(again.save()).json['0.weight'].dtype, 'F32');
  again.free();
  assert.ok(f16.length < 0.55 * f32.length, `${f16.length} vs ${f32.length} bytes`);
  const images = (await split('test')).images(0, 200);
  const a = net.predict(images, 200), b = back.predict(images, 200);
  let worst = 0, same = 0;
  for (let i = 0; i < 200; i++) {
    for (let c = 0; c < 10; c++) worst = Math.max(worst, Math.abs(a[i * 10 + c] - b[i * 10 + c]));
    const top = (p) => { const r = Array.from(p.subarray(i * 10, i * 10 + 10)); return r.indexOf(Math.max(...r)); };
    same += top(a) === top(b);
  }
  assert.ok(worst < 5e-3, `largest probability difference ${worst}`);
  assert.ok(same >= 198, `${same}/200 top classes agree`);
  back.free(); net.free();
});

test('float16 saving refuses an unknown dtype and a weight beyond float16', async () => {
  const m = await fm();
  const base = m.createNet('flatten,dense:10');
  assert.throws(() => base.save({ dtype: 'BF16' }), /model dtype must be "F32" or "F16", not "BF16"/);
  const bytes = Buffer.from(base.save()), { n, json } = header(bytes);
  bytes.writeFloatLE(70000, 8 + n + json['1.weight'].data_offsets[0] + 4 * 3);
  base.free();
  const net = m.loadNet(bytes);
  assert.throws(() => net.save({ dtype: 'F16' }), /tensor 1\.weight does not fit float16 \(70000 at element 3\): save it as F32/);
  assert.ok(net.save().length > 0, 'float32 still saves it');
  net.free();
});
