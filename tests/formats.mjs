// formats.mjs: test fixtures in the image formats the module decodes besides
// PNG and JPEG (GIF, BMP), and a WebP header it names, written by hand so the
// tests need no image library. Not a test file itself.

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

/** The first bytes of a WebP file (RIFF container, VP8 chunk): enough for a
 * decoder to recognise the format. */
export function webpHeader() {
  const b = Buffer.alloc(64);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(56, 4);
  b.write('WEBPVP8 ', 8, 'ascii');
  return b;
}
