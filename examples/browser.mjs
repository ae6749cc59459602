// The page's script (browser.html): no bundler, the package's files as installed.
import { loadFmnist } from 'fmnist-wasm';

const pkg = './node_modules/fmnist-wasm/';
const fm = await loadFmnist(); // fetches the package's build/fmnist.wasm next to js/fmnist.mjs
const index = await (await fetch(`${pkg}models/index.json`)).json();
const model = index.photo ?? index.default; // the index's model for photos, else its default
const net = fm.loadNet(new Uint8Array(await (await fetch(`${pkg}models/${model}`)).arrayBuffer()));

const result = document.getElementById('result');
result.textContent = `Model ${model} ready: pick a photo.`;
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
