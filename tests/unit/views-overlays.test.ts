// @vitest-environment jsdom
/**
 * Issue 11's overlays drawn in jsdom from the deterministic fixture: the least-control landscape
 * on the phase portrait (checked against ψ(φ) = φ − Wρ(φ) − Ux − b computed here), the local rule
 * of a picked synapse on the network diagram (against the snapshot's ψ, ρ and ΔW), and the feedback
 * alignment panels of the learning curves; normalised SVG snapshots.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SimView } from '../../src/state/simView';
import {
  drawLearning,
  learningPanels,
  MAX_MARKERS,
  thinned,
} from '../../src/ui/views/learningDraw';
import { drawNetwork } from '../../src/ui/views/networkDraw';
import { strongestSynapse, synapseRule } from '../../src/ui/views/networkSynapse';
import { drawPhase, type PhaseModel } from '../../src/ui/views/phaseDraw';
import { leastControlOverlay, phaseRange, targetRange } from '../../src/ui/views/phaseModel';
import { alignmentText } from '../../src/ui/views/weightsModel';
import { fixtureSimView } from '../support/fixtures';
import { newSvg, normalise } from '../support/svg';

const normaliseLines = (el: Element) => normalise(el, { lines: true });

afterEach(() => {
  document.body.innerHTML = '';
  vi.restoreAllMocks();
});

/** ψ(φ) = φ − Wρ(φ) − Ux − b of the fixture, written out here (tanh). */
function psiOf(sim: SimView, phi: number[]): number[] {
  const w = sim.weights!.params;
  const s = sim.latest!;
  const n = s.n;
  const m = s.m;
  return phi.map((p, a) => {
    let v = p - w.b!.data[a];
    for (let c = 0; c < m; c++) v -= w.U!.data[a * m + c] * s.x[c];
    for (let l = 0; l < n; l++) v -= w.W!.data[a * n + l] * Math.tanh(phi[l]);
    return v;
  });
}
const half = (v: number[]) => 0.5 * v.reduce((a, x) => a + x * x, 0);

describe('least-control overlay (phase portrait)', () => {
  const sim = fixtureSimView({ task: 'pattern', n: 2, m: 2, k: 1 });
  const range = phaseRange(sim, 0, 1, null);
  const t = sim.latest!.target[0];
  const overlay = (probe: number | null) =>
    leastControlOverlay({
      sim,
      field: null,
      i: 0,
      j: 1,
      range,
      output: 0,
      t,
      readout: 'units',
      activation: 'tanh',
      tauPhi: 1,
      probe,
    });

  it('levels of ½‖ψ(φ)‖², φ* at the least of them on the line φ₁ = t, and the probe’s control', () => {
    const lc = overlay(0.4);
    if (!lc?.star || !lc.probe) throw new Error('no overlay');
    expect(lc.line).toEqual({ fixed: 'j', t });
    // The grid holds ½‖ψ‖² at its points.
    const [lo, hi] = lc.range;
    const at = (g: number) => lo + ((hi - lo) * g) / (lc.size - 1);
    for (const [r, c] of [
      [0, 0],
      [7, 30],
      [40, 12],
    ])
      expect(lc.values[r * lc.size + c]).toBeCloseTo(half(psiOf(sim, [at(c), at(r)])), 5);
    // φ* is the least ½‖ψ‖² on the line (dense independent scan over twice the axes).
    let best = Infinity;
    for (let q = 0; q <= 6000; q++) {
      const a = lo - (hi - lo) + (3 * (hi - lo) * q) / 6000;
      best = Math.min(best, half(psiOf(sim, [a, t])));
    }
    expect(lc.star.half).toBeLessThanOrEqual(best + 1e-9);
    expect(lc.star.half).toBeGreaterThan(best - 1e-3 * (best + 1e-6));
    expect(Array.from(lc.star.psi)).toEqual(
      psiOf(sim, lc.star.phi).map((v) => expect.closeTo(v, 9) as unknown as number),
    );
    expect(lc.probe.phi).toEqual([0.4, t]);
    expect(lc.probe.half).toBeCloseTo(half(psiOf(sim, [0.4, t])), 9);
    expect(lc.probe.half).toBeGreaterThan(lc.star.half);
    expect(lc.levels.length).toBe(7);
    // A separate readout: levels only (the least control is not the lowest point on its set).
    const separate = leastControlOverlay({
      ...{ sim, field: null, i: 0, j: 1, range, output: 0, t },
      ...{ readout: 'separate' as const, activation: 'tanh' as const, tauPhi: 1, probe: null },
    });
    expect(separate?.line).toBeNull();
    expect(separate?.star).toBeNull();
  });

  it('draws the levels, φ*, ψ* and the draggable point; the legend entry switches it', () => {
    const svg = newSvg();
    const onProbe = vi.fn();
    const onToggleLeastControl = vi.fn();
    const model: PhaseModel = {
      sim,
      field: null,
      i: 0,
      j: 1,
      range,
      output: 0,
      targetRange: targetRange(sim, 0, null),
      dragValue: null,
      editableTarget: true,
      readout: 'units',
      leastControl: overlay(0.4),
      leastControlOn: true,
    };
    const layout = drawPhase(svg, model, 560, 360, { onProbe, onToggleLeastControl });
    if (!layout) throw new Error('no layout');
    const lc = model.leastControl!;
    expect(svg.querySelector('path.lc-levels')?.getAttribute('d')).toMatch(/^M/);
    expect(svg.querySelector('path.lc-star-level')?.getAttribute('d')).toMatch(/^M/);
    const star = svg.querySelector('path.lc-star')?.getAttribute('d') ?? '';
    const [sx, sy] = (star.match(/^M(-?[\d.]+),(-?[\d.]+)/) ?? []).slice(1).map(Number);
    expect(sx).toBeCloseTo(layout.x(lc.star!.phi[0]), 0);
    // The diamond's top vertex: 6 px above φ*.
    expect(sy + 6).toBeCloseTo(layout.y(t), 0);
    const readout = svg.querySelector('text.lc-readout')?.textContent ?? '';
    expect(readout).toContain(`½‖ψ*‖² = `);
    expect(readout).toMatch(/½‖ψ‖² = [\d.]+ at ○ \([\d.]+×\)/);
    // The legend's switch.
    const entry = svg.querySelector('g.entry[data-key="levels"]');
    expect(entry?.getAttribute('role')).toBe('switch');
    expect(entry?.getAttribute('aria-checked')).toBe('true');
    entry?.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(onToggleLeastControl).toHaveBeenCalledTimes(1);
    // The probe moves along the line from the keyboard (2 % of the axes a press).
    svg
      .querySelector('g.lc-probe')
      ?.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    expect(onProbe).toHaveBeenCalledWith(
      expect.closeTo(0.4 + 0.02 * (range[1] - range[0]), 9),
      true,
    );
    // The move φ⁰ → φ* is not drawn as a third arrow.
    expect(svg.querySelector('path.psi-arrow')?.getAttribute('d')).toBe('');
    expect(normaliseLines(svg)).toMatchSnapshot();

    // Off: nothing of it drawn, the switch unchecked.
    drawPhase(svg, { ...model, leastControl: null, leastControlOn: false }, 560, 360);
    expect(svg.querySelector('g.least-control')?.getAttribute('display')).toBe('none');
    expect(svg.querySelector('g.entry[data-key="levels"]')?.getAttribute('aria-checked')).toBe(
      'false',
    );
  });
});

