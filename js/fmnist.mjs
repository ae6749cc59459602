// fmnist.mjs: the thin JavaScript face of the wasm module. It loads the same
// build/fmnist.wasm in Node, in a page and in a Web Worker (the bytes are
// fetched or read, then WebAssembly.instantiate: no Emscripten glue), copies
// data in and out of wasm memory, and turns C error messages into Errors.
// All computation stays in C; nothing here re-implements it.

export const CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Largest model file accepted (64 M parameters of float32 plus header):
 * bigger files are refused before they are copied into wasm memory. */
export const MAX_MODEL_BYTES = 260 * 1024 * 1024;
/** Largest image file accepted for decoding. */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

export const OPTIMIZERS = { sgd: 0, adam: 1, adamw: 2 };
export const SCHEDULES = { constant: 0, cosine: 1 };

/** Below this top-1 probability a photo's answer is reported as unsure: the
 * model is guessing, or the photo shows none of the ten classes. On the
 * shared photos with cnn-bn: answers above it are right 73% of the time,
 * under it 43% (28/65); it flags 37% of hat, shorts and skirt photos and 22% of the
 * others (bench/photos.mjs). */
export const UNSURE_BELOW = 0.5;

/** The top-1 class of a probability vector, and whether it is unsure. */
export function judge(probs) {
  const p = Array.from(probs);
  const index = p.indexOf(Math.max(...p));
  return { index, label: CLASS_NAMES[index], confidence: p[index], unsure: p[index] < UNSURE_BELOW };
}

export class FmnistError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FmnistError';
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function readWasmBytes(source) {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return source;
  const url = source ?? new URL('../build/fmnist.wasm', import.meta.url);
  if (isNode && (typeof url === 'string' || url.protocol === 'file:')) {
    const { readFile } = await import('node:fs/promises');
    try {
      return await readFile(url);
    } catch (e) {
      throw new FmnistError(`cannot read the wasm module ${url}: ${e.code || e.message} (run ./build.sh)`);
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new FmnistError(`cannot fetch the wasm module ${url}: HTTP ${res.status}`);
  return await res.arrayBuffer();
}

/** Loads the module. `source`: wasm bytes, a URL or a path (default: build/fmnist.wasm). */
export async function loadFmnist(source) {
  const bytes = await readWasmBytes(source);
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { emscripten_notify_memory_growth() {} },
  });
  return new Fmnist(instance.exports);
}

export class Fmnist {
  constructor(exports) {
    this.x = exports;
    exports._initialize?.();
  }

  // ---- memory helpers ----
  get u8() { return new Uint8Array(this.x.memory.buffer); }
  get i32() { return new Int32Array(this.x.memory.buffer); }
  get f32() { return new Float32Array(this.x.memory.buffer); }

  error(what) {
    const msg = this.str(this.x.fm_last_error());
    return new FmnistError(msg ? (what ? `${what}: ${msg}` : msg) : what || 'unknown error');
  }
  alloc(n) {
    const p = this.x.fm_alloc(n);
    if (!p) throw new FmnistError(`out of wasm memory (asked for ${n} bytes)`);
    return p;
  }
  free(p) { if (p) this.x.fm_free(p); }
  copyIn(bytes) {
    const p = this.alloc(bytes.length);
    this.u8.set(bytes, p);
    return p;
  }
  cstr(s) {
    const b = new TextEncoder().encode(s);
    const p = this.alloc(b.length + 1);
    this.u8.set(b, p);
    this.u8[p + b.length] = 0;
    return p;
  }
  str(p) {
    if (!p) return null;
    const u8 = this.u8;
    let e = p;
    while (u8[e]) e++;
    return new TextDecoder().decode(u8.subarray(p, e));
  }
  /** Bytes of a malloc'd buffer whose pointer and length C wrote at out, out+4; frees it. */
  takeBuffer(out) {
    const [p, len] = this.i32.slice(out >> 2, (out >> 2) + 2);
    const bytes = this.u8.slice(p, p + len);
    this.free(p);
    return bytes;
  }
  withStr(s, fn) {
    const p = this.cstr(s);
    try { return fn(p); } finally { this.free(p); }
  }
  /** fn(pointer) with a copy of bytes in wasm memory, freed after. */
  withBytes(bytes, fn) {
    const p = this.copyIn(bytes);
    try { return fn(p); } finally { this.free(p); }
  }

