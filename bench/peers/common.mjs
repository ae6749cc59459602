// common.mjs: the dataset as plain arrays for the peer benchmarks (each peer
// gets exactly the bytes our module gets).
import fs from 'node:fs';
import zlib from 'node:zlib';

const DIR = process.env.FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
const read = (n) => { const p = `${DIR}/${n}`; return fs.existsSync(p) ? fs.readFileSync(p) : zlib.gunzipSync(fs.readFileSync(`${p}.gz`)); };
export const train = { px: read('train-images-idx3-ubyte').subarray(16), labels: read('train-labels-idx1-ubyte').subarray(8) };
export const test = { px: read('t10k-images-idx3-ubyte').subarray(16), labels: read('t10k-labels-idx1-ubyte').subarray(8) };
export const toFloat = (px, n, off = 0) => { const f = new Float32Array(n * 784); for (let i = 0; i < n * 784; i++) f[i] = px[off * 784 + i] / 255; return f; };
export const now = () => performance.now();
