// helpers.mjs: shared set-up for the Node tests: the wasm module, the real
// dataset, and fixtures the tests make themselves (PNG files, broken files).
import { deflateSync } from 'node:zlib';
import { loadFmnist } from '../js/fmnist.mjs';
import { dataDir, loadSplit } from '../js/node-data.mjs';

let fmPromise;
export function fm() {
  fmPromise ??= loadFmnist();
  return fmPromise;
}

const splits = {};
export async function split(name) {
  const m = await fm();
  splits[name] ??= await loadSplit(m, dataDir(), name);
  return splits[name];
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A grayscale (1 channel), RGB (3) or RGBA (4 channels) PNG of the given pixels. */
export function encodePng(pixels, width, height, channels = 1) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = { 1: 0, 3: 2, 4: 6 }[channels];
  const raw = Buffer.alloc((width * channels + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * channels + 1)] = 0;
    Buffer.from(pixels.buffer, pixels.byteOffset + y * width * channels, width * channels)
      .copy(raw, y * (width * channels + 1) + 1);
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** An IDX file from a header (magic type/ndims, dims) and payload. */
export function idx(ndims, dims, payload, type = 0x08) {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = type; h[3] = ndims;
  dims.forEach((d, i) => h.writeUInt32BE(d >>> 0, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(payload)]);
}

/** A Fashion-MNIST image rendered as a product photo: a dark garment on a light,
 * unevenly lit, textured, coloured background, at a random place and size (RGBA). */
export function renderPhoto(img, seed) {
  let s = seed * 7919 + 1;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const W = 240 + Math.floor(rnd() * 160), H = 240 + Math.floor(rnd() * 160);
  const scale = 5 + rnd() * 3, side = Math.floor(28 * scale);
  const ox = Math.floor(rnd() * (W - side)), oy = Math.floor(rnd() * (H - side));
  const tint = [200 + rnd() * 55, 190 + rnd() * 60, 170 + rnd() * 80];
  const rgba = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const light = 0.85 + 0.15 * (x / W) + 0.05 * Math.sin(y / 9) * Math.sin(x / 11); // uneven light, soft texture
    let c = tint.map((t) => t * light + (rnd() - 0.5) * 8);
    const gx = Math.floor((x - ox) / scale), gy = Math.floor((y - oy) / scale);
    if (gx >= 0 && gy >= 0 && gx < 28 && gy < 28) {
      const v = img[gy * 28 + gx] / 255; // garment: darker where the dataset image is brighter
      c = c.map((t) => t * (1 - 0.85 * v));
    }
    rgba.set([...c.map((t) => Math.max(0, Math.min(255, Math.round(t)))), 255], (y * W + x) * 4);
  }
  return { rgba, W, H };
}
