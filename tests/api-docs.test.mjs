// docs/api.md, the TypeScript declarations and the modules agree: every name
// the package exports (and every method and property of its classes) is
// declared and documented, and every documented name exists.
// docs/api.md's form: "## `entry`" per entry point, "### `name...`" per
// export, "#### `member...`" per class member under its class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const doc = readFileSync(new URL('docs/api.md', root), 'utf8');
const ENTRIES = ['.', './node'];
const entryName = (e) => (e === '.' ? pkg.name : `${pkg.name}${e.slice(1)}`);

/** { entry: { name: Set(members) } } from the headings of docs/api.md. */
function documented() {
  const out = {};
  let entry = null, name = null;
  for (const line of doc.split('\n')) {
    let m;
    if ((m = /^## `([^`]+)`/.exec(line))) {
      entry = ENTRIES.find((e) => entryName(e) === m[1]) ?? null;
      assert.ok(entry, `docs/api.md: section ${m[1]} is not an entry point of the package`);
      out[entry] = new Map();
    } else if (/^## /.test(line)) {
      entry = null;
    } else if ((m = /^### `([A-Za-z_$][\w$]*)/.exec(line)) && entry) {
      name = m[1];
      assert.ok(!out[entry].has(name), `docs/api.md documents ${name} twice`);
      out[entry].set(name, new Set());
    } else if ((m = /^#### `([A-Za-z_$][\w$]*)/.exec(line)) && entry && name) {
      out[entry].get(name).add(m[1]);
    }
  }
  return out;
}

/** Exported names of a declaration file, and the body of each declared class. */
function declared(file) {
  const src = readFileSync(new URL(file, root), 'utf8');
  const names = new Set([...src.matchAll(/^export (?:declare )?(?:const|function|class|type|interface|enum) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]));
  const classes = {};
  for (const m of src.matchAll(/^export (?:declare )?class ([\w$]+)[^{]*\{([^]*?)^\}/gm)) classes[m[1]] = m[2];
  return { names, classes };
}

/** The members of a class a user reaches: prototype methods and accessors, static members. */
function members(cls) {
  const names = new Set();
  for (let p = cls.prototype; p && p !== Object.prototype && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) if (n !== 'constructor' && !n.startsWith('_')) names.add(n);
  }
  for (const n of Object.getOwnPropertyNames(cls)) if (!['length', 'name', 'prototype'].includes(n)) names.add(n);
  return names;
}
/** Fields the constructor sets (this.x = ...): documenting them is allowed, not required. */
function fields(cls) {
  const ctor = /constructor\s*\([^)]*\)\s*\{([^]*?)\n {2}\}/.exec(cls.toString());
  return new Set(ctor ? [...ctor[1].matchAll(/this\.([\w$]+)\s*=/g)].map((m) => m[1]) : []);
}

const docs = documented();

for (const entry of ENTRIES) {
  const target = pkg.exports[entry];
  test(`${entryName(entry)}: every export is declared in ${target.types} and documented in docs/api.md, and nothing else is`, async () => {
    const mod = await import(new URL(target.default, root));
    const { names: types, classes } = declared(target.types);
    const doced = docs[entry];
    assert.ok(doced, `docs/api.md has no "## \`${entryName(entry)}\`" section`);
    const runtime = Object.keys(mod);
    assert.deepEqual(runtime.filter((n) => !types.has(n)), [], `exports missing from ${target.types}`);
    assert.deepEqual([...types].filter((n) => !doced.has(n)), [], 'declared names missing from docs/api.md');
    assert.deepEqual(runtime.filter((n) => !doced.has(n)), [], 'exports missing from docs/api.md');
    // Declared values exist (types have no runtime trace, so only const/function/class are checked).
    const src = readFileSync(new URL(target.types, root), 'utf8');
    const values = [...src.matchAll(/^export (?:declare )?(?:const|function|class) ([\w$]+)/gm)].map((m) => m[1]);
    assert.deepEqual(values.filter((n) => !(n in mod)), [], `${target.types} declares values the module does not export`);
    assert.deepEqual([...doced.keys()].filter((n) => !(n in mod) && !types.has(n)), [], 'docs/api.md documents names that do not exist');

    for (const name of runtime.filter((n) => typeof mod[n] === 'function' && /^class\b/.test(mod[n].toString()))) {
      const need = members(mod[name]), allowed = new Set([...need, ...fields(mod[name])]);
      const body = classes[name] ?? '';
      const inTypes = (n) => new RegExp(`^\\s*(?:(?:static|readonly|get|set)\\s+)*${n.replace('$', '\\$')}\\??\\s*[(:<]`, 'm').test(body);
      assert.deepEqual([...need].filter((n) => !inTypes(n)), [], `${name} members missing from ${target.types}`);
      assert.deepEqual([...need].filter((n) => !doced.get(name).has(n)), [], `${name} members missing from docs/api.md`);
      assert.deepEqual([...doced.get(name)].filter((n) => !allowed.has(n)), [], `docs/api.md documents ${name} members that do not exist`);
    }
  });
}

test('docs/api.md documents only the entry points the package exports', () => {
  for (const e of Object.keys(docs)) assert.ok(pkg.exports[e], e);
});

test('README is the front door (at most 16 KB) and the docs describe the product, not its history', () => {
  const readme = readFileSync(new URL('README.md', root));
  assert.ok(readme.length <= 16 * 1024, `README.md is ${readme.length} bytes`);
  const docs = ['README.md', 'CHANGELOG.md', ...readdirSync(new URL('docs/', root)).map((f) => `docs/${f}`),
    ...readdirSync(new URL('models/', root)).filter((f) => /\.(md|json)$/.test(f)).map((f) => `models/${f}`)];
  const history = /\b(?:this|that|next|last|previous|earlier) session\b|\bsessions? \d|\bissues? #?\d|\bthe issue\b/i;
  for (const f of docs) {
    const text = readFileSync(new URL(f, root), 'utf8');
    const line = text.split('\n').find((l) => history.test(l));
    assert.equal(line, undefined, `${f} tells work history`);
  }
  // Every relative link in README and docs/ points at a file that exists.
  for (const f of docs.filter((d) => d.endsWith('.md') && !d.startsWith('models/'))) {
    const text = readFileSync(new URL(f, root), 'utf8');
    for (const [, target] of text.matchAll(/\]\(((?!https?:|#)[^)#\s]+)/g)) {
      assert.ok(existsSync(new URL(target, new URL(f, root))), `${f} links to ${target}, which does not exist`);
    }
  }
});
