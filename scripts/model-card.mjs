#!/usr/bin/env node
// model-card.mjs: writes the card of a trained model beside it
// (models/NAME.json for tools and tests, models/NAME.md for people); with
// --default or --index it also lists it in models/index.json, the models the
// npm package ships (package.json "files" must name the file too); --photo
// lists it as the index's "photo" model (the one photos are classified with),
// and --photo-cv FILE (scripts/photo-cv.mjs --json) with --photos-dir DIR add
// what it was trained on and its cross-validation figures. The
// accuracy, confusion matrix and report are measured here, once, on the
// official test set by the wasm module; the training command, time and
// machine come from the metadata the trainer stored in the file.
//   node scripts/model-card.mjs models/NAME.safetensors [--default | --index | --photo] [--note TEXT]
//     [--photo-cv FILE --photos-dir DIR]
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadFmnist, CLASS_NAMES } from '../js/fmnist.mjs';
import { dataDir, loadSplit } from '../js/node-data.mjs';

// --seconds / --machine stand in when the file predates the trainer recording them.
const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  default: { type: 'boolean' }, index: { type: 'boolean' }, photo: { type: 'boolean' }, note: { type: 'string' },
  seconds: { type: 'string' }, machine: { type: 'string' }, 'photo-cv': { type: 'string' }, 'photos-dir': { type: 'string' },
} });
const file = positionals[0];
const bytes = readFileSync(file);
const fm = await loadFmnist();
const net = fm.loadNet(bytes);
// Float32 throughout, as training measured it: the card's figures are the
// model's own, not those of inference's int16 rounding (tests/models.test.mjs
// checks the int16 answers against them).
net.setExact(true);
const test = await loadSplit(fm, dataDir(), 'test');
const ev = fm.evaluate(net, test);
const correct = ev.confusion.reduce((s, row, i) => s + row[i], 0);
// A model run with test-time views (fmnist views): its accuracy is the one
// above; the image alone is measured too, so the card shows what they add.
const views = net.getMeta('tta') ?? 'none';
const viewsBelow = Number(net.getMeta('views_below') ?? 0.9); // images under it get the views
let singleView = null;
if (views !== 'none') {
  net.setMeta('tta', 'none');
  singleView = fm.evaluate(net, test).accuracy;
  net.setMeta('tta', views);
}
const name = basename(file, '.safetensors');
const card = {
  name,
  file: basename(file),
  arch: net.spec,
  params: net.paramCount,
  macs_per_image: net.macs,
  file_bytes: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  test_accuracy: correct / test.count,
  test_correct: correct,
  test_count: test.count,
  test_time_views: views,
  test_time_views_below: views === 'shift' ? viewsBelow : null,
  single_view_accuracy: singleView,
  confusion: ev.confusion,
  per_class: ev.per_class.map((c) => ({ ...c, precision: +c.precision.toFixed(4), recall: +c.recall.toFixed(4), f1: +c.f1.toFixed(4) })),
  macro: Object.fromEntries(Object.entries(ev.macro).map(([k, v]) => [k, +v.toFixed(4)])),
  training_command: net.getMeta('command'),
  // A fine-tuned model: the earlier runs, in order, each the next one's --init.
  training_stages: net.getMeta('base_command') ? [...net.getMeta('base_command').split(' && '), net.getMeta('command')] : null,
  training_seconds: Number(net.getMeta('train_seconds')) || Number(values.seconds) || null,
  epochs: Number(net.getMeta('epochs')) || null,
  machine: net.getMeta('machine') ?? values.machine ?? null,
  note: values.note ?? null,
  photos: values['photo-cv'] ? photoFacts() : null,
};

/** A photo model: the photos it learned from (folders, counts, mapping, source
 * and licence from the mapping file), its cross-validation and thresholds. */
function photoFacts() {
  const cv = JSON.parse(readFileSync(values['photo-cv'], 'utf8'));
  const mapping = JSON.parse(readFileSync(new URL('../photos/clothing-dataset-small.json', import.meta.url), 'utf8'));
  const dir = values['photos-dir'];
  const counts = {};
  if (dir) {
    for (const f of readdirSync(dir).sort()) {
      if (statSync(join(dir, f)).isDirectory()) counts[f] = readdirSync(join(dir, f)).filter((n) => !n.startsWith('.')).length;
    }
  }
  const round = (x) => +x.toFixed(4);
  return {
    source: mapping.source, mapping: mapping.folders, train_photos: counts,
    folds: cv.folds,
    cv_accuracy_per_fold: cv.accuracy_per_fold.map(round), cv_accuracy_mean: round(cv.accuracy_mean), cv_accuracy_sd: round(cv.accuracy_sd),
    cv_per_folder: cv.per_folder,
    ...(cv.balanced_accuracy !== undefined ? { cv_balanced_accuracy: round(cv.balanced_accuracy), cv_worst_folder: cv.worst_folder.folder } : {}),
    scope_min: cv.scope_min, unsure_below: cv.unsure_below,
    photo_views: net.photoViews, photo_views_below: Number(net.getMeta('photo_views_below') ?? 0.6),
    cv_out_of_scope_flagged: round(cv.out_of_scope_flagged), cv_in_scope_flagged: round(cv.in_scope_flagged),
    cv_in_scope_flagged_worst_fold: round(Math.max(...cv.flagged_per_fold.map(([, others]) => others))),
  };
}
const dir = dirname(file);
writeFileSync(join(dir, `${name}.json`), JSON.stringify(card, null, 2) + '\n');

