// boot.js: the page's first script, with no imports, so it runs as soon as
// the page is parsed and its few bytes are in: it starts the photo worker
// and the downloads a first photo needs (the module, preloaded by
// index.html, models/index.json, then the model photos use) before app.js
// has run. When models/index.json names a "photo" model, that one is
// fetched at once and the default (for the test set) later, by app.js, once
// photos are answered; else the default model is fetched at once, as photos
// use it. Fetching the photo model only when a photo arrives saved its 865 KB
// on visits that never classify a photo but put its download between the
// photo and its answer: about 0.5 s more to the first answer on a 20 Mbit/s
// link, which a photo app cannot afford.
export const photoWorker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
export const wasmBytes = fetch('build/fmnist.wasm').then((r) => (r.ok ? r.arrayBuffer() : null)).catch(() => null);
const get = async (url, as) => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res[as]();
};
const model = async (name) => ({ bytes: new Uint8Array(await get(`models/${name}`, 'arrayBuffer')), name });
export const modelIndex = get('models/index.json', 'json');

/** {bytes, name} of the default model, or null when photos use a photo model. */
export const defaultModel = modelIndex.then((index) => (index.photo ? null : model(index.default)));
/** {bytes, name} of the photo model, or null without one. */
export const photoModel = modelIndex.then((index) => (index.photo ? model(index.photo) : null));
for (const p of [modelIndex, defaultModel, photoModel]) p.catch(() => {});
