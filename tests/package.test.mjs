// The npm package as a developer gets it: `npm pack`, then `npm install` of
// the tarball into an empty project with the network shut off, then the
// package used the documented ways, each from the installed files only:
// Node (examples/node.mjs), `npx fmnist`, a page served as installed (no
// bundler, examples/browser.html) and an app bundled by esbuild
// (examples/bundled.mjs) in Chromium, and TypeScript (examples/typed.ts,
// tsc --noEmit). Every answer must equal the repository's own module's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fm, split, encodePng } from './helpers.mjs';
import { launchChromium } from './browser-helpers.mjs';

const root = new URL('..', import.meta.url).pathname;
const examples = join(root, 'examples');
const devBin = (name) => join(root, 'node_modules/.bin', name);
const MAX_TARBALL = 3 * 1024 * 1024;
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

let tmp, app, installed, packed, expected, browser, server, origin;

/** npm with no registry reachable and an empty cache of its own. */
function npmEnv() {
  return {
    ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: join(tmp, 'npm-cache'),
    npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false',
    npm_config_update_notifier: 'false', npm_config_loglevel: 'error',
  };
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}

/** A photo-like RGB picture of test image i: a dark garment on a light, slightly warm background, 4x. */
function photoOf(image, scale = 4) {
  const w = 28 * scale, rgb = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const v = image[Math.floor(y / scale) * 28 + Math.floor(x / scale)];
      rgb.set([Math.max(0, 245 - v), Math.max(0, 240 - v), Math.max(0, 232 - v)], (y * w + x) * 3);
    }
  }
  return { rgb, width: w, height: w };
}

const MIME = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.png': 'image/png', '.jpg': 'image/jpeg' };
/** A plain static server of the app folder (what any web server does). */
function serve(dir) {
  const requests = [];
  const s = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    requests.push(path);
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  s.requests = requests;
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fmnist-pkg-'));
  app = join(tmp, 'app');
  mkdirSync(app);
  // Pack the repository as npm publishes it.
  [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: root, env: npmEnv() }));
  // Install the tarball into an empty project, offline.
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fmnist-app', private: true, type: 'module' }));
  run('npm', ['install', join(tmp, packed.filename)], { cwd: app, env: npmEnv() });
  installed = join(app, 'node_modules', manifest.name);

  // Two photos: a trouser as PNG, a bag as JPEG (Chromium encodes it).
  const test = await split('test'), labels = test.labels();
  const trouser = photoOf(test.image(labels.indexOf(1))), bag = photoOf(test.image(labels.indexOf(8)));
  writeFileSync(join(app, 'trouser.png'), encodePng(trouser.rgb, trouser.width, trouser.height, 3));
  browser = await launchChromium(); // Debian's Chromium; no skip: the package promises the browser
  const page = await browser.newPage();
  const jpeg = await page.evaluate(({ rgb, width, height }) => {
    const c = document.createElement('canvas');
    c.width = width; c.height = height;
    const ctx = c.getContext('2d'), img = ctx.createImageData(width, height);
    for (let i = 0; i < width * height; i++) img.data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
    ctx.putImageData(img, 0, 0);
    return c.toDataURL('image/jpeg', 0.9).split(',')[1];
  }, { rgb: Array.from(bag.rgb), width: bag.width, height: bag.height });
  await page.close();
  writeFileSync(join(app, 'bag.jpg'), Buffer.from(jpeg, 'base64'));

  // What the repository's own module says about them: with the index's model
  // for photos (its "photo" model, else the default), as the CLI and the
  // examples use, and with cnn-photo, which the esbuild example imports by name.
  const m = await fm();
  const index = JSON.parse(readFileSync(join(root, 'models/index.json'), 'utf8'));
  expected = {};
  for (const [key, model] of [['photo', index.photo ?? index.default], ['cnn-photo', 'cnn-photo.safetensors']]) {
    const net = m.loadNet(readFileSync(join(root, 'models', model)));
    expected[key] = {};
    for (const file of ['trouser.png', 'bag.jpg']) {
      const { rgba, width, height } = m.decodeImageRgba(readFileSync(join(app, file)));
      expected[key][file] = Array.from(net.predictPhoto(rgba, width, height, m.photoToInput(rgba, width, height).input));
    }
    net.free();
  }
  server = await serve(app);
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const top = (probs) => probs.indexOf(Math.max(...probs));
const CLASS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