  // ---- data ----
  /** Parses IDX images + labels (raw or gzip). Names only label error messages. */
  parseDataset(images, labels, { imagesName = 'images file', labelsName = 'labels file' } = {}) {
    const pi = this.copyIn(images), pl = this.copyIn(labels);
    const ni = this.cstr(imagesName), nl = this.cstr(labelsName);
    try {
      const ds = this.x.fm_dataset_parse(pi, images.length, ni, pl, labels.length, nl);
      if (!ds) throw this.error();
      return new Dataset(this, ds);
    } finally {
      this.free(pi); this.free(pl); this.free(ni); this.free(nl);
    }
  }

  // ---- networks ----
  /** A freshly initialised network from a spec ("mlp", "cnn-small", or tokens). */
  createNet(spec, { seed = 0, side = 28 } = {}) {
    if (!Number.isInteger(side)) throw new FmnistError(`side must be an integer, not ${side}`);
    const p = this.withStr(spec, (s) => this.x.fm_net_create(s, 1, side, side, BigInt(seed)));
    if (!p) throw this.error('architecture');
    return new Net(this, p);
  }
  /** Loads a safetensors model file. */
  loadNet(bytes) {
    if (bytes.length > MAX_MODEL_BYTES) {
      throw new FmnistError(`model file is ${(bytes.length / 2 ** 20).toFixed(0)} MB, over the ${MAX_MODEL_BYTES / 2 ** 20} MB limit`);
    }
    const p = this.withBytes(bytes, (pb) => this.x.fm_net_load(pb, bytes.length));
    if (!p) throw this.error();
    return new Net(this, p);
  }

  // ---- real photos as training data ----
  /** A photo set from a folder-to-classes mapping (an object or its JSON text:
   * {folders: {"t-shirt": ["T-shirt/top"], "shoes": [5, 7, 9], "hat": []}}). */
  createPhotoSet(mapping) {
    const text = typeof mapping === 'string' ? mapping : JSON.stringify(mapping);
    const b = new TextEncoder().encode(text);
    const ps = this.withBytes(b, (p) => this.x.fm_photoset_create(p, b.length));
    if (!ps) throw this.error();
    return new PhotoSet(this, ps);
  }

  // ---- training ----
  /** A trainer: call step() until it returns null. Options as in fm_config_set;
   * `photos` (a PhotoSet) with `photo_ratio` mixes real photos into every batch;
   * `teacher` (a Net) with `distill` distils that model into this one. */
  createTrainer(net, dataset, options = {}) {
    const { photos, teacher, ...rest } = options;
    if (photos !== undefined && !(photos instanceof PhotoSet)) throw new FmnistError('training option photos: not a PhotoSet');
    if (teacher !== undefined && !(teacher instanceof Net)) throw new FmnistError('training option teacher: not a Net');
    const cfg = this.x.fm_config_create();
    try {
      for (const [key, raw] of Object.entries(rest)) {
        if (raw === undefined) continue;
        let value = raw;
        if (key === 'optimizer' && typeof raw === 'string') value = OPTIMIZERS[raw];
        if (key === 'schedule' && typeof raw === 'string') value = SCHEDULES[raw];
        if (typeof value === 'boolean') value = value ? 1 : 0;
        if (typeof value !== 'number') throw new FmnistError(`training option ${key}: bad value ${raw}`);
        const ok = this.withStr(key, (k) => this.x.fm_config_set(cfg, k, value));
        if (!ok) throw this.error();
      }
      const tr = this.x.fm_trainer_create_mixed(net.ptr, dataset?.ptr ?? 0, photos?.ptr ?? 0, cfg);
      if (!tr) throw this.error('training');
      const trainer = new Trainer(this, tr, net, dataset, photos);
      if (teacher) trainer.setTeacher(teacher);
      return trainer;
    } finally {
      this.x.fm_config_free(cfg);
    }
  }

