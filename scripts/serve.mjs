#!/usr/bin/env node
// serve.mjs (`make serve`): a static file server for the demo page, with no
// dependencies. It only maps URL prefixes to folders, exactly the layout a
// static host would get from `make site`:
//   /            web/            the page
//   /js/         js/             the module's JS wrapper
//   /build/      build/fmnist.wasm
//   /models/     models/         shipped models and cards
//   /data/       the dataset folder ($FASHION_MNIST_DIR or Debian's)
// Every response carries a Content-Security-Policy that allows only this
// origin (plus 'wasm-unsafe-eval' to compile the module) and the headers
// that make the page cross-origin isolated.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = process.env.FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST || '127.0.0.1';

const routes = (dataDir, webDir, modelsDir) => [
  ['/js/', join(ROOT, 'js')],
  ['/build/', join(ROOT, 'build')],
  ['/models/', modelsDir],
  ['/data/', dataDir],
  ['/', webDir],
];
// Only these files under /build/ are public.
const BUILD_FILES = new Set(['fmnist.wasm']);

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
  '.gz': 'application/gzip', '.safetensors': 'application/octet-stream',
  '.md': 'text/markdown; charset=utf-8', '.webmanifest': 'application/manifest+json',
};

export const CSP = [
  "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'",
  "img-src 'self' blob: data:", "worker-src 'self'", "connect-src 'self'", "font-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

function resolve(pathname, table) {
  for (const [prefix, dir] of table) {
    if (!pathname.startsWith(prefix)) continue;
    let rel = decodeURIComponent(pathname.slice(prefix.length));
    if (prefix === '/build/' && !BUILD_FILES.has(rel)) return null;
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = normalize(join(dir, rel));
    if (file !== dir && !file.startsWith(dir + sep)) return null; // no ../ escapes
    return file;
  }
  return null;
}

/** Starts the server; dataDir null serves no dataset (the page then asks for
 * files); webDir and modelsDir serve other copies of the page and the models
 * (tests: a new build, a models/index.json with a "photo" model). */
export function startServer(port = PORT, host = HOST,
  { dataDir = DATA, webDir = join(ROOT, 'web'), modelsDir = join(ROOT, 'models') } = {}) {
  const table = routes(resolvePath(dataDir ?? join(ROOT, 'no-dataset-here')), resolvePath(webDir), resolvePath(modelsDir));
  const server = createServer((req, res) => {
    const headers = {
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' });
      return res.end();
    }
    let pathname;
    try {
      pathname = new URL(req.url, 'http://x').pathname;
    } catch {
      res.writeHead(400, headers);
      return res.end('bad request');
    }
    const file = resolve(pathname, table);
    let st;
    try {
      st = file && statSync(file);
    } catch { /* not found below */ }
    if (!st || !st.isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      return res.end('not found');
    }
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    // The dataset never changes: cache it for a day. Everything else is
    // revalidated (cheap 304s) so a rebuilt module or model shows at once.
    const cache = pathname.startsWith('/data/') ? 'public, max-age=86400' : 'no-cache';
    Object.assign(headers, { ETag: etag, 'Cache-Control': cache, 'Content-Length': st.size,
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
    if (req.headers['if-none-match'] === etag) {
      delete headers['Content-Length'];
      res.writeHead(304, headers);
      return res.end();
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  startServer().then((server) => {
    const { port } = server.address();
    console.log(`Fashion-MNIST demo: http://${HOST}:${port}/  (Ctrl-C to stop)`);
  }, (e) => {
    console.error(`serve: cannot listen on ${HOST}:${PORT}: ${e.code || e.message}${e.code === 'EADDRINUSE' ? ' (set PORT=...)' : ''}`);
    process.exit(1);
  });
}