test('the tarball holds the module, wrapper, CLI, types, shipped models and docs, and nothing else, under 3 MB', () => {
  assert.ok(packed.size <= MAX_TARBALL, `tarball is ${packed.size} bytes, over ${MAX_TARBALL}`);
  const files = packed.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'THIRD-PARTY-NOTICES.md', 'build/fmnist.wasm', 'js/fmnist.mjs',
    'js/fmnist.d.ts', 'js/node-data.mjs', 'js/node-data.d.ts', 'bin/fmnist.mjs', 'models/index.json', 'docs/api.md']) {
    assert.ok(files.includes(f), `${f} is not in the tarball`);
  }
  // Every model file the shipped index names is shipped (the default, a photo model if there is one).
  const index = JSON.parse(readFileSync(join(installed, 'models/index.json'), 'utf8'));
  const named = [index.default, index.photo, ...(index.models ?? []).map((m) => m.file)].filter(Boolean);
  assert.ok(named.includes(index.default) && index.default, 'the index names a default model');
  for (const f of named) assert.ok(files.includes(`models/${f}`), `models/index.json names ${f}, which is not in the tarball`);
  // Everything the shipped JS imports or finds next to itself (new URL(..., import.meta.url)) is shipped.
  for (const f of files.filter((p) => p.endsWith('.mjs'))) {
    const src = readFileSync(join(installed, f), 'utf8');
    const refs = [...src.matchAll(/^import[^'"]*['"](\.[^'"]+)['"]/gm), ...src.matchAll(/new URL\('(\.[^']+)', import\.meta\.url\)/g)];
    for (const [, rel] of refs) {
      const target = normalize(join(f, '..', rel));
      assert.ok(files.includes(target), `${f} refers to ${rel}, which is not in the tarball`);
    }
  }
  const stray = files.filter((f) => /^(src|include|native|tests|fuzz|bench|web|scripts|examples|node_modules)\//.test(f));
  assert.deepEqual(stray, [], 'sources, tests and tools stay out of the package');
  const pj = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  assert.equal(pj.private, undefined, 'publishable');
  assert.match(pj.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(pj.dependencies ?? {}, {}, 'no runtime dependencies');
  assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), new RegExp(`^${pj.license} License`));
  assert.match(readFileSync(join(installed, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${pj.version.replace(/\./g, '\\.')} `, 'm'));
  assert.ok(existsSync(join(installed, pj.types)), `types: ${pj.types} is shipped`);
});

test('Node: import the package, load the photo model, classify a PNG and a JPEG, train a few steps', () => {
  copyFileSync(join(examples, 'node.mjs'), join(app, 'node.mjs'));
  const out = JSON.parse(run(process.execPath, ['node.mjs', 'trouser.png', 'bag.jpg'], { cwd: app }));
  assert.deepEqual(out.photos.map((p) => p.probabilities), [expected.photo['trouser.png'], expected.photo['bag.jpg']]);
  assert.equal(out.photos[0].label, 'Trouser');
  assert.equal(out.losses.length, 10);
  assert.ok(out.losses.every(Number.isFinite) && out.losses.at(-1) < out.losses[0], `losses ${out.losses}`);
  assert.equal(out.trained.spec.split(',').length, 12);
});

test('npx fmnist predict runs from the installed package', () => {
  const out = JSON.parse(run('npx', ['--offline', 'fmnist', 'predict', '--json', 'trouser.png', 'bag.jpg'], { cwd: app, env: npmEnv() }));
  const want = expected.photo;
  assert.deepEqual(out.map((r) => r.probabilities), [want['trouser.png'], want['bag.jpg']]);
  assert.deepEqual(out.map((r) => r.label), [CLASS[top(want['trouser.png'])], CLASS[top(want['bag.jpg'])]]);
  const help = run('npx', ['--offline', 'fmnist', 'help'], { cwd: app, env: npmEnv() });
  assert.match(help, /^usage: fmnist/);
});

/** Opens url, picks a photo in #photo and returns the probabilities the page shows. */
async function classifyInPage(url, photo) {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await page.waitForFunction(() => /ready/.test(document.getElementById('result').textContent), null, { timeout: 30000 });
    await page.setInputFiles('#photo', join(app, photo));
    await page.waitForFunction(() => document.getElementById('result').dataset.probabilities, null, { timeout: 30000 });
    const probs = JSON.parse(await page.getAttribute('#result', 'data-probabilities'));
    assert.match(await page.textContent('#result'), new RegExp(CLASS[top(probs)].replace('/', '\\/')));
    assert.deepEqual(errors, []);
    return probs;
  } finally {
    await page.close();
  }
}

test('Chromium: the installed files, served as they are, load and classify (no bundler)', async () => {
  copyFileSync(join(examples, 'browser.html'), join(app, 'index.html'));
  copyFileSync(join(examples, 'browser.mjs'), join(app, 'browser.mjs'));
  server.requests.length = 0;
  assert.deepEqual(await classifyInPage(`${origin}/index.html`, 'bag.jpg'), expected.photo['bag.jpg']);
  assert.ok(server.requests.includes(`/node_modules/${manifest.name}/build/fmnist.wasm`), server.requests.join(' '));
});

test('Chromium: an app bundled by esbuild finds the wasm through new URL(..., import.meta.url) and classifies', async () => {
  copyFileSync(join(examples, 'bundled.mjs'), join(app, 'bundled.mjs'));
  run(devBin('esbuild'), ['bundled.mjs', '--bundle', '--format=esm', '--platform=browser', '--outdir=dist',
    '--loader:.wasm=file', '--loader:.safetensors=file', '--log-level=warning'], { cwd: app });
  writeFileSync(join(app, 'dist/index.html'), readFileSync(join(examples, 'browser.html'), 'utf8')
    .replace(/<script type="importmap">[^]*?<\/script>\s*/, '').replace('browser.mjs', 'bundled.js'));
  const wasm = readdirSync(join(app, 'dist')).find((f) => f.endsWith('.wasm'));
  assert.ok(wasm, 'esbuild copied the wasm module into dist/');
  server.requests.length = 0;
  assert.deepEqual(await classifyInPage(`${origin}/dist/index.html`, 'trouser.png'), expected['cnn-photo']['trouser.png']);
  assert.ok(server.requests.includes(`/dist/${wasm}`), server.requests.join(' '));
  assert.deepEqual(server.requests.filter((r) => r.startsWith('/node_modules/')), [], 'the bundle needs nothing from node_modules');
});

test('TypeScript: the declarations type-check an example that uses every export (tsc --noEmit, strict)', async () => {
  const source = readFileSync(join(examples, 'typed.ts'), 'utf8');
  const used = (name) => new RegExp(`\\b${name}\\b`).test(source);
  for (const entry of ['.', './node']) {
    const mod = await import(join(installed, manifest.exports[entry].default));
    const missing = Object.keys(mod).filter((name) => !used(name));
    assert.deepEqual(missing, [], `examples/typed.ts does not use these exports of '${entry}'`);
  }
  copyFileSync(join(examples, 'typed.ts'), join(app, 'typed.ts'));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
      lib: ['es2022', 'dom'], types: [], skipLibCheck: false,
    },
    files: ['typed.ts'],
  }));
  run(devBin('tsc'), ['-p', app], { cwd: app });
});
