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

/** The mapping shipped for the clothing photos (folder -> allowed classes). */
export const DEFAULT_PHOTO_MAP = new URL('../photos/clothing-dataset-small.json', import.meta.url);

/** Reads a folder of class folders (DIR/t-shirt/a.jpg, ...) into a PhotoSet,
 * files in sorted order (so cross-validation folds are the same everywhere).
 * The mapping is DIR/mapping.json when it exists, else `mapping` (a path),
 * else the shipped one. A file that is not a decodable image, a folder the
 * mapping does not list and an empty folder are reported through onSkip
 * (path, reason) and left out; no photo at all throws. `jitters`: training
 * renders per photo (PhotoSet.setJitters); `side`: the render side
 * (PhotoSet.setSide). */
export async function loadPhotoFolder(fm, dir, { mapping, jitters = 0, side = 28, onSkip = () => {}, onProgress = () => {} } = {}) {
  const { readdir } = await import('node:fs/promises');
  let entries;
  try {
    entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name));
  } catch (e) {
    throw new FmnistError(`cannot read the photo folder ${dir}: ${e.code === 'ENOENT' ? 'no such folder' : e.message}`);
  }
  const own = join(dir, 'mapping.json');
  const mapPath = mapping ?? (existsSync(own) ? own : DEFAULT_PHOTO_MAP);
  const text = await readInput(mapPath, 'photo mapping', 64 * 1024);
  let set;
  try {
    set = fm.createPhotoSet(new TextDecoder().decode(text));
  } catch (e) {
    throw new FmnistError(`${mapPath}: ${e.message}`);
  }
  try {
    set.setJitters(jitters);
    set.setSide(side);
  } catch (e) {
    set.free();
    throw e;
  }
  const known = new Set(set.folders.map((f) => f.name));
  const files = [];
  for (const e of entries) {
    const sub = join(dir, e.name);
    if (e.name === 'mapping.json' || e.name.startsWith('.')) continue;
    if (!e.isDirectory()) { onSkip(sub, 'not a folder'); continue; }
    if (!known.has(e.name)) { onSkip(sub, 'the mapping does not list this folder'); continue; }
    const names = (await readdir(sub)).filter((n) => !n.startsWith('.')).sort();
    if (!names.length) onSkip(sub, 'empty folder');
    for (const n of names) files.push([e.name, join(sub, n)]);
  }
  let done = 0;
  for (const [folder, path] of files) {
    try {
      set.add(folder, await readInput(path, 'photo', 64 * 2 ** 20));
    } catch (e) {
      onSkip(path, e.message);
    }
    onProgress(++done, files.length);
  }
  if (!set.count) {
    set.free();
    throw new FmnistError(`${dir}: no photos in the folders the mapping lists`);
  }
  return set;
}
