// TypeScript: every export of 'fmnist-wasm' and 'fmnist-wasm/node' in use,
// type-checked by the package test (tsc --noEmit, strict). The wrong calls
// at the end must stay errors: they show the declarations are enforced.
import {
  loadFmnist, judge, CLASS_NAMES, FmnistError, Fmnist, Dataset, Net, Trainer, PhotoSet,
  MAX_MODEL_BYTES, MAX_IMAGE_BYTES, OPTIMIZERS, SCHEDULES, UNSURE_BELOW,
  type ClassName, type Judgement, type Verdict, type TrainerOptions, type StepResult, type Evaluation,
  type Report, type PhotoInput, type RgbaImage, type PhotoMapping,
} from 'fmnist-wasm';
import { DEFAULT_DATA_DIR, DEFAULT_PHOTO_MAP, dataDir, loadSplit, readInput, loadPhotoFolder } from 'fmnist-wasm/node';

export async function main(photoPath: string): Promise<void> {
  const fm: Fmnist = await loadFmnist();
  const same: Fmnist = await loadFmnist(new URL('./fmnist.wasm', 'file:///app/'));
  same.free(0);

  // Data: the official splits from disk, or any IDX bytes.
  const dir: string = dataDir(); // $FASHION_MNIST_DIR, else DEFAULT_DATA_DIR
  console.log(dir === DEFAULT_DATA_DIR, dataDir('/elsewhere'));
  const train: Dataset = await loadSplit(fm, dir, 'train');
  const test: Dataset = await loadSplit(fm, dir, 'test');
  const small: Dataset = fm.parseDataset(idxImages(test), idxLabels(test), { imagesName: 'a', labelsName: 'b' });
  const firstLabel: number = small.labels(0, 1)[0] + small.image(0).length + small.images(0, 2).length;
  console.log(firstLabel, small.count, small.rows, small.cols, small.imagesPtr, small.labelsPtr);
  small.free();

  // A network, trained one mini-batch per step.
  const net: Net = fm.createNet('cnn-small', { seed: 0 });
  const options: TrainerOptions = {
    epochs: 1, batch: 64, lr: 1e-3, optimizer: 'adam', schedule: 'cosine', limit: 640,
    augment_flip: true, augment_shift: 1, seed: 0,
  };
  const trainer: Trainer = fm.createTrainer(net, train, options);
  let step: StepResult | null;
  while ((step = trainer.step())) console.log(step.epoch, step.batch, step.loss, step.pending, trainer.readInfo().lr);
  const state: Uint8Array = trainer.saveState();
  trainer.loadState(state);
  console.log(trainer.epoch, trainer.net === net, trainer.dataset === train, trainer.ptr);
  trainer.free();

  // Data-parallel training: two shards exchange vectors every step.
  const shards = [0, 1].map((shard) => fm.createTrainer(net, train, { limit: 128, shard, shards: 2 }));
  while (shards[0].step() && shards[1].step()) {
    const vectors: Float32Array[] = shards.map((t) => t.exchangeVector());
    shards.forEach((t) => t.finish(vectors));
    shards[1].exchangeVector(vectors[1]);
  }
  shards.forEach((t) => t.free());

  // Evaluation and the report of a confusion matrix.
  const ev: Evaluation = fm.evaluate(net, test, { start: 0, count: 1000, chunk: 500, onProgress: (d, n) => console.log(d / n) });
  const report: Report = fm.report(ev.confusion.flat());
  console.log(ev.accuracy, ev.predictions.length, ev.images_per_sec, report.macro.f1, report.per_class[0].label);

  // Models: save, load, metadata, parameters.
  net.setMeta('note', 'typed example');
  const bytes: Uint8Array = net.save();
  if (bytes.length > MAX_MODEL_BYTES) throw new FmnistError('too big');
  const loaded: Net = fm.loadNet(bytes);
  loaded.blend(fm.loadNet(bytes), 0.5); // a weight average of two networks
  console.log(loaded.spec, loaded.paramCount, loaded.macs, loaded.params().length, loaded.getMeta('note'), loaded.fm === fm);

  // A photo: decode, the photo pipeline, predict, judge.
  const photo: Uint8Array = await readInput(photoPath, 'image', MAX_IMAGE_BYTES);
  const size: { width: number; height: number } = fm.imageInfo(photo);
  const img: RgbaImage = fm.decodeImageRgba(photo);
  const prepared: PhotoInput = fm.photoToInput(img.rgba, img.width, img.height);
  const probs: Float32Array = loaded.predictPhoto(img.rgba, img.width, img.height, prepared.input);
  const views: number = loaded.photoViews;
  const verdict: Judgement = judge(probs);
  const modelVerdict: Verdict = loaded.verdict(probs);
  console.log(modelVerdict.in_scope, modelVerdict.unsure, views);
  const where: { index: number; gradient: Float32Array } = loaded.saliency(prepared.input);
  console.log(where.index, where.gradient.length);
  const label: ClassName = verdict.label;
  console.log(size.width, prepared.box[0], prepared.mask.width, label, verdict.confidence < UNSURE_BELOW, CLASS_NAMES[verdict.index]);

  // Predicting into wasm memory directly (benchmarks).
  const px = fm.copyIn(prepared.input), out = fm.alloc(40);
  loaded.predictAt(px, 1, out);
  console.log(fm.f32[out >> 2], fm.u8.length, fm.i32.length);
  fm.free(px); fm.free(out);
  const name = fm.cstr('x');
  console.log(fm.str(name), fm.withStr('y', (p) => p), fm.withBytes(new Uint8Array(4), (p) => p), fm.error('context').message, typeof fm.x.memory.buffer);
  fm.free(name);
  const pair = fm.alloc(8);
  fm.i32[pair >> 2] = fm.alloc(1); fm.i32[(pair >> 2) + 1] = 1;
  console.log(fm.takeBuffer(pair).length);
  fm.free(pair);
  console.log(OPTIMIZERS.adamw, SCHEDULES.cosine, new Fmnist(fm.x) instanceof Fmnist);
  console.log(new Dataset(fm, 0) instanceof Dataset, new Net(fm, 0) instanceof Net, new Trainer(fm, 0, net, train) instanceof Trainer);

  // Real photos as training data, mixed into Fashion-MNIST batches.
  const mapping: PhotoMapping = { folders: { 't-shirt': ['T-shirt/top'], shoes: [5, 7, 9], hat: [] } };
  const photos: PhotoSet = fm.createPhotoSet(mapping);
  photos.add('t-shirt', photo);
  photos.addInput('shoes', prepared.input);
  photos.addLabeled(prepared.input, []);
  const first = photos.photo(0);
  console.log(photos.count, photos.folders[0].name, first.classes, first.folder, photos.inputs().length, photos.fm === fm, photos.ptr);
  const fold: PhotoSet = photos.split(0, 2, true);
  const mixed: Trainer = fm.createTrainer(net, train, { photos, photo_ratio: 0.25, limit: 128 });
  while (mixed.step());
  console.log(mixed.photos === photos);
  mixed.free(); fold.free(); photos.free();
  const folder: PhotoSet = await loadPhotoFolder(fm, '/photos', {
    mapping: DEFAULT_PHOTO_MAP, onSkip: (path, reason) => console.log(path, reason), onProgress: (d, n) => console.log(d, n),
  });
  folder.free();

  try {
    fm.loadNet(new Uint8Array(8));
  } catch (e) {
    if (e instanceof FmnistError) console.log(e.name, e.message);
  }
  loaded.free(); net.free(); train.free(); test.free();

  // @ts-expect-error: a spec is a string
  fm.createNet(42);
  // @ts-expect-error: not an optimizer
  fm.createTrainer(net, train, { optimizer: 'lbfgs' });
  // @ts-expect-error: not a class name
  const wrong: ClassName = 'Hat';
  // @ts-expect-error: splits are 'train' and 'test'
  await loadSplit(fm, dir, 'validation');
  // @ts-expect-error: photos are a PhotoSet
  fm.createTrainer(net, train, { photos: [prepared.input] });
  console.log(wrong);
}

function idxImages(d: Dataset): Uint8Array {
  const head = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]);
  const out = new Uint8Array(head.length + 2 * 784);
  out.set(head);
  out.set(d.images(0, 2), head.length);
  return out;
}
function idxLabels(d: Dataset): Uint8Array {
  return new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, ...d.labels(0, 2)]);
}
