// Type declarations for node-data.mjs ('fmnist-wasm/node'): reading the
// dataset and other files from disk in Node. Documented in docs/api.md.
import type { Dataset, Fmnist, PhotoSet } from './fmnist.js'; // fmnist.d.ts

/** Debian's dataset folder: '/usr/share/datasets/fashion-mnist'. */
export const DEFAULT_DATA_DIR: string;
/** The dataset folder: `flag` if given, else $FASHION_MNIST_DIR, else DEFAULT_DATA_DIR. */
export function dataDir(flag?: string): string;
/** Loads the official 'train' (60,000) or 'test' (10,000) split from dir (gzipped or raw IDX files). */
export function loadSplit(fm: Fmnist, dir: string, split: 'train' | 'test'): Promise<Dataset>;
/** Reads a file, refusing files over maxBytes before reading; errors are FmnistError naming `what` and the path. */
export function readInput(path: string, what?: string, maxBytes?: number): Promise<Uint8Array>;
/** The folder-to-classes mapping shipped for the clothing photos (photos/clothing-dataset-small.json). */
export const DEFAULT_PHOTO_MAP: URL;
/** Reads a folder of class folders (DIR/t-shirt/a.jpg, ...) into a PhotoSet, files in sorted order.
 * The mapping is `mapping` (a path) when given, else DIR/mapping.json when it exists, else DEFAULT_PHOTO_MAP.
 * Undecodable files, unlisted and empty folders go to onSkip and are left out; no photo at all throws. */
export function loadPhotoFolder(fm: Fmnist, dir: string, options?: {
  mapping?: string | URL;
  /** Jittered training renders per photo (PhotoSet.setJitters), 0..32; default 0. */
  jitters?: number;
  /** Render side (PhotoSet.setSide), 8..64; default 28. */
  side?: number;
  onSkip?: (path: string, reason: string) => void;
  onProgress?: (done: number, total: number) => void;
}): Promise<PhotoSet>;
