// An app bundled with esbuild: the module and the model are files that the
// bundler copies next to the bundle and whose URLs it hands back.
//   esbuild bundled.mjs --bundle --format=esm --outdir=dist \
//     --loader:.wasm=file --loader:.safetensors=file
import { loadFmnist } from 'fmnist-wasm';
import wasmFile from 'fmnist-wasm/fmnist.wasm';
import modelFile from 'fmnist-wasm/models/cnn-photo.safetensors'; // the model for photos

const fm = await loadFmnist(new URL(wasmFile, import.meta.url));
const net = fm.loadNet(new Uint8Array(await (await fetch(new URL(modelFile, import.meta.url))).arrayBuffer()));

const result = document.getElementById('result');
result.textContent = 'Model ready: pick a photo.';
document.getElementById('photo').addEventListener('change', async (ev) => {
  try {
    const { rgba, width, height } = fm.decodeImageRgba(new Uint8Array(await ev.target.files[0].arrayBuffer()));
    const probabilities = net.predictPhoto(rgba, width, height, fm.photoToInput(rgba, width, height).input);
    const { label, confidence, unsure, in_scope } = net.verdict(probabilities);
    const doubt = !in_scope ? 'Probably none of the ten, closest ' : unsure ? 'Not sure, maybe ' : '';
    result.textContent = `${doubt}${label} (${(100 * confidence).toFixed(1)}%)`;
    result.dataset.probabilities = JSON.stringify(Array.from(probabilities));
  } catch (e) {
    result.textContent = `Could not classify: ${e.message}`;
  }
});
