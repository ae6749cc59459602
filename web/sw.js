// sw.js: the page's offline copy. A service worker that keeps every file the
// page needs to classify a photo (the page, its scripts, the wasm module,
// models/index.json and the models it names) in one cache per build, and the
// dataset files, once the page has fetched them, in a cache of their own.
//
// - Online, every request goes to the network as if there were no service
//   worker (a new build shows at once); offline, the answer comes from the
//   current build's cache, so a second visit with no network loads and
//   classifies photos.
// - A build is identified by a hash of its files' bytes (any static server
//   works: nothing is generated at build time). After each page load, and
//   when installed, the worker fetches the build's files again (revalidated:
//   unchanged files cost a 304), hashes them and, if the hash changed, fills
//   a new cache "fmnist-build-<hash>" completely, makes it current, then
//   deletes the old one: a cache is only ever used complete, never mixed.
// - Dataset files never change: "fmnist-data-1", served from the cache first.
const BUILD = 'fmnist-build-';
const DATA = 'fmnist-data-1';
const META = 'fmnist-meta';
const SHELL = ['./', 'style.css', 'boot.js', 'app.js', 'bridge.js', 'chart.js', 'checkpoints.js', 'corrections.js', 'worker.js',
  'manifest.webmanifest', 'icon.svg', 'js/fmnist.mjs', 'build/fmnist.wasm', 'models/index.json'];
const DATA_FILES = ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz',
  'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'].map((f) => `data/${f}`);
const abs = (path) => new URL(path, self.registration.scope).href;

/** The name of the current (complete) build cache, or null. */
async function current() {
  const hit = await (await caches.open(META)).match('current');
  return hit ? hit.text() : null;
}

let refreshing = null;
/** Brings the build cache up to date, and keeps dataset files the browser has. */
function refresh() {
  refreshing ??= Promise.all([refreshBuild(), keepData()]).finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshBuild() {
  const get = async (path) => {
    const res = await fetch(abs(path), { cache: 'no-cache' });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return { path, res, bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  let files;
  try {
    files = await Promise.all(SHELL.map(get));
    const index = JSON.parse(new TextDecoder().decode(files.find((f) => f.path === 'models/index.json').bytes));
    const models = [...new Set([index.default, index.photo].filter(Boolean))].map((m) => `models/${m}`);
    files.push(...(await Promise.all(models.map(get))));
  } catch {
    return; // offline or a file missing: keep the copy there is
  }
  // The build's identity: SHA-256 of every file's path and bytes.
  const enc = new TextEncoder();
  const parts = files.flatMap((f) => [enc.encode(`${f.path}\n${f.bytes.length}\n`), f.bytes]);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', all))].slice(0, 8)
    .map((b) => b.toString(16).padStart(2, '0')).join('');
  const name = BUILD + hash;
  const was = await current();
  if (was !== name) {
    await caches.delete(name); // a fill interrupted earlier: start clean
    const cache = await caches.open(name);
    const headers = (res) => [...res.headers].filter(([k]) => !/^content-(encoding|length)$/i.test(k));
    await Promise.all(files.map((f) => cache.put(abs(f.path),
      new Response(f.bytes, { status: 200, statusText: 'OK', headers: headers(f.res) }))));
    await (await caches.open(META)).put('current', new Response(name));
  }
  // Only the current build stays.
  for (const key of await caches.keys()) if (key.startsWith(BUILD) && key !== name) await caches.delete(key);
  if (was && was !== name) {
    for (const c of await self.clients.matchAll({ type: 'window' })) c.postMessage({ type: 'updated', build: name });
  }
}

/** Dataset files already in the browser's HTTP cache go into the dataset cache. */
async function keepData() {
  const cache = await caches.open(DATA);
  for (const path of DATA_FILES) {
    if (await cache.match(abs(path))) continue;
    try {
      const res = await fetch(abs(path), { cache: 'only-if-cached', mode: 'same-origin' });
      if (res.status === 200) await cache.put(abs(path), res);
    } catch { /* not fetched yet */ }
  }
}

self.addEventListener('install', (ev) => {
  ev.waitUntil(refresh().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    const name = await current();
    for (const key of await caches.keys()) if (key.startsWith(BUILD) && key !== name) await caches.delete(key);
  })());
});

self.addEventListener('message', (ev) => {
  if (ev.data?.type === 'refresh') ev.waitUntil(refresh());
});

async function fromNetwork(req) {
  try {
    return await fetch(req);
  } catch (e) {
    const name = await current();
    if (name) {
      const cache = await caches.open(name);
      const hit = (await cache.match(req, { ignoreSearch: true })) ?? (req.mode === 'navigate' ? await cache.match(abs('./')) : undefined);
      if (hit) return hit;
    }
    throw e;
  }
}

async function dataFirst(req, ev) {
  const cache = await caches.open(DATA);
  const hit = await cache.match(req);
  if (hit) return hit;
  const res = await fetch(req);
  if (res.status === 200) ev.waitUntil(cache.put(req, res.clone()).catch(() => {}));
  return res;
}

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET' || !req.url.startsWith(self.registration.scope)) return;
  if (req.url.startsWith(abs('data/'))) ev.respondWith(dataFirst(req, ev));
  else ev.respondWith(fromNetwork(req));
});