  // ---- evaluation ----
  /** Precision / recall / F1 / support per class and macro averages from a 10x10 confusion matrix. */
  report(confusion) {
    const pc = this.alloc(400), po = this.alloc(45 * 4);
    try {
      this.i32.set(confusion, pc >> 2);
      this.x.fm_report(pc, po);
      const o = this.f32.slice(po >> 2, (po >> 2) + 45);
      const per_class = CLASS_NAMES.map((label, c) => ({
        label, precision: o[c * 4], recall: o[c * 4 + 1], f1: o[c * 4 + 2], support: o[c * 4 + 3],
      }));
      return {
        accuracy: o[44],
        per_class,
        macro: { precision: o[40], recall: o[41], f1: o[42], support: o[43] },
      };
    } finally {
      this.free(pc); this.free(po);
    }
  }

  /** Evaluates net on images [start, start+count) of a dataset, in chunks (progress via onProgress). */
  evaluate(net, dataset, { start = 0, count = dataset.count - start, chunk = 1000, onProgress } = {}) {
    const pc = this.alloc(400);
    const pp = this.alloc(Math.max(1, count));
    try {
      this.i32.fill(0, pc >> 2, (pc >> 2) + 100);
      const t0 = performance.now();
      for (let s = 0; s < count; s += chunk) {
        const n = Math.min(chunk, count - s);
        if (this.x.fm_evaluate_range(net.ptr, dataset.ptr, start + s, n, pc, pp + s) < 0) throw this.error('evaluate');
        onProgress?.(s + n, count);
      }
      const seconds = (performance.now() - t0) / 1000;
      const confusion = [];
      const m = this.i32.slice(pc >> 2, (pc >> 2) + 100);
      for (let r = 0; r < 10; r++) confusion.push(Array.from(m.subarray(r * 10, r * 10 + 10)));
      const predictions = this.u8.slice(pp, pp + count);
      return { ...this.report(m), confusion, predictions, seconds, images_per_sec: count / seconds };
    } finally {
      this.free(pc); this.free(pp);
    }
  }

  // ---- images ----

  /** Decodes PNG/JPEG/GIF/BMP/WebP bytes to RGBA (JPEG EXIF orientation applied). */
  decodeImageRgba(bytes) {
    if (bytes.length > MAX_IMAGE_BYTES) throw new FmnistError(`image file is over the ${MAX_IMAGE_BYTES / 2 ** 20} MB limit`);
    const pb = this.copyIn(bytes), out = this.alloc(12);
    try {
      if (!this.x.fm_image_decode_rgba(pb, bytes.length, out, out + 4, out + 8)) throw this.error();
      const [pix, width, height] = this.i32.slice(out >> 2, (out >> 2) + 3);
      const rgba = this.u8.slice(pix, pix + width * height * 4);
      this.free(pix);
      return { rgba, width, height };
    } finally {
      this.free(pb); this.free(out);
    }
  }
  /** The photo pipeline: RGBA photo -> {input: 28x28 bytes, box: [x0, y0, x1, y1],
   * mask: {width, height, data} (255 = the object kept, at the pipeline's working size)}.
   * options.side renders the object at side x side (8-64) instead, for larger models. */
  photoToInput(rgba, width, height, { side = 28 } = {}) {
    if (!Number.isInteger(side)) throw new FmnistError(`side must be an integer, not ${side}`);
    // Room for the largest render (64x64); fm_photo_render checks the side.
    const R = 64 * 64, M = 160 * 160, pr = this.copyIn(rgba), out = this.alloc(24 + R + M);
    try {
      if (!this.x.fm_photo_render(pr, width, height, side, out + 24, out, out + 24 + R, out + 16)) throw this.error();
      const [mw, mh] = this.i32.slice((out + 16) >> 2, (out + 24) >> 2);
      return {
        input: this.u8.slice(out + 24, out + 24 + side * side), box: Array.from(this.i32.slice(out >> 2, (out >> 2) + 4)),
        mask: { width: mw, height: mh, data: this.u8.slice(out + 24 + R, out + 24 + R + mw * mh) },
      };
    } finally {
      this.free(pr); this.free(out);
    }
  }
  /** Width and height from an image file's header; throws for unknown formats or huge images. */
  imageInfo(bytes) {
    const pb = this.copyIn(bytes.subarray(0, Math.min(bytes.length, 1 << 20))), out = this.alloc(8);
    try {
      if (!this.x.fm_image_info(pb, Math.min(bytes.length, 1 << 20), out, out + 4)) throw this.error();
      const [width, height] = this.i32.slice(out >> 2, (out >> 2) + 2);
      return { width, height };
    } finally {
      this.free(pb); this.free(out);
    }
  }


}

