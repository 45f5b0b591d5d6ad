/**
 * Fuzz test of the CLI (issue 9): `solve` and `train` driven by generated hostile files, presets,
 * paths and overrides from a seeded generator. Whatever the input, the CLI exits 0, 2 or 3, with
 * at most one bounded line on stderr, no stack trace and no absolute path (contractViolations).
 * Runs the CLI in-process (tests/support/cli.ts); runs that pass validation are kept cheap by a
 * suffix of small sizes, and hostile values of those size fields are drawn from invalid ones.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, FIELDS, type ConfigKey } from '../../src/engine/config';
import { cliInProcess, contractViolations } from '../support/cli';
import { randomScenario } from '../support/randomScenario';

const SEED = 20240917;

/** mulberry32: a small seeded generator, independent of the engine's. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}
type Gen = ReturnType<typeof generator>;

/** Markers replaced in the JSON text by what JSON.stringify cannot write. */
const TEXT_MARKERS: Record<string, string> = {
  '"@@INF@@"': '1e999',
  '"@@NEGINF@@"': '-1e999',
  '"@@NAN@@"': 'NaN',
  '"@@HEX@@"': '0x10',
  // JSON.stringify recurses: deep nesting is written as text.
  '"@@DEEP@@"': '['.repeat(100_000) + '{"a":1}' + ']'.repeat(100_000),
};

