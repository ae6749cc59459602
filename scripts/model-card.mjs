#!/usr/bin/env node
// model-card.mjs: writes the card of a trained model beside it
// (models/NAME.json for tools and tests, models/NAME.md for people); with
// --default or --index it also lists it in models/index.json, the models the
// npm package ships (package.json "files" must name the file too). The
// accuracy, confusion matrix and report are measured here, once, on the
// official test set by the wasm module; the training command, time and
// machine come from the metadata the trainer stored in the file.
//   node scripts/model-card.mjs models/NAME.safetensors [--default | --index] [--note TEXT]
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadFmnist, CLASS_NAMES } from '../js/fmnist.mjs';
import { dataDir, loadSplit } from '../js/node-data.mjs';

// --seconds / --machine stand in when the file predates the trainer recording them.
const { values, positionals } = parseArgs({ allowPositionals: true, options: { default: { type: 'boolean' }, index: { type: 'boolean' }, note: { type: 'string' }, seconds: { type: 'string' }, machine: { type: 'string' } } });
const file = positionals[0];
const bytes = readFileSync(file);
const fm = await loadFmnist();
const net = fm.loadNet(bytes);
const test = await loadSplit(fm, dataDir(), 'test');
const ev = fm.evaluate(net, test);
const correct = ev.confusion.reduce((s, row, i) => s + row[i], 0);
// A model run with test-time views (fmnist views): its accuracy is the one
// above; the image alone is measured too, so the card shows what they add.
const views = net.getMeta('tta') ?? 'none';
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
};
const dir = dirname(file);
writeFileSync(join(dir, `${name}.json`), JSON.stringify(card, null, 2) + '\n');

const pct = (x) => `${(100 * x).toFixed(2)}%`;
const md = [
  `# ${name}`, '',
  `- Architecture: \`${card.arch}\``,
  `- Parameters: ${card.params.toLocaleString('en')}; file ${card.file_bytes.toLocaleString('en')} bytes; ${(card.macs_per_image / 1e6).toFixed(2)} M multiply-adds per image`,
  `- **Test accuracy: ${pct(card.test_accuracy)}** (${correct} / ${test.count}, official test set, measured once)`,
  ...(views === 'shift'
    ? [`- Inference: test-time views (\`fmnist views --set shift\`): an image whose top class has probability under 0.9 on its own is decided by the mean of the image and the image moved 1 pixel left and right; the image alone: ${pct(singleView)}`]
    : []),
  ...(card.training_stages
    ? ['- Training, in stages (each starts from the weights the previous one saved):', ...card.training_stages.map((c, i) => `  ${i + 1}. \`${c}\``)]
    : [`- Training: \`${card.training_command}\``]),
  `- Training time: ${card.training_seconds ? `${Math.round(card.training_seconds)} s` : 'not recorded'} on ${card.machine ?? 'unrecorded machine'}`,
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
if (values.default || values.index) {
  index.models.push({ name, file: card.file, arch: card.arch, test_accuracy: card.test_accuracy, params: card.params });
}
index.models.sort((a, b) => a.name.localeCompare(b.name));
if (values.default || (values.index && !index.default)) index.default = card.file;
writeFileSync(indexPath, JSON.stringify(index, null, 2) + '\n');
console.log(`${file}: ${pct(card.test_accuracy)} test accuracy, card written`);
