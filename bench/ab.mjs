// bench/ab.mjs (part of `make bench`): this build's wasm module against the
// previous commit's, in one run. The other build is made here from `git
// archive` of that commit (cached in build/ab/<commit>/); the two modules then
// take turns, three rounds each, so a slow spell of this shared VM hits both.
// Prints the median of the rounds and new / old.
//   node bench/ab.mjs [COMMIT] [--rounds N]   (default: HEAD when the tree
//                                 has changes, else HEAD~1; 3 rounds)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { loadFmnist } from '../js/fmnist.mjs';
import { dataDir, loadSplit } from '../js/node-data.mjs';
import { benchArch } from '../js/bench.mjs';

const root = new URL('..', import.meta.url).pathname;
const git = (...args) => {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
};
const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Math.max(1, Number(args.splice(roundsAt, 2)[1]) | 0) : 3;
const base = git('rev-parse', '--short', args[0] ?? (dirty ? 'HEAD' : 'HEAD~1'));
const dir = `${root}build/ab/${base}`;
const oldWasm = `${dir}/build/fmnist.wasm`;
if (!existsSync(oldWasm)) {
  console.error(`ab: building ${base}'s module in build/ab/${base}`);
  mkdirSync(dir, { recursive: true });
  const tar = spawnSync('sh', ['-c', `git archive ${base} | tar -x -C ${dir}`], { cwd: root, encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`git archive ${base}: ${tar.stderr}`);
  // Third-party sources already fetched here serve that tree too.
  mkdirSync(`${dir}/build`, { recursive: true });
  if (existsSync(`${root}build/thirdparty/libwebp/.patched`) && !existsSync(`${dir}/build/thirdparty`)) {
    mkdirSync(`${dir}/build/thirdparty`);
    symlinkSync(`${root}build/thirdparty/libwebp`, `${dir}/build/thirdparty/libwebp`);
  }
  const mk = spawnSync('make', ['-s', '-j2', 'build/fmnist.wasm'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (mk.status !== 0) throw new Error(`make in build/ab/${base}: ${mk.stderr.trim().split('\n').slice(-3).join('\n')}`);
}

const head = dirty ? 'this tree' : git('rev-parse', '--short', 'HEAD');
const systems = [[`${base} (previous)`, await loadFmnist(oldWasm)], [`${head} (this build)`, await loadFmnist()]];
const ARCHS = ['cnn-small', 'cnn-bn'];
const results = systems.map(() => ARCHS.map(() => []));
const sets = [];
for (const [, fm] of systems) sets.push(await loadSplit(fm, dataDir(), 'train'));
for (let round = 0; round < ROUNDS; round++) {
  for (const [s, [, fm]] of systems.entries()) {
    for (const [a, arch] of ARCHS.entries()) results[s][a].push(benchArch(fm, sets[s], arch, { trainSeconds: 3, inferSeconds: 2 }));
  }
}
const median = (rs, key) => rs.map((r) => r[key]).sort((x, y) => x - y)[rs.length >> 1];
console.log(`\nA/B, wasm, one thread: medians of ${ROUNDS} alternating rounds; (xN) = this build / previous`);
console.log(`${'arch'.padEnd(11)}${'build'.padEnd(22)}${'train img/s'.padStart(18)}${'inference img/s'.padStart(20)}${'latency ms'.padStart(18)}`);
for (const [a, arch] of ARCHS.entries()) {
  const old = results[0][a];
  for (const [s, [name]] of systems.entries()) {
    const rs = results[s][a];
    const cell = (key, digits) => {
      const v = median(rs, key), ratio = s === 1 ? ` (x${(key === 'latency_ms' ? median(old, key) / v : v / median(old, key)).toFixed(2)})` : '';
      return `${v.toLocaleString('en-US', { maximumFractionDigits: digits })}${ratio}`;
    };
    console.log(`${arch.padEnd(11)}${name.padEnd(22)}${cell('train_images_per_sec', 0).padStart(18)}${cell('infer_images_per_sec', 0).padStart(20)}${cell('latency_ms', 3).padStart(18)}`);
  }
}