export class Dataset {
  constructor(fm, ptr) {
    this.fm = fm;
    this.ptr = ptr;
    const v = fm.i32.subarray(ptr >> 2, (ptr >> 2) + 5);
    this.count = v[0];
    this.rows = v[1];
    this.cols = v[2];
  }
  get imagesPtr() { return this.fm.i32[(this.ptr >> 2) + 3]; }
  get labelsPtr() { return this.fm.i32[(this.ptr >> 2) + 4]; }
  /** Pixels of image i (a copy). */
  image(i) {
    const n = this.rows * this.cols, p = this.imagesPtr + i * n;
    return this.fm.u8.slice(p, p + n);
  }
  /** Pixels of images [start, start+count) (a copy). */
  images(start = 0, count = this.count - start) {
    const n = this.rows * this.cols, p = this.imagesPtr + start * n;
    return this.fm.u8.slice(p, p + count * n);
  }
  labels(start = 0, count = this.count - start) {
    const p = this.labelsPtr + start;
    return this.fm.u8.slice(p, p + count);
  }
  free() {
    if (this.ptr) this.fm.x.fm_dataset_free(this.ptr);
    this.ptr = 0;
  }
}

export class Net {
  constructor(fm, ptr) {
    this.fm = fm;
    this.ptr = ptr;
  }
  get spec() { return this.fm.str(this.fm.x.fm_net_spec(this.ptr)); }
  get paramCount() { return Number(this.fm.x.fm_net_param_count(this.ptr)); }
  /** Multiply-adds of one image's forward pass. */
  get macs() { return this.fm.x.fm_net_macs(this.ptr); }
  /** A copy of all trainable parameters (state_dict order). */
  params() {
    const p = this.fm.x.fm_net_params(this.ptr) >> 2;
    return this.fm.f32.slice(p, p + this.paramCount);
  }
  /** Bytes of one input image: 784 (28x28) for the Fashion-MNIST models. */
  get inputSize() { return this.fm.x.fm_net_input_size(this.ptr); }
  /** The side of the photo renders this model takes (photoToInput's options.side): 28 for the
   * shipped models. Throws for a model whose input is not a square gray image of 8-64 pixels. */
  get photoSide() {
    const side = this.fm.x.fm_net_photo_side(this.ptr);
    if (!side) throw this.fm.error();
    return side;
  }
  /** Class probabilities [n x 10] for n images of inputSize bytes (28x28 for the shipped models). */
  predict(pixels, n) {
    const size = this.inputSize;
    if (n === undefined) {
      if (pixels.length % size) {
        throw new FmnistError(`${pixels.length} bytes are not whole images: this model takes ${size} bytes per image`);
      }
      n = pixels.length / size;
    }
    if (!Number.isInteger(n) || n < 0 || n * size > pixels.length) {
      throw new FmnistError(`${n} images of ${size} bytes need ${n * size} bytes, but ${pixels.length} were given`);
    }
    const fm = this.fm, px = fm.copyIn(pixels), pr = fm.alloc(n * 40);
    try {
      if (!fm.x.fm_net_predict_u8(this.ptr, px, n, pr)) throw fm.error('predict');
      return fm.f32.slice(pr >> 2, (pr >> 2) + n * 10);
    } finally {
      fm.free(px); fm.free(pr);
    }
  }
  /** A photo's ten probabilities (Float32Array): its plain render `input` (photoToInput
   * of the same RGBA photo) and, when the model has photo views (metadata photo_views)
   * and the plain answer is unsure, the mean with that many jittered renders
   * (fm_net_predict_photo). */
  predictPhoto(rgba, width, height, input) {
    const side = this.photoSide;
    if (!(input instanceof Uint8Array) || input.length !== side * side) {
      throw new FmnistError(`a photo input for this model is ${side * side} bytes (${side}x${side}: photoToInput(rgba, w, h, { side: ${side} }))`);
    }
    const fm = this.fm, pr = fm.copyIn(rgba), pi = fm.copyIn(input), out = fm.alloc(40);
    try {
      if (!fm.x.fm_net_predict_photo(this.ptr, pr, width, height, pi, out)) throw fm.error('predict');
      return fm.f32.slice(out >> 2, (out >> 2) + 10);
    } finally {
      fm.free(pr); fm.free(pi); fm.free(out);
    }
  }
  /** Every photo of a PhotoSet (count x 10), with the model's photo views from the
   * renders the set keeps (loaded with at least photo_views jitters). */
  predictPhotoSet(set) {
    const fm = this.fm, out = fm.alloc(Math.max(1, set.count) * 40);
    try {
      if (!fm.x.fm_net_predict_photoset(this.ptr, set.ptr, out)) throw fm.error('predict');
      return fm.f32.slice(out >> 2, (out >> 2) + set.count * 10);
    } finally {
      fm.free(out);
    }
  }
  /** Jittered renders a photo's answer may average (metadata photo_views; 0 = none). */
  get photoViews() { return this.fm.x.fm_net_photo_views(this.ptr); }
  /** Like predict, but the pixels are already in wasm memory (benchmarks). */
  predictAt(pxPtr, n, probsPtr) {
    if (!this.fm.x.fm_net_predict_u8(this.ptr, pxPtr, n, probsPtr)) throw this.fm.error('predict');
  }
  /** What the model looked at for one 28x28 image of bytes: the gradient of
   * class cls's logit (default: the top class) with respect to each pixel
   * (fm_net_saliency). Returns {index, gradient: Float32Array(784)}. */
  saliency(pixels, cls = -1) {
    const fm = this.fm, n = fm.x.fm_net_input_size(this.ptr), px = fm.copyIn(pixels.subarray(0, n)), pg = fm.alloc(n * 4);
    try {
      const index = fm.x.fm_net_saliency(this.ptr, px, cls, pg);
      if (index < 0) throw fm.error('saliency');
      return { index, gradient: fm.f32.slice(pg >> 2, (pg >> 2) + n) };
    } finally {
      fm.free(px); fm.free(pg);
    }
  }
  /** exact = true: inference in float32 throughout, as training computes it;
   * false (the default): the 3x3 convolutions on planes from 7x7 up, a first
   * convolution of one channel and the larger dense layers multiply in int16 (fm_net_set_exact; inference
   * x1.15-1.33 faster, under 0.1% of test images change class). */
  setExact(exact) { this.fm.x.fm_net_set_exact(this.ptr, exact ? 1 : 0); }
  setMeta(key, value) {
    const fm = this.fm;
    const ok = fm.withStr(key, (k) => fm.withStr(String(value), (v) => fm.x.fm_net_set_meta(this.ptr, k, v)));
    if (!ok) throw fm.error('metadata');
  }
  /** Moves this network's weights (and batch-norm statistics) toward another
   * of the same architecture: this = (1 - weight) * this + weight * other. */
  blend(other, weight) {
    if (!this.fm.x.fm_net_blend(this.ptr, other.ptr, weight)) throw this.fm.error('blend');
  }
  /** The verdict on one image's probabilities (fm_net_verdict): top class,
   * whether it is unsure, and whether it is probably one of the ten classes
   * (judged by models trained on out-of-scope photos; else always true). */
  verdict(probs) {
    const fm = this.fm, pp = fm.alloc(40 + 12);
    try {
      fm.f32.set(probs, pp >> 2);
      if (!fm.x.fm_net_verdict(this.ptr, pp, pp + 40)) throw fm.error('verdict');
      const [index, unsure, inScope] = fm.i32.slice((pp + 40) >> 2, (pp + 52) >> 2);
      return { index, label: CLASS_NAMES[index], confidence: probs[index], unsure: !!unsure, in_scope: !!inScope };
    } finally {
      fm.free(pp);
    }
  }
  getMeta(key) {
    return this.fm.withStr(key, (k) => this.fm.str(this.fm.x.fm_net_get_meta(this.ptr, k)));
  }
  /** The model as safetensors bytes; dtype 'F16' stores the weights as
   * float16 (half the size), 'F32' as float32; by default a network keeps
   * the dtype of the file it was loaded from until it is trained (float32
   * for a new one). */
  save({ dtype } = {}) {
    const fm = this.fm, out = fm.alloc(8);
    try {
      const ok = dtype === undefined ? fm.x.fm_net_save(this.ptr, out, out + 4)
        : fm.withStr(String(dtype), (d) => fm.x.fm_net_save_as(this.ptr, d, out, out + 4));
      if (!ok) throw fm.error('save');
      return fm.takeBuffer(out);
    } finally {
      fm.free(out);
    }
  }
  free() {
    if (this.ptr) this.fm.x.fm_net_free(this.ptr);
    this.ptr = 0;
  }
}

