import { describe, expect, it } from 'vitest';
import { formatBytes, updateMemory } from '../../src/engine/memory';

describe('memory per update', () => {
  it('counts the states each method holds, by hand', () => {
    // The circle chapter: n = 16 units, k = 1 output, batch 32, a free solve of 145 steps.
    const m = updateMemory({ n: 16, k: 1, batch: 32, steps: 145 });
    // LCP: φ 16 + y 1 + ψ 16 + u 1 + u_I 1 = 35 floats a sample; 35 · 32 · 4 = 4480 bytes.
    expect(m.lcp).toBe(4480);
    // RBP: φ 16 + y 1 + δ 16 = 33 floats; 33 · 32 · 4 = 4224.
    expect(m.rbp).toBe(4224);
    // EP: φ⁰ 16 + y⁰ 1 held while φ^β 16 + y^β 1 settle = 34 floats; 34 · 32 · 4 = 4352.
    expect(m.ep).toBe(4352);
    // BPTT: 145 states of 17 floats; 145 · 17 · 32 · 4 = 315520.
    expect(m.bptt).toBe(315520);
    expect(Number.isNaN(updateMemory({ n: 2, k: 1, batch: 1, steps: NaN }).bptt)).toBe(true);
  });

  it('writes bytes in words', () => {
    expect(formatBytes(920)).toBe('920 B');
    expect(formatBytes(4480)).toBe('4.38 KB');
    expect(formatBytes(315520)).toBe('308 KB');
    expect(formatBytes(3 * 2 ** 20)).toBe('3 MB');
    expect(formatBytes(NaN)).toBe('—');
  });
});
