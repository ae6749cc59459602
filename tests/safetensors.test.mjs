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
  ['a wrong dtype', (b) => withHeader(b, (h) => { h['1.bias'].dtype = 'F16'; }), /dtype F16; only F32/],
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
