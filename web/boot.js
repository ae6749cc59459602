// boot.js: the page's first script, with no imports, so it runs as soon as
// the page is parsed and its few bytes are in: it starts the photo worker,
// and the downloads a first photo needs (the module, preloaded by
// index.html, then models/index.json and the default model), before app.js
// has run (the model's download itself starts earlier: index.html preloads
// it, and the fetch here picks that up).
export const photoWorker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
export const wasmBytes = fetch('build/fmnist.wasm').then((r) => (r.ok ? r.arrayBuffer() : null)).catch(() => null);
const get = async (url, as) => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res[as]();
};
export const modelIndex = get('models/index.json', 'json');
/** {bytes, name} of the default model (rejects with the reason). */
export const defaultModel = modelIndex.then(async (index) => ({ bytes: new Uint8Array(await get(`models/${index.default}`, 'arrayBuffer')), name: index.default }));
modelIndex.catch(() => {});
defaultModel.catch(() => {});