const pct = (x) => `${(100 * x).toFixed(2)}%`;
function photoLines(p) {
  const n = Object.values(p.train_photos).reduce((a, b) => a + b, 0);
  return [
    `- Photos: trained on ${n.toLocaleString('en')} real photos (${Object.entries(p.train_photos).map(([f, c]) => `${f} ${c}`).join(', ')}) from ${p.source}, mixed with Fashion-MNIST in every batch; labels from photos/clothing-dataset-small.json (a folder's allowed classes; hat, shorts and skirt: none of the ten)`,
    `- **Photos, ${p.folds}-fold cross-validation of this recipe on those photos: ${pct(p.cv_accuracy_mean)} +- ${pct(p.cv_accuracy_sd)}** of the photos of the ten classes right (per fold: ${p.cv_accuracy_per_fold.map(pct).join(', ')}); per folder: ${Object.entries(p.cv_per_folder).map(([f, c]) => `${f} ${c.right}/${c.count}`).join(', ')}${p.cv_balanced_accuracy !== undefined ? `; mean over folders (balanced accuracy) ${pct(p.cv_balanced_accuracy)}, worst ${p.cv_worst_folder}` : ''}`,
    ...(p.photo_views ? [`- Photo views (\`fmnist views --photo-views ${p.photo_views}\`): a photo whose top class is under ${p.photo_views_below} on its own is answered by the mean of it and ${p.photo_views} renders of jittered copies of the photo (framing, resolution, light, colour, noise) through the same pipeline; the cross-validation figures are with them`] : []),
    `- Doubt (chosen on the cross-validation answers): out of scope when 1 - entropy / log 10 < ${p.scope_min}${p.unsure_below ? `, unsure when the top class is under ${p.unsure_below}` : ''}; flags ${pct(p.cv_out_of_scope_flagged)} of the hat, shorts and skirt photos and ${pct(p.cv_in_scope_flagged)} of the others (${pct(p.cv_in_scope_flagged_worst_fold)} in the fold with the most)`,
  ];
}
const md = [
  `# ${name}`, '',
  `- Architecture: \`${card.arch}\``,
  `- Parameters: ${card.params.toLocaleString('en')}; file ${card.file_bytes.toLocaleString('en')} bytes; ${(card.macs_per_image / 1e6).toFixed(2)} M multiply-adds per image`,
  `- **Test accuracy: ${pct(card.test_accuracy)}** (${correct} / ${test.count}, official test set, measured once)`,
  ...(card.photos ? photoLines(card.photos) : []),
  ...(views === 'mirror'
    ? [`- Inference: test-time views (\`fmnist views --set mirror\`): an image whose top class has probability under ${viewsBelow} on its own is decided by the mean of the image and its mirror image; the image alone: ${pct(singleView)}`]
    : []),
  ...(views === 'shift'
    ? [`- Inference: test-time views (\`fmnist views --set shift\`): an image whose top class has probability under ${viewsBelow} on its own is decided by the mean of the image and the image moved 1 pixel left and right; the image alone: ${pct(singleView)}`]
    : []),
  ...(card.training_stages
    ? ['- Training, in stages (each starts from the weights the previous one saved):', ...card.training_stages.map((c, i) => `  ${i + 1}. \`${c}\``)]
    : [`- Training: \`${card.training_command}\``]),
  // The trainer adds each stage's seconds to the file's and keeps the machine of the last one.
  `- Training time: ${card.training_seconds ? `${Math.round(card.training_seconds)} s` : 'not recorded'}${card.training_stages ? ', all stages together; the last stage' : ''} on ${card.machine ?? 'unrecorded machine'}`,
  `- sha256: \`${card.sha256}\``,
  ...(card.note ? ['', card.note] : []),
  '', '## Confusion matrix (rows = true class, columns = predicted)', '',
  `| | ${CLASS_NAMES.map((_, i) => i).join(' | ')} |`, `|---|${'---|'.repeat(10)}`,
  ...card.confusion.map((row, i) => `| ${i} ${CLASS_NAMES[i]} | ${row.join(' | ')} |`),
  '', '## Classification report', '', '| class | precision | recall | F1 | support |', '|---|---|---|---|---|',
  ...card.per_class.map((c) => `| ${c.label} | ${c.precision.toFixed(4)} | ${c.recall.toFixed(4)} | ${c.f1.toFixed(4)} | ${c.support} |`),
  `| macro avg | ${card.macro.precision.toFixed(4)} | ${card.macro.recall.toFixed(4)} | ${card.macro.f1.toFixed(4)} | ${card.macro.support} |`, '',
].join('\n');
writeFileSync(join(dir, `${name}.md`), md);

const indexPath = join(dir, 'index.json');
const index = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, 'utf8')) : { default: null, models: [] };
index.models = index.models.filter((m) => m.name !== name);
if (values.default || values.index || values.photo) {
  index.models.push({ name, file: card.file, arch: card.arch, test_accuracy: card.test_accuracy, params: card.params });
}
index.models.sort((a, b) => a.name.localeCompare(b.name));
if (values.default || (values.index && !index.default)) index.default = card.file;
if (values.photo) index.photo = card.file;
writeFileSync(indexPath, JSON.stringify(index, null, 2) + '\n');
console.log(`${file}: ${pct(card.test_accuracy)} test accuracy, card written`);