describe('local rule (network diagram)', () => {
  const view = fixtureSimView({ n: 6 });
  const size = { width: 420, height: 300 };

  it('strongestSynapse: the largest |ΔW[post, pre]| off the diagonal', () => {
    const W = view.weights!.lastUpdate!.W!;
    const n = W.rows;
    let best = { post: -1, pre: -1 };
    let top = -1;
    for (let q = 0; q < n * n; q++) {
      const post = Math.floor(q / n);
      const pre = q % n;
      if (post !== pre && Math.abs(W.data[q]) > top)
        [top, best] = [Math.abs(W.data[q]), { post, pre }];
    }
    expect(strongestSynapse(W, n)).toEqual(best);
    // A diagonal entry larger than all is not picked (the diagram draws no self-connections).
    const data = W.data.slice();
    data[0] = 1e6;
    expect(strongestSynapse({ ...W, data }, n)).toEqual(best);
    expect(strongestSynapse(null, n)).toBeNull();
    expect(strongestSynapse(W, n + 1)).toBeNull();
  });

  it('highlights the synapse, ψ_post and ρ_pre, and writes the product beside the last ΔW entry', () => {
    const root = document.createElement('div');
    document.body.appendChild(root);
    const onSynapse = vi.fn();
    const synapse = { post: 1, pre: 4 };
    drawNetwork(root, view, { ...size, synapse, onSynapse, reducedMotion: true, now: 0 });
    const s = view.latest!;
    const dW = view.weights!.lastUpdate!.W!;
    const rule = synapseRule(s, view.weights, synapse)!;
    expect(rule.product).toBeCloseTo(s.psi[1] * s.rate[4], 12);
    expect(rule.delta).toBe(dW.data[1 * dW.cols + 4]);
    const text = root.querySelector('text.syn-rule')?.textContent ?? '';
    expect(text).toContain('ΔW[1,4] ∝ ψ₁ · ρ(φ₄) = ');
    expect(text).toContain(`last update ΔW[1,4] = `);
    expect(root.querySelector('text.syn-post-label')?.textContent).toMatch(/^ψ₁ = /);
    expect(root.querySelector('text.syn-pre-label')?.textContent).toMatch(/^ρ\(φ₄\) = /);
    expect(root.querySelector('text.caption')?.getAttribute('display')).toBe('none');
    // Linear feedback: the slope of the post-synaptic unit joins the product.
    const lf = synapseRule(s, view.weights, synapse, { controller: 'linear-feedback' })!;
    expect(lf.product).toBeCloseTo((1 - Math.tanh(s.phi[1]) ** 2) * s.psi[1] * s.rate[4], 12);
    expect(lf.lines[0]).toContain('ρ′(φ₁) ψ₁ · ρ(φ₄)');
    // After an update: the factors of its own controlled equilibrium, marked with a star.
    const origin = {
      phi: s.phi.map((v) => v + 0.5),
      psi: s.psi.map((v) => 2 * v + 0.1),
      rate: s.rate.map((v) => v / 2),
    };
    const at = synapseRule(s, { ...view.weights!, lastUpdateAt: origin }, synapse)!;
    expect(at.atUpdate).toBe(true);
    expect(at.product).toBeCloseTo(origin.psi[1] * origin.rate[4], 12);
    expect(at.lines[0]).toContain('ψ*₁ · ρ(φ*₄)');
    expect(normaliseLines(root.querySelector('g.synapse')!)).toMatchSnapshot();

    // A click on an edge picks its synapse; one on empty space clears.
    const hit = root.querySelector('path.edge-hit');
    hit?.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    const picked = onSynapse.mock.calls[0][0] as { post: number; pre: number };
    expect(hit?.querySelector('title')?.textContent).toContain(`W[${picked.post},${picked.pre}]`);
    root.querySelector('svg')?.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(onSynapse).toHaveBeenLastCalledWith(null);
    // Cleared: the caption is back and nothing is highlighted.
    drawNetwork(root, view, { ...size, synapse: null, onSynapse, reducedMotion: true, now: 0 });
    expect(root.querySelector('g.synapse')?.getAttribute('display')).toBe('none');
    expect(root.querySelector('text.caption')?.hasAttribute('display')).toBe(false);
  });
});