/** Real photos for training, each kept as the photo pipeline's 28x28 input
 * with the classes its folder allows (fmnist.h, fm_photoset_*). */
export class PhotoSet {
  constructor(fm, ptr) {
    this.fm = fm;
    this.ptr = ptr;
  }
  get count() { return this.fm.x.fm_photoset_count(this.ptr); }
  /** The mapping's folders: [{name, classes: [indices]}] ([] = none of the ten). */
  get folders() {
    const x = this.fm.x, out = [];
    for (let f = 0; f < x.fm_photoset_folders(this.ptr); f++) {
      const mask = x.fm_photoset_folder_allowed(this.ptr, f);
      out.push({ name: this.fm.str(x.fm_photoset_folder_name(this.ptr, f)), classes: maskClasses(mask) });
    }
    return out;
  }
  /** Photos added by add() from now on also keep n (0..32) jittered training
   * renders: perturbed copies (framing, resolution, light, colour, noise) run
   * through the same pipeline; the trainer draws one of a photo's renders
   * each time. Each costs one more pipeline run per photo. */
  setJitters(n) {
    if (!Number.isInteger(n) || !this.fm.x.fm_photoset_set_jitters(this.ptr, n)) throw this.fm.error('jitters');
  }
  /** All renders held for training, plain and jittered. */
  get renders() { return this.fm.x.fm_photoset_renders(this.ptr); }
  /** Renders are side x side pixels: 28 unless setSide() changed it. */
  get side() { return this.fm.x.fm_photoset_side(this.ptr); }
  /** Photos are rendered at side x side (8-64) instead of 28x28, for a model of such inputs
   * (createNet(spec, { side })); only before any photo is added. */
  setSide(side) {
    if (!Number.isInteger(side)) throw new FmnistError(`side must be an integer, not ${side}`);
    if (!this.fm.x.fm_photoset_set_side(this.ptr, side)) throw this.fm.error();
  }
  /** Decodes a photo file (PNG, JPEG, GIF, BMP, WebP), runs the photo pipeline and adds it
   * under its folder; returns its index. Throws (set unchanged) for an
   * unknown folder or an image that cannot be decoded. */
  add(folder, bytes) {
    const fm = this.fm;
    if (bytes.length > MAX_IMAGE_BYTES) throw new FmnistError(`image file is over the ${MAX_IMAGE_BYTES / 2 ** 20} MB limit`);
    const i = fm.withBytes(bytes, (pb) => fm.withStr(folder, (f) => fm.x.fm_photoset_add(this.ptr, f, pb, bytes.length)));
    if (i < 0) throw fm.error();
    return i;
  }
  /** Adds a side x side input the pipeline already made (photoToInput) under a folder. */
  addInput(folder, input) {
    const fm = this.fm;
    const i = fm.withBytes(checkInput(input, this.side), (pi) => fm.withStr(folder, (f) => fm.x.fm_photoset_add_input(this.ptr, f, pi)));
    if (i < 0) throw fm.error();
    return i;
  }
  /** Adds a side x side input with its own allowed classes (indices; [] = none of the ten). */
  addLabeled(input, classes) {
    const fm = this.fm;
    let mask = 0;
    for (const c of classes) {
      if (!Number.isInteger(c) || c < 0 || c > 9) throw new FmnistError(`class ${c} is not an index 0..9`);
      mask |= 1 << c;
    }
    const i = fm.withBytes(checkInput(input, this.side), (pi) => fm.x.fm_photoset_add_labeled(this.ptr, pi, mask));
    if (i < 0) throw fm.error();
    return i;
  }
  /** Photo i: its input (a copy, side x side), allowed classes and folder name (null when labelled on its own). */
  photo(i) {
    const x = this.fm.x;
    if (!(i >= 0 && i < this.count)) throw new FmnistError(`photo ${i} does not exist (${this.count} in the set)`);
    const n = this.side ** 2, p = x.fm_photoset_inputs(this.ptr) + i * n, f = x.fm_photoset_folder_of(this.ptr, i);
    return {
      input: this.fm.u8.slice(p, p + n), classes: maskClasses(x.fm_photoset_allowed(this.ptr, i)),
      folder: f >= 0 ? this.fm.str(x.fm_photoset_folder_name(this.ptr, f)) : null,
    };
  }
  /** All inputs, count x side^2 bytes (a copy), e.g. for net.predict. */
  inputs() {
    const p = this.fm.x.fm_photoset_inputs(this.ptr);
    return this.fm.u8.slice(p, p + this.count * this.side ** 2);
  }
  /** Cross-validation: fold `fold` of `folds` (the k-th photo of each folder is
   * in fold k % folds) when heldOut, else every other fold, as a new set. */
  split(fold, folds, heldOut) {
    const p = this.fm.x.fm_photoset_split(this.ptr, fold, folds, heldOut ? 1 : 0);
    if (!p) throw this.fm.error('split');
    return new PhotoSet(this.fm, p);
  }
  free() {
    if (this.ptr) this.fm.x.fm_photoset_free(this.ptr);
    this.ptr = 0;
  }
}

