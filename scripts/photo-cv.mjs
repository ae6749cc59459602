#!/usr/bin/env node
// photo-cv.mjs: cross-validation figures for a photo model's recipe, from the
// N models trained by `fmnist-train --photos DIR --photo-fold K/N` (K = 0..N-1):
//   node scripts/photo-cv.mjs --photos DIR [--views none|shift|mirror] [--folds N] MODEL_0 ... MODEL_N-1
// (--folds when only the first models of N folds are given)
// or from their held-out reports (--photo-report FILE, JSON lines):
//   node scripts/photo-cv.mjs [--max-flagged F] REPORT_0.jsonl ... REPORT_N-1.jsonl
// Model K answers the photos of fold K, which it never saw (the same split
// as the trainer's, fm_photoset_split). Prints, per fold and as mean +-
// standard deviation across folds, the accuracy on the photos of the ten
// classes (top class allowed), per folder and as the mean over folders
// (balanced accuracy, which recipes are chosen by); then chooses the doubt
// thresholds scope_min and unsure_below that flag the most photos of none of the ten
// while flagging at most 8% of the others in every fold (--max-flagged F),
// from these out-of-fold answers. Every fold, not the folds pooled: the
// pooled rate sits right at the budget, so about half of new photo sets of
// this size would go over it; a fold is such a set.
// --json FILE writes the figures; --apply MODEL writes the chosen thresholds
// into that model's metadata (the verdict of fm_net_verdict).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadFmnist } from '../js/fmnist.mjs';
import { loadPhotoFolder } from '../js/node-data.mjs';

const { values: flags, positionals: files } = parseArgs({
  options: {
    photos: { type: 'string' }, views: { type: 'string' }, map: { type: 'string' }, folds: { type: 'string' },
    'max-flagged': { type: 'string', default: '0.08' },
    json: { type: 'string' }, apply: { type: 'string' },
  }, allowPositionals: true,
});
if (!files.length) {
  process.stderr.write('usage: node scripts/photo-cv.mjs [--max-flagged F] --photos DIR [--views V] MODEL_0 ... | REPORT_0.jsonl ...\n');
  process.exit(2);
}
const maxFlagged = Number(flags['max-flagged']);
if (!(maxFlagged > 0 && maxFlagged < 1)) {
  process.stderr.write(`photo-cv.mjs: --max-flagged ${flags['max-flagged']}: needs a fraction between 0 and 1\n`);
  process.exit(2);
}
async function foldsFromModels() {
  const fm = await loadFmnist();
  const nets = files.map((file) => fm.loadNet(readFileSync(file)));
  // As many jittered renders as the models' photo views need (predictPhotoSet).
  const jitters = Math.max(...nets.map((n) => n.photoViews));
  const set = await loadPhotoFolder(fm, flags.photos, { mapping: flags.map, jitters });
  return nets.map((net, k) => {
    if (flags.views) net.setMeta('tta', flags.views);
    const held = set.split(k, Number(flags.folds ?? files.length), true);
    const p = net.predictPhotoSet(held);
    const rows = [];
    for (let i = 0; i < held.count; i++) {
      const { folder, classes } = held.photo(i);
      rows.push({ folder, allowed: classes.reduce((m, c) => m | (1 << c), 0), probabilities: Array.from(p.subarray(10 * i, 10 * i + 10)) });
    }
    held.free(); net.free();
    return rows;
  });
}
const folds = flags.photos ? await foldsFromModels()
  : files.map((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)));
const certainty = (p) => 1 + p.reduce((h, q) => h + (q > 0 ? q * Math.log(q) : 0), 0) / Math.log(10);
const top = (p) => p.indexOf(Math.max(...p));
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const sd = (a) => Math.sqrt(mean(a.map((x) => (x - mean(a)) ** 2)));
const pct = (x) => (100 * x).toFixed(1);

const rightOf = (r) => (r.allowed >> top(r.probabilities)) & 1;
const accs = folds.map((rows) => {
  const mapped = rows.filter((r) => r.allowed);
  return mapped.filter(rightOf).length / mapped.length;
});
const result = { folds: folds.length, photos: folds.reduce((n, f) => n + f.length, 0), accuracy_per_fold: accs, accuracy_mean: mean(accs), accuracy_sd: sd(accs), per_folder: {} };
console.log(`accuracy on photos of the ten classes, per fold: ${accs.map(pct).join(', ')}; ` +
  `mean ${pct(mean(accs))} +- ${pct(sd(accs))}`);
