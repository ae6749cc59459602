// formats.mjs: test fixtures in the image formats the module decodes besides
// PNG and JPEG: GIF and BMP written by hand, WebP written and read back by
// libwebp's own tools (cwebp, gif2webp, dwebp from Debian's webp package) as
// the reference. Not a test file itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A 24-bit BMP (bottom-up rows, BGR, rows padded to 4 bytes) of grayscale
 * (channels 1) or RGB (channels 3) pixels. */
export function encodeBmp(pixels, width, height, channels = 1) {
  const row = (width * 3 + 3) & ~3, size = 54 + row * height;
  const b = Buffer.alloc(size);
  b.write('BM', 0, 'ascii');
  b.writeUInt32LE(size, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * height, 34);
  b.writeInt32LE(2835, 38);
  b.writeInt32LE(2835, 42);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const [r, g, bl] = channels === 1 ? [pixels[i], pixels[i], pixels[i]] : [pixels[i], pixels[i + 1], pixels[i + 2]];
      b.set([bl, g, r], 54 + (height - 1 - y) * row + x * 3);
    }
  }
  return b;
}

/** A GIF of 8-bit grayscale frames (a 256-level gray palette; LZW with a
 * clear code every 250 codes, so every code is 9 bits: large but valid). */
export function encodeGif(frames, width, height) {
  const out = [Buffer.from('GIF89a', 'ascii')];
  const lsd = Buffer.alloc(7);
  lsd.writeUInt16LE(width, 0);
  lsd.writeUInt16LE(height, 2);
  lsd[4] = 0xf7; // global colour table of 256 entries
  out.push(lsd, Buffer.from(Array.from({ length: 768 }, (_, i) => Math.floor(i / 3))));
  for (const pixels of frames) {
    const gce = Buffer.from([0x21, 0xf9, 4, 0, 10, 0, 0, 0]); // 0.1 s per frame
    const desc = Buffer.alloc(10);
    desc[0] = 0x2c;
    desc.writeUInt16LE(width, 5);
    desc.writeUInt16LE(height, 7);
    const bytes = [];
    let acc = 0, nbits = 0;
    const put = (code) => {
      acc |= code << nbits;
      nbits += 9;
      while (nbits >= 8) { bytes.push(acc & 255); acc >>>= 8; nbits -= 8; }
    };
    for (let i = 0; i < pixels.length; i++) {
      if (i % 250 === 0) put(256);
      put(pixels[i]);
    }
    put(257);
    if (nbits) bytes.push(acc & 255);
    const blocks = [];
    for (let i = 0; i < bytes.length; i += 255) {
      const part = bytes.slice(i, i + 255);
      blocks.push(Buffer.from([part.length, ...part]));
    }
    out.push(gce, desc, Buffer.from([8]), ...blocks, Buffer.from([0]));
  }
  out.push(Buffer.from([0x3b]));
  return Buffer.concat(out);
}

/** A WebP made by libwebp's own encoder (Debian's webp package) from a PNG:
 * `args` are cwebp's (`-lossless`, `-q 80`, ...), or gif2webp's when the
 * input is a GIF (an animation). */
export function toWebp(bytes, ...args) {
  const dir = mkdtempSync(join(tmpdir(), 'fmnist-webp-'));
  const gif = bytes[0] === 0x47;
  const src = join(dir, gif ? 'in.gif' : 'in.png'), out = join(dir, 'out.webp');
  writeFileSync(src, bytes);
  const r = spawnSync(gif ? 'gif2webp' : 'cwebp', [...args, '-quiet', src, '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${gif ? 'gif2webp' : 'cwebp'} failed: ${r.error ?? r.stderr}`);
  const webp = readFileSync(out);
  rmSync(dir, { recursive: true });
  return webp;
}

/** The RGBA pixels libwebp's reference decoder (dwebp) gives for a WebP. */
export function dwebpRgba(webp) {
  const dir = mkdtempSync(join(tmpdir(), 'fmnist-webp-'));
  writeFileSync(join(dir, 'in.webp'), webp);
  const r = spawnSync('dwebp', ['-quiet', join(dir, 'in.webp'), '-pam', '-o', join(dir, 'out.pam')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dwebp failed: ${r.error ?? r.stderr}`);
  const pam = readFileSync(join(dir, 'out.pam'));
  rmSync(dir, { recursive: true });
  const end = pam.indexOf('ENDHDR\n');
  const head = pam.subarray(0, end).toString('ascii');
  const field = (k) => Number(head.match(new RegExp(`${k} (\\d+)`))[1]);
  assert.equal(field('DEPTH'), 4);
  return { width: field('WIDTH'), height: field('HEIGHT'), rgba: new Uint8Array(pam.subarray(end + 7)) };
}
