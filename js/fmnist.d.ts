// Type declarations for fmnist.mjs (the package's main entry, 'fmnist-wasm').
// Every name exported there is declared here, and documented in docs/api.md
// (tests/api-docs.test.mjs keeps the three in step).

/** Bytes as the module accepts them: a Uint8Array (a Node Buffer is one). */
export type Bytes = Uint8Array;

/** The ten Fashion-MNIST classes, in label order (0 = 'T-shirt/top' ... 9 = 'Ankle boot'). */
export const CLASS_NAMES: readonly [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
/** A class name, as in CLASS_NAMES. */
export type ClassName = (typeof CLASS_NAMES)[number];

/** Largest model file accepted (bytes); larger ones are refused before being copied into wasm memory. */
export const MAX_MODEL_BYTES: number;
/** Largest image file accepted for decoding (bytes). */
export const MAX_IMAGE_BYTES: number;
/** Optimizer names and the numbers the C library uses for them. */
export const OPTIMIZERS: { readonly sgd: 0; readonly adam: 1; readonly adamw: 2 };
/** Learning-rate schedule names and their numbers. */
export const SCHEDULES: { readonly constant: 0; readonly cosine: 1 };
/** Below this top-1 probability (0.5) an answer is reported as unsure. */
export const UNSURE_BELOW: number;

/** The verdict on one probability vector. */
export interface Judgement {
  /** The most probable class (0-9). */
  index: number;
  label: ClassName;
  /** Its probability. */
  confidence: number;
  /** confidence < UNSURE_BELOW: the model is guessing, or the picture shows none of the classes. */
  unsure: boolean;
}
/** The top-1 class of ten class probabilities, and whether it is unsure. */
export function judge(probs: ArrayLike<number>): Judgement;

/** Every error the library reports (bad files, bad options, a diverged run): the C library's message. */
export class FmnistError extends Error {
  constructor(message: string);
  name: 'FmnistError';
}

/**
 * Loads the WebAssembly module. `source`: the module's bytes, or a URL or a path to it.
 * Default: `new URL('../build/fmnist.wasm', import.meta.url)`, i.e. the file in this
 * package (read from disk in Node, fetched elsewhere). A bundled app passes the URL
 * where its bundler put the file.
 */
export function loadFmnist(source?: Bytes | ArrayBuffer | URL | string): Promise<Fmnist>;

/** Training options (all optional; defaults in brackets). */
export interface TrainerOptions {
  /** [1] passes over the training set. */
  epochs?: number;
  /** [64] images per mini-batch (1-4096). */
  batch?: number;
  /** [1e-3] learning rate. */
  lr?: number;
  /** ['adam'] */
  optimizer?: keyof typeof OPTIMIZERS | 0 | 1 | 2;
  /** [0.9] SGD momentum. */
  momentum?: number;
  /** [false] Nesterov momentum (SGD). */
  nesterov?: boolean | 0 | 1;
  /** [0] L2 (sgd, adam) or decoupled (adamw) weight decay. */
  weight_decay?: number;
  /** [0.9] Adam beta1. */
  beta1?: number;
  /** [0.999] Adam beta2. */
  beta2?: number;
  /** [1e-8] Adam epsilon. */
  eps?: number;
  /** ['constant'] */
  schedule?: keyof typeof SCHEDULES | 0 | 1;
  /** [0] epochs of linear warm-up. */
  warmup_epochs?: number;
  /** [0] floor of the cosine schedule. */
  min_lr?: number;
  /** [0] label smoothing (0-0.99). */
  label_smoothing?: number;
  /** [0] seeds initialisation-independent randomness: shuffles, augmentation, dropout. */
  seed?: number;
  /** [0] random shifts of up to N pixels (0-8). */
  augment_shift?: number;
  /** [false] random horizontal flips. */
  augment_flip?: boolean | 0 | 1;
  /** [0] probability of random erasing. */
  augment_erase?: number;
  /** [0] probability of photo-like distortions (rotation, scale, contrast, blur, noise). */
  augment_photo?: number;
  /** [0] probability that a sneaker is drawn as a pair of shoes. */
  augment_pair?: number;
  /** [0 = all] train on the first N images only. */
  limit?: number;
  /** [0] keep the last N training images out (for validation). */
  holdout?: number;
  /** Real photos to mix into every batch (Fmnist.createPhotoSet, loadPhotoFolder); must outlive the trainer. */
  photos?: PhotoSet;
  /** [0] share of each batch drawn from `photos` (0-1; at least one photo per batch when above 0). */
  photo_ratio?: number;
  /** [0] 0: photos as they come; 1: each folder equally often (folders weighted by n^(1-b)). */
  photo_balance?: number;
  /** Data-parallel training: this trainer's share (0 .. shards-1). */
  shard?: number;
  /** [1] Data-parallel training: how many trainers share each batch. */
  shards?: number;
  /** [0 = off] decay per step of a moving average of the weights (e.g. 0.999); the finished run's model is the average. */
  ema?: number;
  /** [0 = off] weight (0-1) of `teacher`'s probabilities in each Fashion-MNIST image's target (knowledge distillation). */
  distill?: number;
  /** The model distilled from (with `distill`): any loaded Net with the same input; must outlive the trainer. */
  teacher?: Net;
}

/** The verdict of a model on one image's probabilities (Net.verdict). */
export interface Verdict extends Judgement {
  /** False when the picture is probably none of the ten classes (judged by models trained on
   * out-of-scope photos, from their metadata `scope_min`; always true for other models). */
  in_scope: boolean;
}

/** Which Fashion-MNIST classes the photos in each folder may be: class names or indices;
 * [] = none of the ten (a hat). Other top-level keys are ignored. */
export interface PhotoMapping {
  folders: Record<string, Array<ClassName | number>>;
  [key: string]: unknown;
}

/** Statistics of one training step (one mini-batch). */
export interface StepInfo {
  /** 0-based epoch of the step. */
  epoch: number;
  /** 0-based batch within the epoch. */
  batch: number;
  batchesPerEpoch: number;
  /** Images in this batch (this shard's share when data-parallel). */
  images: number;
  /** Mean cross-entropy of the batch. */
  loss: number;
  /** Fraction of the batch predicted right. */
  accuracy: number;
  /** Learning rate used. */
  lr: number;
  /** True after the last step. */
  done: boolean;
}
/** What Trainer.step() returns. */
export interface StepResult extends StepInfo {
  /** Data-parallel: the update waits for exchangeVector() / finish(). */
  pending: boolean;
}

/** Precision, recall, F1 and support of one class (or their macro average). */
export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}
/** What Fmnist.report() returns. */
export interface Report {
  accuracy: number;
  per_class: Array<ClassReport & { label: ClassName }>;
  macro: ClassReport;
}
/** What Fmnist.evaluate() returns. */
export interface Evaluation extends Report {
  /** 10x10, rows = true class, columns = predicted. */
  confusion: number[][];
  /** The predicted class of every image evaluated. */
  predictions: Uint8Array;
  seconds: number;
  images_per_sec: number;
}
export interface EvaluateOptions {
  /** [0] first image. */
  start?: number;
  /** [all from start] how many images. */
  count?: number;
  /** [1000] images per call into wasm (between progress reports). */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Decoded image pixels, 4 bytes (RGBA) per pixel, row by row. */
export interface RgbaImage {
  rgba: Uint8Array;
  width: number;
  height: number;
}
/** What the photo pipeline made of a photo. */
export interface PhotoInput {
  /** 28x28 bytes (side x side with options.side), as a Fashion-MNIST image (light object on black): pass to Net.predict(). */
  input: Uint8Array;
  /** The crop in the photo's pixels: [x0, y0, x1, y1]. */
  box: [number, number, number, number];
  /** The object mask at the pipeline's working size: 255 = kept, 0 = background. */
  mask: { width: number; height: number; data: Uint8Array };
}

/** Exports of the WebAssembly instance (the C API of include/fmnist.h). */
export interface FmnistExports {
  memory: { buffer: ArrayBuffer };
  [name: string]: unknown;
}

/** The loaded module: datasets, networks, trainers, evaluation and images. */
export class Fmnist {
  constructor(exports: FmnistExports);
  /** The raw wasm exports (the C API). */
  readonly x: FmnistExports;
  /** Views of wasm memory (valid until memory grows). */
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  /** Low-level memory helpers used by the classes below. */
  error(what?: string): FmnistError;
  alloc(n: number): number;
  free(ptr: number): void;
  copyIn(bytes: Uint8Array): number;
  cstr(s: string): number;
  str(ptr: number): string | null;
  takeBuffer(out: number): Uint8Array;
  withStr<T>(s: string, fn: (ptr: number) => T): T;
  withBytes<T>(bytes: Uint8Array, fn: (ptr: number) => T): T;