function maskClasses(mask) {
  const out = [];
  for (let c = 0; c < 10; c++) if (mask >> c & 1) out.push(c);
  return out;
}

function checkInput(input, side) {
  if (!(input instanceof Uint8Array) || input.length !== side * side) {
    throw new FmnistError(`a photo input here is ${side * side} bytes (${side}x${side})`);
  }
  return input;
}

export class Trainer {
  constructor(fm, ptr, net, dataset, photos) {
    this.fm = fm;
    this.ptr = ptr;
    this.net = net;
    this.dataset = dataset;
    this.photos = photos;
    this.info = fm.alloc(32);
  }
  /** Runs one mini-batch. Returns its stats, or null when training is done.
   * A data-parallel trainer (options shard, shards) returns them with
   * pending: true: exchange vectors, then finish(). */
  step() {
    const fm = this.fm;
    const r = fm.x.fm_trainer_step(this.ptr, this.info);
    if (r < 0) throw fm.error();
    if (r === 0) return null;
    return { ...this.readInfo(), pending: r === 2 };
  }
  readInfo() {
    const i = this.fm.i32, f = this.fm.f32, b = this.info >> 2;
    return {
      epoch: i[b], batch: i[b + 1], batchesPerEpoch: i[b + 2], images: i[b + 3],
      loss: f[b + 4], accuracy: f[b + 5], lr: f[b + 6], done: !!i[b + 7],
    };
  }
  /** Data-parallel: this shard's gradients and batch-norm statistics, copied
   * into `into` when it is a Float32Array of the right length (no allocation:
   * the page's workers pass the same buffers back and forth), else a new one. */
  exchangeVector(into) {
    const fm = this.fm, n = fm.x.fm_trainer_exchange_size(this.ptr);
    this.xbuf ||= fm.alloc(n * 4); // one wasm-side buffer per trainer, freed with it
    if (!fm.x.fm_trainer_exchange_get(this.ptr, this.xbuf)) throw fm.error();
    const view = fm.f32.subarray(this.xbuf >> 2, (this.xbuf >> 2) + n);
    if (into?.length === n) {
      into.set(view);
      return into;
    }
    return view.slice();
  }
  /** Data-parallel: adds every shard's vector (shard order, own included), then
   * applies the update; returns this shard's stats of the step. */
  finish(vectors) {
    const fm = this.fm, n = fm.x.fm_trainer_exchange_size(this.ptr);
    this.xbuf ||= fm.alloc(n * 4);
    for (const v of vectors) {
      if (v.length !== n) throw new FmnistError(`exchange vector of ${v.length} floats, expected ${n}`);
      fm.f32.set(v, this.xbuf >> 2);
      if (!fm.x.fm_trainer_exchange_add(this.ptr, this.xbuf)) throw fm.error();
    }
    if (fm.x.fm_trainer_finish(this.ptr, this.info) < 0) throw fm.error();
    return this.readInfo();
  }
  /** The trainer's state (position, random streams, optimiser moments) as bytes;
   * with net.save() beside it, a run can resume exactly (loadState). */
  saveState() {
    const fm = this.fm, out = fm.alloc(8);
    try {
      if (!fm.x.fm_trainer_save_state(this.ptr, out, out + 4)) throw fm.error('checkpoint');
      return fm.takeBuffer(out);
    } finally {
      fm.free(out);
    }
  }
  /** Restores saveState() bytes into a trainer made with the same options and data. */
  loadState(bytes) {
    const fm = this.fm, p = fm.copyIn(bytes);
    try {
      if (!fm.x.fm_trainer_load_state(this.ptr, p, bytes.length)) throw fm.error('checkpoint');
    } finally {
      fm.free(p);
    }
  }
  /** Epochs completed so far. */
  get epoch() { return this.fm.x.fm_trainer_epoch(this.ptr); }
  /** With option ema: exchanges the network's weights with their moving average
   * (again to swap back); after the last step the average is in the network. */
  swapAverage() {
    if (!this.fm.x.fm_trainer_swap_average(this.ptr)) throw this.fm.error('swapAverage');
  }
  /** True while the moving average is the network's weights. */
  get averageInNet() { return this.fm.x.fm_trainer_average_in_net(this.ptr) === 1; }
  /** With option distill: the model whose answers (for the same augmented
   * images) are mixed into the Fashion-MNIST targets; null removes it. The
   * teacher must stay alive while this trainer steps; it is not part of
   * saveState() (set it again after loadState). */
  setTeacher(teacher) {
    if (teacher !== null && !(teacher instanceof Net)) throw new FmnistError('setTeacher: not a Net (or null)');
    if (!this.fm.x.fm_trainer_set_teacher(this.ptr, teacher ? teacher.ptr : 0)) throw this.fm.error('setTeacher');
    this.teacher = teacher;
  }
  free() {
    if (this.ptr) this.fm.x.fm_trainer_free(this.ptr);
    if (this.xbuf) this.fm.free(this.xbuf);
    this.xbuf = 0;
    this.fm.free(this.info);
    this.ptr = 0;
    this.info = 0;
  }
}
