import { compressToEncodedURIComponent } from 'lz-string';
import { describe, expect, it } from 'vitest';
import {
  MAX_LOG_ENTRIES,
  MAX_STEPS_PER_ENTRY,
  appendEntry,
  type LogEntry,
} from '../../src/engine/actionLog';
import { defaultConfig, parseConfig } from '../../src/engine/config';
import { PRESETS } from '../../src/engine/presets';
import { Rng } from '../../src/engine/rng';
import { MAX_HASH_CHARS, decodeLink, encodeLink, type LinkState } from '../../src/state/link';

const pack = (payload: unknown, version = '1') =>
  `#v=${version}&s=${compressToEncodedURIComponent(JSON.stringify(payload))}`;

const circle = () => parseConfig(PRESETS['circle-lcp-di'].config);

describe('links', () => {
  it('carry the configuration, backend, chapter, scene and log, and read back the same', () => {
    const state: LinkState = {
      config: { ...circle(), seed: 77, lr: 0.0123 },
      backend: 'wasm',
      chapter: 'inversion-vs-feedback',
      scene: 1,
      log: [
        ['s', 12],
        ['c', 1],
        ['w', 'W', 3, 4, 0.1234567],
        ['y', 0, -0.5],
        ['f', { lr: 0.05 }],
        ['t', 7],
        ['p'],
        ['lp'],
      ],
    };
    const { link, rejected } = decodeLink(`#${encodeLink(state)}`);
    expect(rejected).toEqual([]);
    expect(link).toEqual(state);
    // Only the fields that differ from the defaults travel.
    expect(encodeLink({ ...state, log: [], chapter: null }).length).toBeLessThan(200);
  });

  it('carry a sweep: its parameters, seeds, updates and metric read back the same', () => {
    const state: LinkState = {
      config: circle(),
      backend: null,
      chapter: null,
      scene: 0,
      log: [],
      sweep: {
        request: { axes: ['lr=1e-3..0.1:5:log', 'alpha=1,2,4'], seeds: 3, updates: 20 },
        metric: 'testAccuracy',
      },
    };
    const { link, rejected } = decodeLink(`#${encodeLink(state)}`);
    expect(rejected).toEqual([]);
    expect(link).toEqual(state);
    // Without a sweep the link has no `sweep` at all.
    expect(decodeLink(`#${encodeLink({ ...state, sweep: undefined })}`).link).not.toHaveProperty(
      'sweep',
    );
  });

  it('a sweep’s bad field falls back alone; bad parameters or too many runs drop the sweep', () => {
    const read = (sw: unknown) => decodeLink(pack({ sw }));
    const some = read({ a: ['lr=0.01,0.02'], s: 0, u: 'ten', m: 'nope', z: 1 });
    expect(some.link?.sweep).toEqual({
      request: { axes: ['lr=0.01,0.02'], seeds: 2, updates: 10 },
      metric: 'testLoss',
    });
    expect(some.rejected).toEqual(['sw.z', 'sw.s', 'sw.u', 'sw.m (metric)']);
    for (const a of [['task=1,2'], [], 'lr=1..2', ['lr=1', 'lr=2', 'dt=1'], [7]]) {
      const r = read({ a, s: 1 });
      expect(r.link?.sweep, JSON.stringify(a)).toBeUndefined();
      expect(r.rejected[0]).toMatch(/^sw\.a/);
      // The rest of the link stands.
      expect(r.link?.config).toEqual(defaultConfig());
    }
    const big = read({ a: ['lr=0..1:100', 'alpha=1..2:100'], s: 1 });
    expect(big.link?.sweep).toBeUndefined();
    expect(big.rejected[0]).toMatch(/^sw \(points: 10000 points/);
    expect(read('x').rejected).toEqual(['sw (sweep)']);
  });

  it('an address without a link changes nothing', () => {
    expect(decodeLink('')).toEqual({ link: null, rejected: [] });
    expect(decodeLink('#')).toEqual({ link: null, rejected: [] });
  });

  it('migrate a v0 link (whole configuration, object entries) to v1', () => {
    const v0 = {
      config: { ...defaultConfig(), seed: 5, hidden: 3 },
      log: [{ a: 's', n: 4 }, { a: 'c', n: 1 }, { a: 'l' }],
    };
    const { link, rejected } = decodeLink(pack(v0, '0'));
    expect(rejected).toEqual([]);
    expect(link?.config.seed).toBe(5);
    expect(link?.config.hidden).toBe(3);
    expect(link?.log).toEqual([['s', 4], ['c', 1], ['l']]);
  });

  it('a bad field falls back to its default alone and is named', () => {
    const { link, rejected } = decodeLink(
      pack({ c: { seed: 9, dt: -1, bogus: 1, hidden: 1e9 }, ch: 'nope', b: 'gpu' }),
    );
    expect(link?.config.seed).toBe(9);
    expect(link?.config.dt).toBe(defaultConfig().dt);
    expect(link?.config.hidden).toBe(defaultConfig().hidden);
    expect(link?.chapter).toBeNull();
    expect(link?.backend).toBeNull();
    expect(rejected).toEqual(
      expect.arrayContaining(['c.bogus', 'c.dt', 'c.hidden', 'ch (chapter)', 'b (backend)']),
    );
  });

  it('a cross-field refusal drops the fields it names and keeps the rest', () => {
    // dt/τ_φ below float32 resolution: each value in range, together refused.
    const { link, rejected } = decodeLink(
      pack({ c: { seed: 3, dt: 1e-4, tauPhi: 1e4, alpha: 0.5 } }),
    );
    expect(link?.config.seed).toBe(3);
    expect(link?.config.alpha).toBe(0.5);
    expect(rejected).toEqual(['c.dt', 'c.tauPhi']);
    expect(() => parseConfig(link!.config)).not.toThrow();
  });

  it('the log is cut at its first bad entry; an over-long log is refused whole', () => {
    const cut = decodeLink(pack({ l: [['s', 3], ['c', 1], ['s', -2], ['l']] }));
    expect(cut.link?.log).toEqual([
      ['s', 3],
      ['c', 1],
    ]);
    expect(cut.rejected[0]).toMatch(/^l\[2\]/);
    const long = decodeLink(pack({ l: Array.from({ length: MAX_LOG_ENTRIES + 1 }, () => ['l']) }));
    expect(long.link?.log).toEqual([]);
    expect(long.rejected[0]).toMatch(/^l \(5,001 actions/);
    const badField = decodeLink(
      pack({
        l: [
          ['f', { hidden: 4 }],
          ['f', { lr: 'x' }],
        ],
      }),
    );
    expect(badField.link?.log).toEqual([['f', { hidden: 4 }]]);
  });

  it('hostile keys are inert: nothing is polluted, nothing is used', () => {
    const json =
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"c":{"__proto__":{"seed":5},"toString":1}}';
    const { link, rejected } = decodeLink(`#v=1&s=${compressToEncodedURIComponent(json)}`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(link?.config).toEqual(defaultConfig());
    expect(rejected).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'c.toString']));
  });

  it('wrong versions, broken data and oversized links are refused with a reason', () => {
    expect(decodeLink('#v=2&s=abc').rejected[0]).toMatch(/^v=2/);
    expect(decodeLink('#v=1&s=%%%zz').rejected).toEqual(['s (not a compressed link)']);
    expect(decodeLink('#v=1').rejected).toEqual(['s (missing)']);
    expect(decodeLink(`#v=1&s=${compressToEncodedURIComponent('[1,2]')}`).rejected).toEqual([
      's (not an object)',
    ]);
    expect(decodeLink(`#v=1&s=${compressToEncodedURIComponent('{')}`).rejected).toEqual([
      's (not JSON)',
    ]);
    const huge = decodeLink(`#v=1&s=${'A'.repeat(MAX_HASH_CHARS + 1)}`);
    expect(huge.link).toBeNull();
    expect(huge.rejected[0]).toMatch(/whole link/);
  });

  it('300 random and mutated hashes: never a throw, always an answer in time', () => {
    const rng = new Rng(12345, 'fuzz');
    const valid = `#${encodeLink({
      config: circle(),
      backend: 'wasm',
      chapter: 'local-rule',
      scene: 0,
      log: [['s', 3], ['c', 1], ['l'], ['t', 4], ['w', 'W', 0, 1, 0.5]],
    })}`;
    const alphabet =
      'ABCXYZabcxyz0123456789+-$=&%#<>"\'`/\\{}[]()_:;,.!?~^|@ \u0000\u00e9\ud83d\ude00';
    let slowest = 0;
    for (let i = 0; i < 300; i++) {
      let hash: string;
      if (i % 3 === 0) {
        // Mutate a valid link: flip, insert and delete characters.
        const chars = valid.split('');
        for (let k = 0; k < 1 + rng.int(6); k++) {
          const at = rng.int(chars.length);
          const c = alphabet[rng.int(alphabet.length)];
          if (k % 3 === 0) chars[at] = c;
          else if (k % 3 === 1) chars.splice(at, 0, c);
          else chars.splice(at, 1);
        }
        hash = chars.join('');
      } else if (i % 3 === 1) {
        // A random payload of hostile values.
        const values: unknown[] = [
          1e308,
          -1e308,
          '<img src=x onerror=alert(1)>',
          { __proto__: { x: 1 } },
          [['s', 1e12]],
          null,
          'constructor',
          Array(50).fill(['t', 99999]),
        ];
        const payload: Record<string, unknown> = {};
        for (const key of ['c', 'b', 'ch', 'sc', 'l', '__proto__', 'x'])
          if (rng.uniform() < 0.5) payload[key] = values[rng.int(values.length)];
        hash = pack(payload);
      } else {
        hash = `#${Array.from({ length: 1 + rng.int(200) }, () => alphabet[rng.int(alphabet.length)]).join('')}`;
      }
      const start = performance.now();
      const out = decodeLink(hash);
      slowest = Math.max(slowest, performance.now() - start);
      expect(Array.isArray(out.rejected)).toBe(true);
      if (out.link) expect(() => parseConfig(out.link!.config)).not.toThrow();
    }
    expect(slowest).toBeLessThan(1000);
  });
});

