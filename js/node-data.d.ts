// Type declarations for node-data.mjs ('fmnist-wasm/node'): reading the
// dataset and other files from disk in Node. Documented in docs/api.md.
import type { Dataset, Fmnist } from './fmnist.js'; // fmnist.d.ts

/** Debian's dataset folder: '/usr/share/datasets/fashion-mnist'. */
export const DEFAULT_DATA_DIR: string;
/** The dataset folder: `flag` if given, else $FASHION_MNIST_DIR, else DEFAULT_DATA_DIR. */
export function dataDir(flag?: string): string;
/** Loads the official 'train' (60,000) or 'test' (10,000) split from dir (gzipped or raw IDX files). */
export function loadSplit(fm: Fmnist, dir: string, split: 'train' | 'test'): Promise<Dataset>;
/** Reads a file, refusing files over maxBytes before reading; errors are FmnistError naming `what` and the path. */
export function readInput(path: string, what?: string, maxBytes?: number): Promise<Uint8Array>;
