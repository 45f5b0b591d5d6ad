import { describe, expect, it } from 'vitest';
import { Rng, seededStreams } from '../../src/engine/rng';
import { randomScenario } from '../support/randomScenario';
import { solve } from '../support/solve';

describe('seeded streams', () => {
  it('the same seed and name give the same numbers; other seeds or names do not', () => {
    const draw = (r: Rng) => Array.from({ length: 8 }, () => r.uniform());
    expect(draw(seededStreams(7).stream('init'))).toEqual(draw(seededStreams(7).stream('init')));
    expect(draw(seededStreams(7).stream('init'))).not.toEqual(
      draw(seededStreams(8).stream('init')),
    );
    expect(draw(seededStreams(7).stream('init'))).not.toEqual(
      draw(seededStreams(7).stream('data')),
    );
  });

  it('a stream does not depend on how much another was used', () => {
    const root = seededStreams(3);
    const a = root.stream('init').stream('W');
    const before = a.normal();
    const other = root.stream('init').stream('Q');
    for (let i = 0; i < 1000; i++) other.normal();
    expect(seededStreams(3).stream('init').stream('W').normal()).toBe(before);
  });

  it('normal draws have mean 0 and variance 1; uniform draws fill [0, 1)', () => {
    const r = seededStreams(1).stream('stats');
    const N = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < N; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / N)).toBeLessThan(0.03);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.03);
    const u = Array.from({ length: N }, () => r.uniform());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const perm = r.permutation(50);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('the same scenario gives bit-identical results', async () => {
    const s = randomScenario({ n: 10, seed: 4, kind: 'linear-feedback' });
    expect(await solve(s)).toEqual(await solve(s));
  });
});