const all = folds.flat();
const folders = [...new Set(all.map((r) => r.folder))];
for (const f of folders) {
  const rows = all.filter((r) => r.folder === f);
  if (!rows[0].allowed) continue;
  const right = rows.filter(rightOf).length;
  result.per_folder[f] = { right, count: rows.length };
  console.log(`  ${f.padEnd(12)} ${right}/${rows.length} = ${pct(right / rows.length)}%`);
}
// Balanced accuracy, the mean over folders, is what recipes are chosen by: a
// person's photos are not spread over the kinds of garment as this dataset's
// are (795 T-shirts, 184 coats), and every kind should be answered well, so
// the pooled figure, which weighs a T-shirt four times a coat, is not the aim.
const folderAccs = Object.entries(result.per_folder).map(([folder, { right, count }]) => ({ folder, accuracy: right / count }));
if (folderAccs.length) {
  result.balanced_accuracy = mean(folderAccs.map((f) => f.accuracy));
  result.worst_folder = folderAccs.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
  console.log(`  balanced (mean over folders) ${pct(result.balanced_accuracy)}%, ` +
    `worst ${result.worst_folder.folder} ${pct(result.worst_folder.accuracy)}%`);
}

// Doubt: a photo is flagged when unsure (top < u) or out of scope (certainty < s).
// Each photo's certainty and top probability are computed once, not per
// threshold pair tried.
const doubt = new Map(all.map((r) => [r, { c: certainty(r.probabilities), top: Math.max(...r.probabilities) }]));
const flagged = (r, s, u) => doubt.get(r).c < s || doubt.get(r).top < u;
const oos = all.filter((r) => !r.allowed), ins = all.filter((r) => r.allowed);
const foldOos = folds.map((rows) => rows.filter((r) => !r.allowed)), foldIns = folds.map((rows) => rows.filter((r) => r.allowed));
const rate = (rows, s, u) => rows.filter((r) => flagged(r, s, u)).length / rows.length;
let best = null;
for (let i = 0; i <= 90; i++) {
  const s = i / 100;
  for (const u of [0, 0.3, 0.35, 0.4, 0.45, 0.5]) {
    if (foldIns.some((rows) => rate(rows, s, u) > maxFlagged)) continue;
    const fo = rate(oos, s, u), fi = rate(ins, s, u);
    if (!best || fo > best.fo + 1e-9) best = { s, u, fo, fi };
  }
}
if (oos.length && best) {
  console.log(`doubt: scope_min ${best.s.toFixed(2)}, unsure_below ${best.u}: flags ${pct(best.fo)}% of the ` +
    `${oos.length} photos of none of the ten and ${pct(best.fi)}% of the ${ins.length} others ` +
    `(at most ${pct(maxFlagged)}% of those in any fold)`);
  const perFold = folds.map((_, k) => [rate(foldOos[k], best.s, best.u), rate(foldIns[k], best.s, best.u)]);
  console.log(`  per fold (none of the ten / others flagged): ${perFold.map(([a, b]) => `${pct(a)}/${pct(b)}`).join(', ')}`);
  // Accuracy of the answers given as sure (in scope and not unsure).
  const sure = ins.filter((r) => !flagged(r, best.s, best.u));
  const sureRight = sure.filter(rightOf).length / sure.length;
  console.log(`  answers given as sure: ${pct(sureRight)}% right`);
  Object.assign(result, {
    scope_min: best.s, unsure_below: best.u, max_flagged_per_fold: maxFlagged, out_of_scope_flagged: best.fo, in_scope_flagged: best.fi,
    flagged_per_fold: perFold, sure_answers_right: sureRight,
  });
}
if (flags.json) writeFileSync(flags.json, JSON.stringify(result, null, 2) + '\n');
if (flags.apply) {
  if (result.scope_min === undefined) throw new Error('--apply: no thresholds (the folds hold no photos of none of the ten)');
  const fm = await loadFmnist();
  const net = fm.loadNet(readFileSync(flags.apply));
  net.setMeta('scope_min', result.scope_min.toFixed(2));
  net.setMeta('unsure_below', String(result.unsure_below));
  net.setMeta('photo_cv', JSON.stringify({ folds: result.folds, accuracy_mean: +result.accuracy_mean.toFixed(4), accuracy_sd: +result.accuracy_sd.toFixed(4) }));
  writeFileSync(flags.apply + '.tmp', net.save());
  renameSync(flags.apply + '.tmp', flags.apply);
  console.log(`${flags.apply}: scope_min ${result.scope_min.toFixed(2)}, unsure_below ${result.unsure_below}`);
}