describe('the action log', () => {
  it('merges steps and updates, replaces repeated edits of one entry, stops at its bound', () => {
    const log: LogEntry[] = [];
    appendEntry(log, ['s', 3]);
    appendEntry(log, ['s', 4]);
    appendEntry(log, ['t', 1]);
    appendEntry(log, ['t', 1]);
    appendEntry(log, ['y', 0, 0.1]);
    appendEntry(log, ['y', 0, 0.2]);
    appendEntry(log, ['y', 1, 0.3]);
    appendEntry(log, ['s', 1], false);
    appendEntry(log, ['s', 1], false);
    expect(log).toEqual([
      ['s', 7],
      ['t', 2],
      ['y', 0, 0.2],
      ['y', 1, 0.3],
      ['s', 1],
      ['s', 1],
    ]);
    const big: LogEntry[] = [['s', MAX_STEPS_PER_ENTRY]];
    appendEntry(big, ['s', 1]);
    expect(big).toEqual([
      ['s', MAX_STEPS_PER_ENTRY],
      ['s', 1],
    ]);
    const full: LogEntry[] = Array.from({ length: MAX_LOG_ENTRIES }, () => ['l'] as LogEntry);
    expect(appendEntry(full, ['n'])).toBe(false);
    expect(full.length).toBe(MAX_LOG_ENTRIES);
  });
});
