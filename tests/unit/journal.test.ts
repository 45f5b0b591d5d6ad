/**
 * The worker's action log: entries merge as engine/actionLog.ts says, the page is sent only what
 * it has not seen as it stands (a merge resends the last entry), and a divergence keeps the
 * entry after it separate.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/engine/config';
import { DivergenceError } from '../../src/engine/errors';
import { drain, type Sliced } from '../../src/engine/sliced';
import { Journal } from '../../src/worker/journal';

/** A copy of what would be posted (entries merge in place afterwards). */
const unsent = (j: Journal) => JSON.parse(JSON.stringify(j.unsent())) as unknown;

describe('the worker journal', () => {
  it('sends the base once, then only what changed', () => {
    const j = new Journal();
    expect(j.unsent()).toBeNull();
    const base = { config: defaultConfig(), continued: null };
    j.start(base);
    j.write(['t', 1]);
    j.write(['t', 1]);
    const first = unsent(j) as { base?: unknown; from: number; entries: unknown[] };
    expect(first.base).toBeDefined();
    expect(first).toMatchObject({ type: 'log', from: 0, entries: [['t', 2]], full: false });
    expect(j.unsent()).toBeNull();
    // A merge into the last entry sends that entry again; a new entry only itself.
    j.write(['t', 1]);
    expect(unsent(j)).toEqual({ type: 'log', from: 0, entries: [['t', 3]], full: false });
    j.write(['n']);
    expect(unsent(j)).toEqual({ type: 'log', from: 1, entries: [['n']], full: false });
  });

  it('logs work when it ends, and a divergence keeps the next entry apart', () => {
    const j = new Journal();
    j.start({ config: defaultConfig(), continued: null });
    function* ok(): Sliced<number> {
      yield { stage: 'work', done: 0, total: 1 };
      return 7;
    }
    function* diverges(): Sliced<number> {
      yield { stage: 'work', done: 0, total: 1 };
      throw new DivergenceError('free', 3, 'non-finite state');
    }
    expect(drain(j.logged(ok(), ['t', 1]))).toBe(7);
    expect(() => drain(j.logged(diverges(), ['t', 1]))).toThrow(DivergenceError);
    j.write(['t', 1]);
    const sent = unsent(j) as { entries: unknown[] };
    expect(sent.entries).toEqual([
      ['t', 2],
      ['t', 1],
    ]);
  });

  it('logs work stopped after its change landed, and not work stopped before', () => {
    const j = new Journal();
    j.start({ config: defaultConfig(), continued: null });
    let landed = false;
    function* step(): Sliced<number> {
      yield { stage: 'update', done: 0, total: 2 };
      landed = true;
      yield { stage: 'evaluate', done: 1, total: 2 };
      return 1;
    }
    // Stopped before the update: nothing to replay.
    const early = j.logged(step(), ['t', 1], () => landed);
    early.next();
    early.return(undefined as never);
    expect(j.unsent()?.entries ?? []).toEqual([]);
    // Stopped in the evaluation after it: the update is logged.
    const late = j.logged(step(), ['t', 1], () => landed);
    late.next();
    late.next();
    late.return(undefined as never);
    expect(unsent(j)).toMatchObject({ entries: [['t', 1]] });
  });
});