describe('feedback alignment (learning curves, weights text)', () => {
  it('plots cos(Qu*, Mu*) and ∠(B, Wᵀ) on their own axes when present', () => {
    const view = fixtureSimView({ n: 6, learningPoints: 20 });
    const learning = view.learning.map((p, q) => ({
      ...p,
      alignmentQ: q % 4 === 3 ? NaN : 0.2 + 0.04 * q,
      angleB: 60 - 2.5 * q,
    }));
    expect(learningPanels(learning)).toEqual([
      'loss',
      'control',
      'accuracy',
      'cosine',
      'alignmentQ',
      'angleB',
    ]);
    expect(learningPanels(view.learning)).not.toContain('alignmentQ');
    const svg = newSvg();
    drawLearning(svg, { ...view, learning }, { width: 420, height: 420 });
    const q = svg.querySelector('g.panel-alignmentQ');
    const b = svg.querySelector('g.panel-angleB');
    expect(q?.querySelector('text.panel-label')?.textContent).toMatch(/^cos\(Qu\*, Mu\*\)/);
    expect(b?.querySelector('text.panel-label')?.textContent).toMatch(
      /^∠\(B, Wᵀ\)\s+12.5°Learned feedback/,
    );
    // Unmeasured points (NaN) are skipped.
    expect(q?.querySelectorAll('circle.dot')).toHaveLength(15);
    expect(b?.querySelectorAll('circle.dot')).toHaveLength(20);
    expect(normaliseLines(svg)).toMatchSnapshot();
  });

  it('the weights view quotes the last measured cos(Qu*, Mu*)', () => {
    const view = fixtureSimView({ n: 6, learningPoints: 5, feedback: true });
    const learning = view.learning.map((p, q) => ({
      ...p,
      alignmentQ: q < 3 ? 0.5 + q / 10 : NaN,
    }));
    const items = alignmentText({ ...view, learning }, 'W');
    const item = items.find((i) => i.text.startsWith('cos(Qu*, Mu*)'));
    expect(item?.text).toBe('cos(Qu*, Mu*) = 0.700');
    expect(item?.title).toContain(`update ${learning[2].update}`);
  });
});

describe('learning curves with hundreds of one-sample epochs', () => {
  it('draw at most MAX_MARKERS test and noise markers per panel, evenly spaced, the last kept', () => {
    const points = Array.from({ length: 500 }, (_, i) => i);
    const kept = thinned(points);
    expect(kept.length).toBeLessThanOrEqual(MAX_MARKERS);
    expect(kept.length).toBeGreaterThan(MAX_MARKERS / 2);
    expect(kept[kept.length - 1]).toBe(499);
    const gaps = kept.slice(1).map((v, i) => v - kept[i]);
    expect(new Set(gaps).size).toBe(1);
    expect(thinned([1, 2, 3])).toEqual([1, 2, 3]);
  });
});