function deep(levels: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** Hostile JSON values: wrong types, extreme numbers, deep and huge structures, odd text. */
const HOSTILE: ((g: Gen) => unknown)[] = [
  () => null,
  () => true,
  () => false,
  () => 'x',
  () => '',
  () => '1',
  () => ({}),
  () => [],
  () => [[]],
  () => 0,
  () => -0,
  () => -1,
  () => 0.5,
  () => 1e308,
  () => -1e308,
  () => 1e39,
  () => -3.5e38,
  () => 5e-324,
  () => 1e-300,
  () => 2 ** 53 + 2,
  () => 4096,
  () => 1e6,
  () => '@@INF@@',
  () => '@@NEGINF@@',
  () => '@@NAN@@',
  () => '@@HEX@@',
  () => '🙂\u202e\u0000\n\u2028 /etc/passwd',
  () => 'a'.repeat(20_000),
  (g) => deep(2 + g.int(200)),
  () => '@@DEEP@@',
  (g) => Array.from({ length: 1 + g.int(50) }, () => g.pick(['x', null, {}, 1e39, 0.1])),
  () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": 2, "toString": 3}'),
];

/** Rare because they are big: a million bad entries, a million good ones. */
const HUGE: (() => unknown)[] = [
  () => new Array(1_000_000).fill('x'),
  () => new Array(1_000_000).fill(0.5),
  () => Array.from({ length: 1000 }, () => new Array(1000).fill(null)),
];

function hostile(g: Gen): unknown {
  return g.chance(0.02) ? g.pick(HUGE)() : g.pick(HOSTILE)(g);
}

function toText(value: unknown): string {
  let text = JSON.stringify(value);
  for (const [marker, raw] of Object.entries(TEXT_MARKERS)) text = text.split(marker).join(raw);
  return text;
}

type Json = Record<string, unknown> | unknown[];

/** Paths to every object and array node (arrays: a few indices only). */
function containers(
  value: unknown,
  path: (string | number)[] = [],
  out: (string | number)[][] = [],
) {
  if (typeof value !== 'object' || value === null) return out;
  out.push(path);
  const entries = Array.isArray(value)
    ? value.slice(0, 3).map((v, i) => [i, v] as const)
    : Object.entries(value);
  for (const [k, v] of entries) containers(v, [...path, k], out);
  return out;
}

function at(root: unknown, path: (string | number)[]): Json {
  let v = root;
  for (const k of path) v = (v as Record<string | number, unknown>)[k];
  return v as Json;
}

/** One mutation of a JSON document: replace, delete or add a key, or replace a container. */
function mutate(g: Gen, doc: Record<string, unknown>): string {
  const paths = containers(doc);
  const path = g.pick(paths);
  const node = at(doc, path);
  const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
  const op = g.int(4);
  if (op === 0 && keys.length) {
    const k = g.pick(keys);
    (node as Record<string | number, unknown>)[k] = hostile(g);
    return `set ${[...path, k].join('.')}`;
  }
  if (op === 1 && keys.length && !Array.isArray(node)) {
    const k = g.pick(keys) as string;
    delete (node as Record<string, unknown>)[k];
    return `delete ${[...path, k].join('.')}`;
  }
  if (op === 2 && !Array.isArray(node)) {
    const k = g.pick(['__proto__', 'constructor', 'toString', 'extra', 'ünïcødé🙂', '', 'a\nb']);
    Object.defineProperty(node, k, { value: hostile(g), enumerable: true, writable: true });
    return `add ${[...path, k].join('.')}`;
  }
  if (path.length) {
    const parent = at(doc, path.slice(0, -1)) as Record<string | number, unknown>;
    parent[path[path.length - 1]] = hostile(g);
    return `replace ${path.join('.')}`;
  }
  return 'none';
}

let dir: string;
let fileNo = 0;
function file(content: string | Buffer, name?: string): string {
  const path = join(dir, name ?? `f${fileNo++}.json`);
  writeFileSync(path, content);
  return path;
}

/** Raw texts that are not a valid document of either command. */
function rawText(g: Gen, valid: string): string | Buffer {
  switch (g.int(12)) {
    case 0:
      return valid.slice(0, g.int(valid.length));
    case 1:
      return '';
    case 2:
      return ' \n\t ';
    case 3:
      return '\ufeff' + valid;
    case 4:
      return g.pick(['null', '42', '[]', 'true', '"a string"', '-0', '1e999']);
    case 5:
      return '['.repeat(100_000) + ']'.repeat(100_000);
    case 6:
      return Buffer.from(Array.from({ length: 200 }, () => g.int(256)));
    case 7:
      return Buffer.concat([
        Buffer.from('{"x": "'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('"}'),
      ]);
    case 8:
      return valid.replace(/0\.\d+/, 'NaN');
    case 9:
      return valid + valid;
    case 10:
      return '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    default:
      return valid.replace(/[{}]/g, g.pick(['', '(', ']']));
  }
}

/** Size fields of `train`: a valid value could make a run long, so they get invalid ones only. */
const COSTLY = [
  'epochs',
  'trainSize',
  'testSize',
  'limit',
  'maxSteps',
  'rbpMaxSteps',
  'noiseSteps',
  'hidden',
  'layers',
  'batch',
] as const;
const CHEAP_SUFFIX: Record<(typeof COSTLY)[number], string> = {
  epochs: '1',
  trainSize: '8',
  testSize: '8',
  limit: '8',
  maxSteps: '100',
  rbpMaxSteps: '50',
  noiseSteps: '10',
  hidden: '3',
  layers: '3',
  batch: '8',
};
const isCostly = (key: string) => (COSTLY as readonly string[]).includes(key);

/** An invalid value for a field, as override text. */
function invalidText(g: Gen, key: ConfigKey): string {
  const f = FIELDS[key];
  const common = ['', ' ', 'x', 'NaN', 'Infinity', '1e999', '-1e999', '🙂', 'null', '[]', '{}'];
  if (f.type === 'number' || f.type === 'integer') {
    const extra = [String(f.max * 10 + 1), String(f.min - 1), String(-1e308)];
    if (f.type === 'integer') extra.push(String(f.min + 0.5));
    if (f.minExclusive) extra.push(String(f.min));
    return g.pick([...common, ...extra]);
  }
  if (f.type === 'integer-list')
    return g.pick([
      ...common,
      '0',
      '1,,2',
      '4097',
      '1.5',
      new Array(8).fill(4096).join(','),
      new Array(33).fill(2).join(','),
      new Array(100_000).fill('x').join(','),
    ]);
  if (f.type === 'boolean') return g.pick([...common, 'maybe', '2', 'TRUE']);
  if (f.type !== 'enum') return g.pick(common);
  return g.pick([
    ...common,
    'constructor',
    '__proto__',
    f.options[0] + ' ',
    f.options[0].toUpperCase(),
  ]);
}

/** Any value for a cheap field: valid or not. */
function anyText(g: Gen, key: ConfigKey): string {
  const f = FIELDS[key];
  if (g.chance(0.5)) return invalidText(g, key);
  if (f.type === 'enum') return g.pick(f.options);
  if (f.type === 'boolean') return g.pick(['true', 'false', '1', '0']);
  if (f.type === 'integer-list') return '3';
  const v = f.min + (f.max - f.min) * g.next() ** 4;
  return String(f.type === 'integer' ? Math.round(v) : g.pick([v, f.max, f.min, 1e-7, 1e-300]));
}

function overrideFor(g: Gen): { text: string; key?: string } {
  if (g.chance(0.15))
    return {
      text: g.pick([
        '__proto__=1',
        'constructor=1',
        'toString=x',
        '=5',
        'nonsense',
        'a=b=c',
        '==',
        'alpha',
        'ALPHA=1',
        'épsilon=1',
        'seed=1\n2',
        'x'.repeat(5000) + '=1',
      ]),
    };
  const key = g.pick(CONFIG_KEYS);
  const value = isCostly(key) ? invalidText(g, key) : anyText(g, key);
  return { text: `${key}=${value}`, key };
}

/** The cheap suffix for the size fields that the case leaves alone. */
function suffix(touched: Set<string>): string[] {
  return COSTLY.filter((k) => !touched.has(k)).map((k) => `${k}=${CHEAP_SUFFIX[k]}`);
}

interface Case {
  label: string;
  argv: () => string[];
}

/** A small valid scenario (3 units, 2 inputs, 2 outputs) that solves in milliseconds. */
function validScenario(g: Gen): Record<string, unknown> {
  return randomScenario({
    n: 3,
    m: 2,
    k: 2,
    seed: 1 + g.int(1000),
    maxSteps: 2000,
  }) as unknown as Record<string, unknown>;
}

/** The same with output units inside the network (readout "units"): no D, d; k from the target. */
function unitsScenario(g: Gen): Record<string, unknown> {
  const doc = validScenario(g);
  const model = doc.model as Record<string, unknown>;
  delete model.D;
  delete model.d;
  model.readout = 'units';
  model.Q = (model.Q as number[][]).map((row) => row.slice(0, 2));
  return doc;
}

function solveCases(g: Gen): Case[] {
  const cases: Case[] = [];
  const valid = () => validScenario(g);
  const units = () => unitsScenario(g);
  for (let i = 0; i < 160; i++) {
    const doc = i % 4 === 3 ? units() : valid();
    const steps = Array.from({ length: g.chance(0.3) ? 2 + g.int(3) : 1 }, () => mutate(g, doc));
    const text = toText(doc);
    cases.push({ label: `solve mutated (${steps.join('; ')})`, argv: () => ['solve', file(text)] });
  }
  for (let i = 0; i < 25; i++) {
    const content = rawText(g, toText(valid()));
    cases.push({ label: `solve raw text #${i}`, argv: () => ['solve', file(content)] });
  }
  cases.push(
    ...HUGE.map((huge, i) => ({
      label: `solve huge array #${i} in x`,
      argv: () => ['solve', file(toText({ ...valid(), x: huge() }))],
    })),
    {
      label: 'solve huge matrix W',
      argv: () => ['solve', file(toText({ ...valid(), model: { W: HUGE[2]() } }))],
    },
    { label: 'solve a directory', argv: () => ['solve', dir] },
    { label: 'solve a missing file', argv: () => ['solve', join(dir, 'missing.json')] },
    { label: 'solve in a missing directory', argv: () => ['solve', join(dir, 'no', 'such.json')] },
    { label: 'solve a name too long', argv: () => ['solve', join(dir, 'n'.repeat(300))] },
    { label: 'solve /dev/null', argv: () => ['solve', '/dev/null'] },
    { label: 'solve a name with a newline', argv: () => ['solve', file('{', 'bad\nname.json')] },
    { label: 'solve no file', argv: () => ['solve'] },
    { label: 'solve two files', argv: () => ['solve', 'a.json', 'b.json'] },
    { label: 'no command', argv: () => [] },
    { label: 'unknown command', argv: () => ['__proto__'] },
  );
  return cases;
}

function trainCases(g: Gen): Case[] {
  const cases: Case[] = [];
  const cheap = suffix(new Set());
  for (const name of [
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '',
    ' ',
    '🙂',
    'a\nb',
    '../../etc/passwd',
    '/nonexistent/abs.json',
    'x'.repeat(5000),
    'circle-lcp-di\u0000',
    'CIRCLE-LCP-DI',
  ])
    cases.push({
      label: `train preset ${JSON.stringify(name.slice(0, 30))}`,
      argv: () => ['train', name, ...cheap],
    });
  for (let i = 0; i < 90; i++) {
    const items = Array.from({ length: 1 + g.int(4) }, () => overrideFor(g));
    const touched = new Set(items.flatMap((o) => (o.key ? [o.key] : [])));
    const preset = g.pick(['circle-lcp-di', 'figure-1', 'mnist-rnn-lcp-di', 'mnist-ff-lcp-kp']);
    const argv = ['train', preset, ...items.map((o) => o.text), ...suffix(touched)];
    cases.push({
      label: `train ${preset} ${items.map((o) => o.text.slice(0, 60)).join(' ')}`,
      argv: () => argv,
    });
  }
  for (let i = 0; i < 60; i++) {
    const doc: Record<string, unknown> = {};
    if (g.chance(0.5)) doc.preset = g.chance(0.7) ? 'circle-lcp-di' : hostile(g);
    for (let j = 1 + g.int(5); j > 0; j--) {
      const key = g.chance(0.1)
        ? g.pick(['__proto__', 'constructor', 'nope', ''])
        : g.pick(CONFIG_KEYS);
      const value = isCostly(key) || g.chance(0.6) ? hostile(g) : defaultish(g, key as ConfigKey);
      Object.defineProperty(doc, key, { value, enumerable: true, writable: true });
    }
    const touched = new Set(Object.keys(doc).filter(isCostly));
    const text = toText(doc);
    cases.push({
      label: `train file ${text.slice(0, 120)}`,
      argv: () => ['train', file(text), ...suffix(touched)],
    });
  }
  for (let i = 0; i < 12; i++) {
    const content = rawText(g, toText({ preset: 'circle-lcp-di', alpha: 0.5 }));
    cases.push({ label: `train raw text #${i}`, argv: () => ['train', file(content), ...cheap] });
  }
  cases.push(
    {
      label: 'train a file with a million bad layer sizes',
      argv: () => ['train', file(toText({ layers: HUGE[0]() })), ...suffix(new Set(['layers']))],
    },
    {
      label: 'train a million overrides',
      argv: () => ['train', 'circle-lcp-di', ...new Array(1_000_000).fill('nope=1'), ...cheap],
    },
    { label: 'train a directory', argv: () => ['train', dir, ...cheap] },
    { label: 'train no source', argv: () => ['train'] },
    {
      label: 'train backend=webgl',
      argv: () => ['train', 'circle-lcp-di', 'backend=webgl', ...cheap],
    },
  );
  return cases;
}

/** A field's valid JSON value (a cheap field only). */
function defaultish(g: Gen, key: ConfigKey): unknown {
  const f = FIELDS[key];
  if (!f) return hostile(g);
  if (f.type === 'enum') return g.pick(f.options);
  if (f.type === 'boolean') return g.chance(0.5);
  if (f.type === 'integer-list') return [3];
  return f.type === 'integer' ? f.min : f.min + (f.max - f.min) * g.next() ** 6;
}

describe('the CLI contract checker', () => {
  it('catches each broken promise (so that the fuzz test can fail)', () => {
    const ok = { code: 2, stdout: '', stderr: 'error: x: bad\n' };
    expect(contractViolations(ok)).toEqual([]);
    expect(contractViolations({ code: 0, stdout: '{"a":1}\n{"b":2}\n', stderr: '' })).toEqual([]);
    const broken: [Partial<typeof ok>, RegExp][] = [
      [{ code: 1, stderr: 'internal error: x\n' }, /exit code 1/],
      [{ stderr: 'error: x\nmore\n' }, /one line/],
      [{ stderr: 'error: x' }, /one line/],
      [{ stderr: `error: ${'x'.repeat(20_000)}\n` }, /stderr line of/],
      [{ stderr: 'error: x\n    at f (a.ts:1:2)\n' }, /stack trace/],
      [{ stderr: 'error: TypeError at run (file.ts:10:5)\n' }, /stack trace/],
      [{ stderr: 'error: cannot read /home/me/x.json\n' }, /absolute path/],
      [{ stderr: 'TypeError: x\n' }, /does not start with error/],
      [{ stdout: '{"partial": ' }, /stdout/],
    ];
    for (const [change, problem] of broken)
      expect(contractViolations({ ...ok, ...change }).join('; ')).toMatch(problem);
    expect(contractViolations({ ...ok, stderr: 'error: /tmp/secret\n' }, ['/tmp/secret'])).toEqual(
      expect.arrayContaining(['stderr names /tmp/secret']),
    );
  });
});

describe('CLI fuzz: hostile files, presets, paths and overrides', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lcp-fuzz-'));
    mkdirSync(join(dir, 'sub'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0, 2 or 3 with at most one bounded line on stderr, no stack, no absolute path', async () => {
    // The readout "units" base is a valid scenario (else its mutations test nothing).
    expect((await cliInProcess(['solve', file(toText(unitsScenario(generator(1))))])).code).toBe(0);
    const g = generator(SEED);
    const cases = [...solveCases(g), ...trainCases(g)];
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const failures: string[] = [];
    const codes = new Map<number, number>();
    for (const c of cases) {
      const r = await cliInProcess(c.argv());
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
      const broken = contractViolations(r, [dir, process.cwd()]);
      if (broken.length)
        failures.push(
          `${c.label.slice(0, 200)}: ${broken.join(', ')}; stderr ${JSON.stringify(r.stderr.slice(0, 300))}`,
        );
    }
    expect(failures).toEqual([]);
    // The generator must reach every outcome: refusals, successful runs and divergences.
    expect(codes.get(2) ?? 0).toBeGreaterThan(150);
    expect(codes.get(0) ?? 0).toBeGreaterThan(10);
  });
});