  /** Parses IDX images and labels, raw or gzip; names label error messages. */
  parseDataset(images: Bytes, labels: Bytes, names?: { imagesName?: string; labelsName?: string }): Dataset;
  /** A freshly initialised network from a spec: 'mlp', 'cnn-small', 'cnn-bn', 'cnn-res' or tokens such as 'conv3x3:32,relu,maxpool2,flatten,dense:10'. */
  createNet(spec: string, options?: {
    seed?: number;
    /** [28] input images are side x side (a model for photoToInput's larger renders). */
    side?: number;
  }): Net;
  /** Loads a safetensors model file. */
  loadNet(bytes: Bytes): Net;
  /** A trainer of net on dataset (and options.photos): call step() until it returns null.
   * Net, dataset and photos must outlive it. */
  createTrainer(net: Net, dataset: Dataset | null, options?: TrainerOptions): Trainer;
  /** An empty set of real photos for training, from a folder-to-classes mapping (or its JSON text). */
  createPhotoSet(mapping: PhotoMapping | string): PhotoSet;
  /** Precision / recall / F1 / support per class and macro averages from a 10x10 confusion matrix (flat, row-major). */
  report(confusion: ArrayLike<number>): Report;
  /** Evaluates net on images [start, start+count) of a dataset. */
  evaluate(net: Net, dataset: Dataset, options?: EvaluateOptions): Evaluation;
  /** Decodes PNG, JPEG, GIF (first frame), BMP or WebP (not animated) bytes to RGBA (JPEG EXIF orientation applied). */
  decodeImageRgba(bytes: Bytes): RgbaImage;
  /** The photo pipeline: an RGBA photo to the 28x28 image the models expect. */
  photoToInput(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, options?: {
    /** [28] render the object at side x side pixels (8-64), for models that take larger inputs. */
    side?: number;
  }): PhotoInput;
  /** Width and height from an image file's header; throws for unknown formats or images over 64 megapixels. */
  imageInfo(bytes: Bytes): { width: number; height: number };
}

/** A labelled image set in wasm memory (from Fmnist.parseDataset). */
export class Dataset {
  constructor(fm: Fmnist, ptr: number);
  readonly fm: Fmnist;
  /** The C object (0 after free()). */
  ptr: number;
  /** Number of images. */
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly imagesPtr: number;
  readonly labelsPtr: number;
  /** Pixels of image i (a copy, rows x cols bytes). */
  image(i: number): Uint8Array;
  /** Pixels of images [start, start+count) (a copy). */
  images(start?: number, count?: number): Uint8Array;
  /** Labels (0-9) of images [start, start+count) (a copy). */
  labels(start?: number, count?: number): Uint8Array;
  /** Releases its wasm memory. */
  free(): void;
}

/** A network (from Fmnist.createNet or Fmnist.loadNet). */
export class Net {
  constructor(fm: Fmnist, ptr: number);
  readonly fm: Fmnist;
  ptr: number;
  /** The architecture as a spec string. */
  readonly spec: string;
  /** Number of trainable parameters. */
  readonly paramCount: number;
  /** Multiply-adds of one image's forward pass. */
  readonly macs: number;
  /** A copy of all trainable parameters (PyTorch state_dict order). */
  params(): Float32Array;
  /** Bytes of one input image: 784 (28x28) for the Fashion-MNIST models. */
  readonly inputSize: number;
  /** The side of the photo renders it takes (photoToInput's options.side): 28 for the shipped
   * models; throws when its input is not a square gray image of 8-64 pixels. */
  readonly photoSide: number;
  /** Class probabilities, n x 10, for n images of inputSize bytes (0 = background); n defaults
   * to pixels.length / inputSize. Throws when the bytes are not whole images. */
  predict(pixels: Uint8Array, n?: number): Float32Array;
  /** A photo's ten probabilities: its plain render `input` (photoToInput of the same RGBA) and,
   * when the model has photo views and the plain answer is unsure (top class under
   * photo_views_below, default 0.6), the mean with `photoViews` jittered renders. */
  predictPhoto(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, input: Uint8Array): Float32Array;
  /** Every photo of a set (count x 10), with the photo views from the renders the set keeps. */
  predictPhotoSet(set: PhotoSet): Float32Array;
  /** Jittered renders a photo's answer may average (metadata photo_views; 0 = none). */
  readonly photoViews: number;
  /** Like predict, with pixels and output already in wasm memory (pointers). */
  predictAt(pxPtr: number, n: number, probsPtr: number): void;
  /** true: inference in float32 throughout (as training computes it); false
   * (default): int16 multiplies in the 3x3 convolutions from 7x7 planes up, in
   * a first 3x3 convolution of one input channel, and in dense layers of 64
   * inputs or more and a multiple of 8 outputs. */
  setExact(exact: boolean): void;
  /** Sets a metadata entry saved in the model file (e.g. 'tta' = 'shift' | 'mirror' | 'none'). */
  setMeta(key: string, value: string | number): void;
  /** Moves this network's weights and batch-norm statistics toward another of the same
   * architecture: this = (1 - weight) * this + weight * other (a weight average, "model soup"). */
  blend(other: Net, weight: number): void;
  /** The model's verdict on one image's probabilities: top class, unsure (under the model's
   * `unsure_below`, default 0.5) and in_scope. */
  verdict(probs: ArrayLike<number>): Verdict;
  /** Which pixels the answer rests on: the gradient of class `cls`'s logit (default -1: the top
   * class) with respect to the 28x28 input (batch norm in inference mode; weights untouched). */
  saliency(pixels: Uint8Array, cls?: number): { index: number; gradient: Float32Array };
  /** A metadata entry, or null. */
  getMeta(key: string): string | null;
  /** The model as safetensors bytes (PyTorch nn.Sequential names); dtype 'F16' stores the weights as float16 (half the size), 'F32' as float32; by default the dtype of the file it was loaded from until it is trained (float32 for a new network). */
  save(options?: { dtype?: 'F32' | 'F16' }): Uint8Array;
  /** Releases its wasm memory. */
  free(): void;
}

/** Real photos for training, each kept as the photo pipeline's 28x28 input with the classes
 * its folder allows (from Fmnist.createPhotoSet or loadPhotoFolder). */
export class PhotoSet {
  constructor(fm: Fmnist, ptr: number);
  readonly fm: Fmnist;
  ptr: number;
  /** Number of photos. */
  readonly count: number;
  /** Renders held for training: the plain one of each photo plus its jittered ones. */
  readonly renders: number;
  /** Photos added by add() from now on also keep n (0..32) jittered renders (framing,
   * resolution, light, colour, noise, through the same pipeline); training draws among them. */
  setJitters(n: number): void;
  /** Renders are side x side pixels: 28 unless setSide() changed it. */
  readonly side: number;
  /** Photos are rendered at side x side (8-64) instead of 28x28, for a model of such inputs
   * (createNet(spec, { side })); only before any photo is added. */
  setSide(side: number): void;
  /** The mapping's folders and their allowed classes (indices; [] = none of the ten). */
  readonly folders: Array<{ name: string; classes: number[] }>;
  /** Decodes a photo file, runs the photo pipeline and adds it under its folder; returns its
   * index. Throws (set unchanged) for an unknown folder or an image that cannot be decoded. */
  add(folder: string, bytes: Uint8Array): number;
  /** Adds a side x side input the pipeline already made (photoToInput) under a folder; returns its index. */
  addInput(folder: string, input: Uint8Array): number;
  /** Adds a side x side input with its own allowed classes (indices; [] = none of the ten); returns its index. */
  addLabeled(input: Uint8Array, classes: number[]): number;
  /** Photo i: its side x side input (a copy), allowed classes and folder (null when labelled on its own). */
  photo(i: number): { input: Uint8Array; classes: number[]; folder: string | null };
  /** All inputs, count x side^2 bytes (a copy). */
  inputs(): Uint8Array;
  /** Cross-validation: fold `fold` of `folds` (the k-th photo of each folder is in fold k % folds)
   * when heldOut, else every other fold, as a new set. */
  split(fold: number, folds: number, heldOut: boolean): PhotoSet;
  /** Releases its wasm memory. */
  free(): void;
}

/** Trains a network one mini-batch per step() call. */
export class Trainer {
  constructor(fm: Fmnist, ptr: number, net: Net, dataset: Dataset | null, photos?: PhotoSet);
  readonly fm: Fmnist;
  ptr: number;
  readonly net: Net;
  readonly dataset: Dataset | null;
  /** The photos mixed into its batches, if any. */
  readonly photos: PhotoSet | undefined;
  /** Runs one mini-batch; null when training is done. Throws FmnistError if the loss diverges (the weights from before the step are kept). */
  step(): StepResult | null;
  /** The statistics of the last step. */
  readInfo(): StepInfo;
  /** Data-parallel: this shard's gradients and batch-norm statistics (into `into` when it has the right length). */
  exchangeVector(into?: Float32Array): Float32Array;
  /** Data-parallel: adds every shard's vector (shard order, own included) and applies the update. */
  finish(vectors: Float32Array[]): StepInfo;
  /** The trainer's state (position, random streams, optimizer moments); with net.save(), a run resumes exactly. */
  saveState(): Uint8Array;
  /** Restores saveState() bytes into a trainer made with the same options and data. */
  loadState(bytes: Uint8Array): void;
  /** Epochs completed so far. */
  readonly epoch: number;
  /** With option `ema`: exchanges the network's weights with their moving average (call again to swap back). After the last step the average is in the network; a step taken while it is swapped in swaps the trained weights back first. */
  swapAverage(): void;
  /** True while the moving average is the network's weights. */
  readonly averageInNet: boolean;
  /** With option `distill`: the model whose answers for the same augmented images are mixed into the Fashion-MNIST targets (null removes it). Not part of saveState(): set it again after loadState. */
  setTeacher(teacher: Net | null): void;
  /** Releases its wasm memory (not the net's or the dataset's). */
  free(): void;
}
