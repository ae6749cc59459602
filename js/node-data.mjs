// node-data.mjs: finding and reading the dataset and model files from disk
// in Node. Parsing and validation happen in the wasm module (fm_dataset_parse).
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FmnistError } from './fmnist.mjs';

export const DEFAULT_DATA_DIR = '/usr/share/datasets/fashion-mnist';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
};

/** The data directory: --data, else $FASHION_MNIST_DIR, else Debian's. */
export function dataDir(flag) {
  return flag || process.env.FASHION_MNIST_DIR || DEFAULT_DATA_DIR;
}

/** Path of one IDX file, gzipped or raw, whichever exists. */
function findFile(dir, base) {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new FmnistError(`${join(dir, base)}[.gz] not found (set --data DIR or FASHION_MNIST_DIR; ` +
    `on Debian: apt-get install dataset-fashion-mnist)`);
}

/** Loads the 'train' or 'test' split into the module. */
export async function loadSplit(fm, dir, split) {
  const [imgBase, lblBase] = FILES[split];
  const ip = findFile(dir, imgBase), lp = findFile(dir, lblBase);
  const [images, labels] = await Promise.all([readFile(ip), readFile(lp)]);
  return fm.parseDataset(images, labels, { imagesName: ip, labelsName: lp });
}

/** Reads a file with a clear error, refusing (before reading) files over maxBytes. */
export async function readInput(path, what = 'file', maxBytes = Infinity) {
  try {
    const { size } = await stat(path);
    if (size > maxBytes) {
      throw new FmnistError(`${what} ${path} is ${(size / 2 ** 20).toFixed(0)} MB, over the ${Math.round(maxBytes / 2 ** 20)} MB limit`);
    }
    return await readFile(path);
  } catch (e) {
    if (e instanceof FmnistError) throw e;
    throw new FmnistError(`cannot read ${what} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}
