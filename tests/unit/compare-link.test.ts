/**
 * Compare mode in links (state/link.ts, field `cm`): a comparison travels and reads back the
 * same; each bad part of it falls back alone and is named; without it, links are as before.
 */
import { compressToEncodedURIComponent } from 'lz-string';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { DEFAULT_COMPARE_UPDATES, MAX_COMPARE_UPDATES } from '../../src/engine/compareMethods';
import { PRESETS } from '../../src/engine/presets';
import { decodeLink, encodeLink, type LinkState } from '../../src/state/link';

const pack = (payload: unknown) =>
  `#v=1&s=${compressToEncodedURIComponent(JSON.stringify(payload))}`;

const base = (): LinkState => ({
  config: parseConfig(PRESETS['circle-lcp-di'].config),
  backend: null,
  chapter: 'inversion-vs-feedback',
  scene: 0,
  log: [['t', 3]],
});

describe('compare mode in links', () => {
  it('carries the methods (in order) and updates, and reads them back the same', () => {
    const state: LinkState = {
      ...base(),
      compare: { methods: ['bp', 'lcp-di', 'lcp-lf-learned'], updates: 40 },
    };
    const hash = encodeLink(state);
    const { link, rejected } = decodeLink(`#${hash}`);
    expect(rejected).toEqual([]);
    expect(link).toEqual(state);
    // A link without a comparison has no `cm` and decodes without one.
    const plain = decodeLink(`#${encodeLink(base())}`);
    expect(plain.link).toEqual(base());
    expect(plain.link?.compare).toBeUndefined();
  });

  it('drops unknown or repeated methods one by one and names them', () => {
    const { link, rejected } = decodeLink(
      pack({ ch: 'inversion-vs-feedback', cm: { m: ['lcp-di', 'sgd', 'lcp-di', 'rbp'], u: 5 } }),
    );
    expect(link?.compare).toEqual({ methods: ['lcp-di', 'rbp'], updates: 5 });
    expect(rejected).toEqual(['cm.m[1] (method)', 'cm.m[2] (method)']);
  });

  it('falls back to the default updates alone when the count is bad', () => {
    for (const u of [0, -3, 2.5, MAX_COMPARE_UPDATES + 1, '10', null]) {
      const { link, rejected } = decodeLink(pack({ cm: { m: ['bp'], u } }));
      expect(link?.compare, String(u)).toEqual({
        methods: ['bp'],
        updates: DEFAULT_COMPARE_UPDATES,
      });
      expect(rejected, String(u)).toEqual([
        `cm.u (updates: a whole number from 1 to ${MAX_COMPARE_UPDATES})`,
      ]);
    }
  });

  it('ignores a malformed comparison without losing the rest of the link', () => {
    const cases: [unknown, string[]][] = [
      ['bp', ['cm (comparison)']],
      [[1, 2], ['cm (comparison)']],
      [{ m: 'bp', u: 3 }, ['cm.m (methods)']],
      [{ m: [], u: 3 }, []],
      [{ m: ['x'], u: 3, extra: 1 }, ['cm.extra', 'cm.m[0] (method)']],
      [{ m: Array(100).fill('bp'), u: 3 }, ['cm.m (methods)']],
    ];
    for (const [cm, why] of cases) {
      const { link, rejected } = decodeLink(pack({ c: { seed: 9 }, cm }));
      expect(link?.config.seed, JSON.stringify(cm)).toBe(9);
      expect(link?.compare, JSON.stringify(cm)).toBeUndefined();
      expect(rejected, JSON.stringify(cm)).toEqual(why);
    }
  });
});
