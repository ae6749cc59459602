// Node: classify photos with the package's photo model, then train a
// network for a few steps and save it.
//   npm install fmnist-wasm
//   node node.mjs shirt.jpg bag.png      (one JSON object on stdout)
// The training part reads Fashion-MNIST from $FASHION_MNIST_DIR or Debian's
// dataset-fashion-mnist folder.
import { readFile } from 'node:fs/promises';
import { loadFmnist, CLASS_NAMES } from 'fmnist-wasm';
import { dataDir, loadSplit } from 'fmnist-wasm/node';

const fm = await loadFmnist(); // the package's build/fmnist.wasm

// The model for photos (the index's "photo" model, else its default), found
// through the package's exports.
const modelFile = (name) => new URL(import.meta.resolve(`fmnist-wasm/models/${name}`));
const index = JSON.parse(await readFile(modelFile('index.json'), 'utf8'));
const model = index.photo ?? index.default;
const net = fm.loadNet(await readFile(modelFile(model)));

// A photo (PNG, JPEG, GIF, BMP) -> the 28x28 image the model expects -> ten
// probabilities -> the model's verdict (label, confidence, unsure, in_scope).
const photos = [];
for (const file of process.argv.slice(2)) {
  const { rgba, width, height } = fm.decodeImageRgba(await readFile(file));
  const { input, box } = fm.photoToInput(rgba, width, height);
  // The model's photo views: a photo unsure on its own is also seen through jittered renders.
  const probabilities = Array.from(net.predictPhoto(rgba, width, height, input));
  photos.push({ file, ...net.verdict(probabilities), box, probabilities });
}

// Training: a small CNN, 10 mini-batches of 64 images.
const train = await loadSplit(fm, dataDir(), 'train');
const small = fm.createNet('cnn-small', { seed: 1 });
const trainer = fm.createTrainer(small, train, { limit: 640, batch: 64, lr: 1e-3, optimizer: 'adam', seed: 1 });
const losses = [];
for (let step; (step = trainer.step()); ) losses.push(step.loss);
trainer.free();
const saved = small.save(); // safetensors bytes, loadable by fm.loadNet() and PyTorch
const reloaded = fm.loadNet(saved);

console.log(JSON.stringify({
  model, classes: CLASS_NAMES, photos, losses,
  trained: { spec: reloaded.spec, params: reloaded.paramCount, bytes: saved.length },
}));
