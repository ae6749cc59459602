// bench/photos.mjs: how well uploaded photos classify, on the real photos in
// ../shared/photos/clothing-validation (evaluation only: never trained on,
// never copied here). Uses photos/clothing-dataset-small.json, the mapping
// from folders to allowed Fashion-MNIST classes; hat / shorts / skirt have
// none and only count for the doubt rates: a photo is flagged when the
// model's verdict is unsure or not one of the ten. Same module, pipeline and
// verdict as `fmnist predict` (default: the index's photo model).
//   node bench/photos.mjs [--model FILE] [--json]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadFmnist, CLASS_NAMES } from '../js/fmnist.mjs';

const { values } = parseArgs({ options: { model: { type: 'string' }, json: { type: 'boolean' }, dir: { type: 'string' } } });
const DIR = values.dir ?? new URL('../../shared/photos/clothing-validation', import.meta.url).pathname;
if (!existsSync(DIR)) {
  console.log(`photo benchmark skipped: ${DIR} does not exist`);
  process.exit(0);
}
const root = new URL('..', import.meta.url).pathname;
const index = JSON.parse(readFileSync(join(root, 'models/index.json'), 'utf8'));
const modelFile = values.model ?? join(root, 'models', index.photo ?? index.default); // the model photos use
const fm = await loadFmnist();
// The folder mapping as the C library reads it for training (one parser).
const mapping = fm.createPhotoSet(readFileSync(new URL('../photos/clothing-dataset-small.json', import.meta.url), 'utf8'));
const ALLOWED = Object.fromEntries(mapping.folders.map((f) => [f.name, f.classes.length ? f.classes : null]));
mapping.free();
const net = fm.loadNet(readFileSync(modelFile));
const perFolder = {};
let right = 0, mapped = 0;
const sure = { answered: 0, right: 0 }, unsure = { mapped: 0, unmapped: 0, unmappedPhotos: 0 };
const t0 = performance.now();
let photos = 0;
for (const folder of Object.keys(ALLOWED)) {
  const files = readdirSync(join(DIR, folder)).filter((f) => /\.(jpe?g|png)$/i.test(f));
  const stats = { photos: files.length, right: 0, unsure: 0, predicted: new Array(10).fill(0) };
  for (const f of files) {
    const bytes = readFileSync(join(DIR, folder, f));
    const img = fm.decodeImageRgba(bytes);
    const { input } = fm.photoToInput(img.rgba, img.width, img.height);
    const p = Array.from(net.predictPhoto(img.rgba, img.width, img.height, input));
    const top = p.indexOf(Math.max(...p));
    stats.predicted[top]++;
    const verdict = net.verdict(p), doubt = verdict.unsure || !verdict.in_scope;
    stats.unsure += doubt;
    photos++;
    if (ALLOWED[folder]) {
      mapped++;
      const ok = ALLOWED[folder].includes(top);
      if (ok) stats.right++, right++;
      if (!doubt) sure.answered++, sure.right += ok;
      unsure.mapped += doubt;
    } else unsure.unmapped += doubt, unsure.unmappedPhotos++;
  }
  perFolder[folder] = stats;
}
const seconds = (performance.now() - t0) / 1000;
const result = { model: modelFile, mapped, right, accuracy: right / mapped, sure, unsure, ms_per_photo: (1000 * seconds) / photos, per_folder: perFolder };
if (values.json) console.log(JSON.stringify(result));
else {
  console.log(`model ${modelFile}`);
  for (const [folder, s] of Object.entries(perFolder)) {
    const most = s.predicted.map((n, i) => [n, i]).sort((a, b) => b[0] - a[0]).slice(0, 2).map(([n, i]) => `${CLASS_NAMES[i]} ${n}`).join(', ');
    console.log(`${folder.padEnd(11)} ${ALLOWED[folder] ? `${s.right}/${s.photos}`.padStart(7) : 'n/a'.padStart(7)}   flagged ${String(s.unsure).padStart(2)}   most predicted: ${most}`);
  }
  const pct = (a, b) => `${(100 * a / b).toFixed(1)}%`;
  console.log(`answers given as sure: ${sure.right}/${sure.answered} = ${pct(sure.right, sure.answered)} right; flagged (unsure or none of the ten): ${unsure.mapped}/${mapped} = ${pct(unsure.mapped, mapped)} of mapped photos, ${unsure.unmapped}/${unsure.unmappedPhotos} = ${pct(unsure.unmapped, unsure.unmappedPhotos)} of hat/shorts/skirt`);
  console.log(`overall: ${right}/${mapped} = ${(100 * right / mapped).toFixed(1)}% of mapped photos right, ${result.ms_per_photo.toFixed(1)} ms per photo`);
}
