// @vitest-environment jsdom
/**
 * The network, traces, learning and equations views drawn in jsdom from a deterministic fixture:
 * normalised SVG snapshots (numbers rounded to 2 decimals, ids stripped) and structural checks;
 * and the React components stay live without re-rendering per snapshot.
 */
import { createElement, Profiler, act } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../../src/engine/config';
import { simView, type SimView } from '../../src/state/simView';
import { fixtureSimView } from '../support/fixtures';
import {
  CANVAS_BUCKETS,
  CANVAS_THRESHOLD,
  drawNetwork,
  EDGE_CHUNK,
  networkLayout,
  unitText,
  NetworkView,
} from '../../src/ui/views/NetworkView';
import { drawTraces, markerGroups, TracesView } from '../../src/ui/views/TracesView';
import { drawLearning, learningPanels, LearningView } from '../../src/ui/views/LearningView';
import { stageLayout } from '../../src/ui/components/Stage';
import { VIEW_IDS } from '../../src/state/store';
import { drawEquations, EquationsView, LIVE } from '../../src/ui/views/EquationsView';
import { fittingTicks, fmt } from '../../src/ui/views/common';
import { scaleLinear, scaleLog } from 'd3';

const SVG_NS = 'http://www.w3.org/2000/svg';
const SIZE = { width: 420, height: 300 };

/** Observable Plot's way: rounded numbers, no ids, one element per line. */
function normalise(markup: string): string {
  return markup
    .replace(/\s(id|aria-labelledby|aria-describedby)="[^"]*"/g, '')
    .replace(/-?\d*\.\d+(?:e[-+]?\d+)?/g, (m) => {
      const v = Math.round(Number(m) * 100) / 100;
      return String(Object.is(v, -0) ? 0 : v);
    })
    .replace(/></g, '>\n<');
}

function svg(): SVGSVGElement {
  const el = document.createElementNS(SVG_NS, 'svg');
  document.body.appendChild(el);
  return el;
}

function host(): HTMLDivElement {
  const el = document.createElement('div');
  document.body.appendChild(el);
  return el;
}

/** A fake 2-D context that counts strokes (jsdom has no canvas), per canvas. */
function stubCanvas() {
  const calls = {
    stroke: 0,
    lineTo: 0,
    quadraticCurveTo: 0,
    strokeStyle: 0,
    flush: 0,
    drawImage: [] as { onto: HTMLCanvasElement; from: unknown }[],
  };
  const ctxOf = (canvas: HTMLCanvasElement) => ({
    setTransform: () => undefined,
    clearRect: () => undefined,
    beginPath: () => undefined,
    moveTo: () => undefined,
    lineTo: () => void calls.lineTo++,
    quadraticCurveTo: () => void calls.quadraticCurveTo++,
    stroke: () => void calls.stroke++,
    getImageData: () => void calls.flush++,
    drawImage: (from: unknown) => void calls.drawImage.push({ onto: canvas, from }),
    set strokeStyle(_v: string) {
      calls.strokeStyle++;
    },
    set globalAlpha(_v: number) {},
    set lineWidth(_v: number) {},
    set lineCap(_v: string) {},
  });
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (
    this: HTMLCanvasElement,
  ) {
    return ctxOf(this);
  } as unknown as HTMLCanvasElement['getContext']);
  return calls;
}

afterEach(() => {
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

describe('fixture', () => {
  it('is deterministic and consistent', () => {
    const a = fixtureSimView({ n: 5, seed: 3 });
    const b = fixtureSimView({ n: 5, seed: 3 });
    expect(Array.from(a.latest!.phi)).toEqual(Array.from(b.latest!.phi));
    expect(a.latest!.rate[0]).toBeCloseTo(Math.tanh(a.latest!.phi[0]), 6);
    expect(a.traces.length).toBe(151);
    expect(a.task?.trainX.length).toBe(400);
    expect(a.weights?.lastUpdate?.W?.data.length).toBe(25);
    const layered = fixtureSimView({ layers: [4, 3] });
    expect(layered.latest!.n).toBe(7);
    expect(layered.weights!.maskW).not.toBeNull();
    // Controlled: ψ and u are non-zero; the update is ψ ρᵀ.
    const s = a.latest!;
    expect(Math.abs(s.psi[0])).toBeGreaterThan(0);
    expect(a.weights!.lastUpdate!.W!.data[1]).toBeCloseTo(s.psi[0] * s.rate[1], 5);
  });
});

describe('network view', () => {
  it('draws a recurrent net on a circle with one SVG edge per non-zero weight', () => {
    const view = fixtureSimView({ n: 6, freeSteps: 20, controlSteps: 30 });
    const root = host();
    drawNetwork(root, view, { ...SIZE, now: 0 });
    const s = root.querySelector('svg')!;
    expect(s.querySelectorAll('circle.unit')).toHaveLength(2 + 6 + 2);
    expect(s.querySelectorAll('g.node-h')).toHaveLength(6);
    // W without its diagonal, U and D.
    expect(s.querySelectorAll('path.edge')).toHaveLength(6 * 5 + 6 * 2 + 2 * 6);
    expect(root.dataset.edges).toBe('svg');
    // Chords of W are curves; U and D are straight.
    expect(s.querySelector('path.edge')!.getAttribute('d')).toMatch(/^M[\d.,-]+(Q|L)/);
    expect(
      Array.from(s.querySelectorAll('path.edge')).some((p) => p.getAttribute('d')!.includes('Q')),
    ).toBe(true);
    expect(s.querySelectorAll('g.bar')).toHaveLength(2);
    expect(normalise(s.outerHTML)).toMatchSnapshot();
  });

  it('readout "units": each output is a dashed copy of one of the last k units', () => {
    const view = fixtureSimView({ n: 6, freeSteps: 20, controlSteps: 30 });
    const root = host();
    drawNetwork(root, view, { ...SIZE, now: 0, readout: 'units' });
    const s = root.querySelector('svg')!;
    const copies = Array.from(s.querySelectorAll('g.copies line'));
    expect(copies).toHaveLength(2);
    const units = Array.from(s.querySelectorAll('g.node-h')).map((g) =>
      g
        .getAttribute('transform')!
        .match(/translate\(([^,]+),([^)]+)\)/)!
        .slice(1, 3),
    );
    // From the last two hidden units, in order.
    expect(copies.map((l) => [l.getAttribute('x1'), l.getAttribute('y1')])).toEqual(units.slice(4));
    const labels = Array.from(s.querySelectorAll('g.columns text')).map((t) => t.textContent);
    expect(labels[labels.length - 1]).toBe('y ≡ φ_y');
  });

  it('lays a layered net out in columns x | h₁ | h₂ | y with masked edges only', () => {
    const view = fixtureSimView({ layers: [4, 3], freeSteps: 20, controlSteps: 30 });
    const root = host();
    drawNetwork(root, view, { ...SIZE, now: 0 });
    const s = root.querySelector('svg')!;
    expect(s.querySelectorAll('circle.unit')).toHaveLength(2 + 7 + 2);
    expect(s.querySelectorAll('path.edge')).toHaveLength(3 * 4 + 4 * 2 + 2 * 3);
    const labels = Array.from(s.querySelectorAll('g.columns text')).map((t) => t.textContent);
    expect(labels).toEqual(['x', 'h₁', 'h₂', 'y']);
    // Units of one block share a column.
    const layout = networkLayout({ m: 2, n: 7, k: 2 }, [4, 3], true, SIZE);
    const xs = new Set(layout.nodes.filter((d) => d.kind === 'h' && d.block === 0).map((d) => d.x));
    expect(xs.size).toBe(1);
    expect(normalise(s.outerHTML)).toMatchSnapshot();
  });

  it('moves edges to a canvas above the threshold and thins very dense nets', () => {
    const calls = stubCanvas();
    const view = fixtureSimView({ n: 60, freeSteps: 5, controlSteps: 5 });
    const root = host();
    drawNetwork(root, view, { ...SIZE, now: 0 });
    const total = 60 * 59 + 60 * 2 + 2 * 60;
    expect(root.dataset.edges).toBe('canvas');
    expect(root.querySelectorAll('path.edge')).toHaveLength(0);
    // Chords of W are curves, U and D straight; one colour per strength level and sign, one
    // stroke per edge; without a scheduler, all at once on the canvas shown.
    expect(calls.quadraticCurveTo).toBe(60 * 59);
    expect(calls.lineTo).toBe(total - 60 * 59);
    expect(calls.strokeStyle).toBeLessThanOrEqual(2 * (CANVAS_BUCKETS + 1));
    expect(calls.stroke).toBe(total);
    expect(calls.drawImage).toHaveLength(0);
    expect(root.querySelectorAll('circle.unit')).toHaveLength(64);

    const big = fixtureSimView({ n: 100, freeSteps: 5, controlSteps: 5 });
    const root2 = host();
    drawNetwork(root2, big, { ...SIZE, now: 0, maxEdges: 6000 });
    expect(root2.querySelector('text.caption')!.textContent).toContain(
      `strongest 6000 of ${100 * 99 + 400}`,
    );
  });

  it('with a scheduler, thousands of canvas edges are drawn a chunk a step offscreen, then shown', () => {
    const calls = stubCanvas();
    const view = fixtureSimView({ n: 60, freeSteps: 5, controlSteps: 5 });
    const total = 60 * 59 + 60 * 2 + 2 * 60;
    const steps: (() => void)[] = [];
    const schedule = (step: () => void) => void steps.push(step);
    const root = host();
    drawNetwork(root, view, { ...SIZE, now: 0, schedule });
    expect(calls.stroke).toBe(0);
    const shown = root.querySelector('canvas');
    let ran = 0;
    while (steps.length) {
      const before = calls.stroke;
      steps.shift()!();
      ran++;
      // The first step draws EDGE_CHUNK; the next ones as many as fit its pace (here fast).
      if (ran === 1) expect(calls.stroke - before).toBe(EDGE_CHUNK);
    }
    expect(ran).toBeGreaterThan(1);
    expect(calls.stroke).toBe(total);
    // Each step but the last rasterised at once; the result copied onto the canvas shown once.
    expect(calls.flush).toBe(ran - 1);
    expect(calls.drawImage).toHaveLength(1);
    expect(calls.drawImage[0].onto).toBe(shown);
    expect(calls.drawImage[0].from).not.toBe(shown);

    // New weights while a drawing is under way: the old one stops, only the new one is shown.
    const w = view.weights!;
    const next = (version: number): SimView => ({ ...view, weights: { ...w, version } });
    drawNetwork(root, next(w.version + 1), { ...SIZE, now: 1000, schedule });
    expect(steps).toHaveLength(1);
    steps.shift()!();
    drawNetwork(root, next(w.version + 2), { ...SIZE, now: 2000, schedule });
    const strokes = calls.stroke;
    while (steps.length) steps.shift()!();
    expect(calls.stroke - strokes).toBe(total);
    expect(calls.drawImage).toHaveLength(2);
  });

  it('a layered 16-16 net paints its edges on a canvas; click targets keep tooltips and picking', () => {
    stubCanvas();
    const view = fixtureSimView({ layers: [16, 16], m: 2, k: 2, freeSteps: 5, controlSteps: 5 });
    const root = host();
    const onSynapse = vi.fn();
    drawNetwork(root, view, { ...SIZE, now: 0, onSynapse });
    // U 16×2, W's 16×16 block, D 2×16 (chapter kolen-pollack's net): more than CANVAS_THRESHOLD.
    const total = 32 + 256 + 32;
    expect(total).toBeGreaterThan(CANVAS_THRESHOLD);
    expect(root.dataset.edges).toBe('canvas');
    expect(root.querySelectorAll('path.edge')).toHaveLength(0);
    const hits = Array.from(root.querySelectorAll<SVGPathElement>('path.edge-hit'));
    expect(hits).toHaveLength(total);
    const titles = hits.map((h) => h.querySelector('title')?.textContent ?? '');
    const u = hits[titles.findIndex((t) => t.startsWith('U['))];
    expect(u.querySelector('title')?.textContent).toMatch(/^U\[\d+,\d+\] = \S+$/);
    // U and D edges only show their weight; W edges pick their synapse.
    u.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(onSynapse).not.toHaveBeenCalled();
    const w = hits[titles.findIndex((t) => t.startsWith('W['))];
    const [, post, pre] =
      (w.querySelector('title')?.textContent ?? '').match(/^W\[(\d+),(\d+)\]/) ?? [];
    expect(w.querySelector('title')?.textContent).toContain('click to see its local update');
    w.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(onSynapse).toHaveBeenCalledWith({ post: Number(post), pre: Number(pre) });
  });

  it('SVG edges keep their order and tooltips while training, and are sorted again after it', () => {
    const base = fixtureSimView({ n: 6, freeSteps: 20, controlSteps: 30 });
    const root = host();
    const keys = () =>
      Array.from(root.querySelectorAll('path.edge'), (p) => {
        const t = p.querySelector('title')?.textContent ?? '';
        return t.slice(0, t.indexOf(']') + 1);
      });
    const tooltips = () =>
      Array.from(root.querySelectorAll('path.edge title'), (t) => t.textContent);
    drawNetwork(root, base, { ...SIZE, now: 0 });
    const before = keys();
    const shown = tooltips();
    const w = base.weights!;
    const W = w.params.W!;
    // New weights that reorder the strengths: every other entry of W ×3, the rest ×0.2.
    const weights = {
      ...w,
      version: w.version + 1,
      params: { ...w.params, W: { ...W, data: W.data.map((v, q) => v * (q % 2 ? 3 : 0.2)) } },
    };
    const training: SimView = {
      ...base,
      latest: { ...base.latest!, phase: 'training' },
      weights,
    };
    drawNetwork(root, training, { ...SIZE, now: 1000 });
    expect(keys()).toEqual(before);
    expect(tooltips()).toEqual(shown);
    // The edges are restyled all the same.
    const strongest = root.querySelector('path.edge:last-child');
    expect(strongest?.getAttribute('stroke-width')).not.toBeNull();
    // Training over: weakest first again, tooltips with the new weights.
    drawNetwork(
      root,
      { ...training, latest: { ...base.latest!, phase: 'idle' } },
      { ...SIZE, now: 2000 },
    );
    const after = keys();
    expect(after).not.toEqual(before);
    expect([...after].sort()).toEqual([...before].sort());
    const widths = Array.from(root.querySelectorAll('path.edge'), (p) =>
      Number(p.getAttribute('stroke-width')),
    );
    expect(widths.every((v, q) => q === 0 || widths[q - 1] <= v + 1e-9)).toBe(true);
    expect(tooltips()).not.toEqual(shown);
  });

  it('flashes the largest |ΔW| on a new update, at most every 500 ms, never under reduced motion', () => {
    const base = fixtureSimView({ n: 6, freeSteps: 20, controlSteps: 30 });
    const root = host();
    const next = (version: number, scale: number): SimView => {
      const w = base.weights!;
      const lastUpdate = Object.fromEntries(
        Object.entries(w.lastUpdate!).map(([k, m]) => [
          k,
          { ...m, data: m.data.map((v) => v * scale) },
        ]),
      );
      return { ...base, weights: { ...w, version, lastUpdate } };
    };
    drawNetwork(root, base, { ...SIZE, now: 0 });
    expect(root.dataset.flashes).toBeUndefined();
    drawNetwork(root, next(8, 2), { ...SIZE, now: 1000 });
    expect(root.dataset.flashes).toBe('1');
    const flashed = root.querySelectorAll('path.flash-edge');
    expect(flashed.length).toBeGreaterThanOrEqual(3);
    drawNetwork(root, next(9, 3), { ...SIZE, now: 1200 });
    expect(root.dataset.flashes).toBe('1');
    drawNetwork(root, next(10, 4), { ...SIZE, now: 1600 });
    expect(root.dataset.flashes).toBe('2');
    // Same update again (e.g. an edit bumped the version): no flash.
    drawNetwork(root, next(11, 4), { ...SIZE, now: 3000 });
    expect(root.dataset.flashes).toBe('2');

    const calm = host();
    drawNetwork(calm, base, { ...SIZE, now: 0, reducedMotion: true });
    drawNetwork(calm, next(8, 2), { ...SIZE, now: 1000, reducedMotion: true });
    expect(calm.dataset.flashes).toBeUndefined();
    expect(calm.querySelectorAll('path.flash-edge')).toHaveLength(0);
  });

  it('shows unit values on hover and keeps them live', () => {
    const view = fixtureSimView({ n: 6 });
    const root = host();
    drawNetwork(root, view, { ...SIZE, now: 0 });
    const node = root.querySelectorAll('g.node-h')[2];
    node.dispatchEvent(new Event('mouseenter'));
    const title = node.querySelector('title')!;
    expect(title.textContent).toContain(`φ = ${fmt(view.latest!.phi[2])}`);
    expect(title.textContent).toContain(`ψ = ${fmt(view.latest!.psi[2])}`);
    const phi = view.latest!.phi.slice();
    phi[2] = 0.125;
    drawNetwork(root, { ...view, latest: { ...view.latest!, phi } }, { ...SIZE, now: 0 });
    expect(title.textContent).toContain('φ = 0.125');
    const out = unitText(view.latest, { kind: 'y', index: 1, block: 0, x: 0, y: 0, r: 1 });
    expect(out).toContain(`target = ${fmt(view.latest!.target[1])}`);
    expect(out).toContain('u₁ =');
  });

  it('waits politely without data', () => {
    const root = host();
    drawNetwork(root, { ...fixtureSimView(), latest: null, weights: null }, SIZE);
    expect(root.querySelector('text.empty')!.textContent).toMatch(/Waiting/);
  });
});

describe('traces view', () => {
  it('stacks φ, ψ, y against a dashed target, and u, with markers', () => {
    const view = fixtureSimView({ n: 6, freeSteps: 20, controlSteps: 30 });
    const s = svg();
    drawTraces(s, view, { ...SIZE, units: 4 });
    expect(s.querySelectorAll('g.panel')).toHaveLength(4);
    // 4 φ + 4 ψ + (y and target) × 2 outputs + 2 u.
    expect(s.querySelectorAll('path.trace')).toHaveLength(4 + 4 + 4 + 2);
    const dashed = s.querySelectorAll('g.panel-y path.trace[stroke-dasharray]');
    expect(dashed).toHaveLength(2);
    expect(
      Array.from(dashed).every((p) => p.getAttribute('data-series')!.startsWith('target')),
    ).toBe(true);
    expect(s.querySelectorAll('g.marker')).toHaveLength(3);
    expect(s.querySelector('g.marker-control-on')).not.toBeNull();
    expect(s.querySelector('g.marker-update text')!.textContent).toBe('ΔW');
    expect(s.querySelector('text.axis-label')!.textContent).toBe('t (τ)');
    expect(normalise(s.outerHTML)).toMatchSnapshot();
  });

  it('merges nearby markers into one labelled group ("ΔW ×4") and keeps distant ones apart', () => {
    const x = (t: number) => 40 + t * 10;
    const dense = [0, 0.2, 0.4, 0.6].map((t) => ({ t, kind: 'update' as const }));
    const groups = markerGroups(
      [...dense, { t: 30, kind: 'update' }, { t: 0.1, kind: 'control-on' }],
      x,
      10,
      40,
      400,
    );
    const updates = groups.filter((g) => g.kind === 'update');
    expect(updates.map((g) => g.label)).toEqual(['ΔW ×4', 'ΔW']);
    expect(updates[0].times).toHaveLength(4);
    // Control switches keep their own row: not merged into the updates.
    expect(groups.find((g) => g.kind === 'control-on')?.label).toBe('ψ on');
    // On, off, on close together: one group, both ways.
    const mixed = markerGroups(
      [
        { t: 1, kind: 'control-on' },
        { t: 1.1, kind: 'control-off' },
        { t: 1.2, kind: 'control-on' },
      ],
      x,
      10,
      40,
      400,
    );
    expect(mixed.map((g) => g.label)).toEqual(['ψ on/off ×3']);
    // Near the right edge labels point left.
    expect(markerGroups([{ t: 35.5, kind: 'update' }], x, 10, 40, 400)[0].anchor).toBe('end');
  });

  it('draws the selected number of units (at most those kept)', () => {
    const view = fixtureSimView({ n: 6, freeSteps: 5, controlSteps: 5 });
    const s = svg();
    drawTraces(s, view, { ...SIZE, units: 16 });
    expect(s.querySelectorAll('g.panel-phi path.trace')).toHaveLength(6);
    drawTraces(s, view, { ...SIZE, units: 1 });
    expect(s.querySelectorAll('g.panel-psi path.trace')).toHaveLength(1);
    drawTraces(s, { ...view, traces: [] }, SIZE);
    expect(s.querySelectorAll('path.trace')).toHaveLength(0);
    expect(s.querySelector('text.empty')!.textContent).toMatch(/No activity/);
  });
});

describe('learning view', () => {
  it('plots loss, control on a log scale, accuracy and cosine, with test markers', () => {
    const view = fixtureSimView({ n: 6, learningPoints: 30 });
    const s = svg();
    drawLearning(s, view, SIZE);
    expect(learningPanels(view.learning)).toEqual(['loss', 'control', 'accuracy', 'cosine']);
    expect(s.querySelectorAll('g.panel')).toHaveLength(4);
    expect(s.querySelector('g.panel-control')!.getAttribute('data-scale')).toBe('log');
    expect(s.querySelectorAll('g.panel-loss circle.test-point')).toHaveLength(3);
    expect(s.querySelectorAll('g.panel-accuracy circle.test-point')).toHaveLength(3);
    // NaN cosines (every 5th point) are skipped.
    expect(s.querySelectorAll('g.panel-cosine circle.dot')).toHaveLength(24);
    expect(s.querySelector('g.panel-cosine path.curve')!.getAttribute('d')).not.toMatch(/NaN/);
    expect(normalise(s.outerHTML)).toMatchSnapshot();
  });

  it('greys out the cosine of an update at float noise, labelled as not meaningful', () => {
    const view = fixtureSimView({ n: 6, learningPoints: 12 });
    const w = view.weights;
    if (!w?.lastUpdate) throw new Error('no update');
    const tiny = Object.fromEntries(
      Object.entries(w.lastUpdate).map(([k, m]) => [
        k,
        { ...m, data: m.data.map((v) => v * 1e-9) },
      ]),
    );
    // The engine flags the last three updates as float noise (cosineReliable: false).
    const learning = view.learning.map((p, q, all) => ({
      ...p,
      cosine: q >= all.length - 3 ? -0.99 : p.cosine,
      cosineReliable: q < all.length - 3,
    }));
    const s = svg();
    drawLearning(s, { ...view, learning }, SIZE);
    const panel = s.querySelector('g.panel-cosine');
    expect(panel?.getAttribute('data-noise')).toBe('3');
    expect(panel?.querySelector('circle.noise-point title')?.textContent).toContain(
      'not meaningful',
    );
    expect(panel?.querySelector('text.panel-label')?.textContent).toContain('not meaningful');
    expect(panel?.querySelector('text.panel-label title')?.textContent).toMatch(/float32 noise/);
    // Each quantity is named once, with its definition as tooltip.
    expect(s.querySelector('g.panel-loss text.panel-label')?.textContent).toMatch(/^L\(y⁰\)/);
    expect(s.querySelector('g.panel-loss title')?.textContent).toContain('free equilibrium');
    // Without the engine's flag, the newest point is judged from the weights snapshot's update.
    const unflagged = view.learning.map((p) => ({
      ...p,
      cosine: -0.99,
      cosineReliable: undefined,
    }));
    const s2 = svg();
    drawLearning(
      s2,
      {
        ...view,
        learning: unflagged as unknown as typeof view.learning,
        weights: { ...w, lastUpdate: tiny },
      },
      SIZE,
    );
    expect(s2.querySelector('g.panel-cosine')?.getAttribute('data-noise')).toBe('1');
  });

  it('drops accuracy for regression and uses a linear scale for zero control', () => {
    const view = fixtureSimView({ task: 'pattern', m: 3, k: 2, learningPoints: 12 });
    const learning = view.learning.map((p) => ({ ...p, control: 0 }));
    const s = svg();
    drawLearning(s, { ...view, learning }, SIZE);
    expect(Array.from(s.querySelectorAll('g.panel')).map((g) => g.getAttribute('class'))).toEqual([
      'panel panel-loss',
      'panel panel-control',
      'panel panel-cosine',
    ]);
    expect(s.querySelector('g.panel-control')!.getAttribute('data-scale')).toBe('linear');
    drawLearning(s, { ...view, learning: [] }, SIZE);
    expect(s.querySelector('text.empty')!.textContent).toMatch(/No updates/);
  });
});

describe('axes and stage', () => {
  it('thins ticks until their labels fit, log axes included', () => {
    const y = scaleLinear().domain([-1, 1]).range([60, 0]);
    const { values } = fittingTicks(y, 'left', 16);
    const px = values.map((v) => y(v)).sort((a, b) => a - b);
    for (let q = 1; q < px.length; q++) expect(px[q] - px[q - 1]).toBeGreaterThanOrEqual(16 * 1.3);
    // Eight decades in 80 px: powers of ten, every other one or sparser.
    const log = scaleLog().domain([1e-9, 1]).range([80, 0]);
    const ticks = fittingTicks(log, 'left', 11);
    expect(ticks.values.length).toBeGreaterThan(1);
    expect(ticks.values.length).toBeLessThanOrEqual(5);
    for (const v of ticks.values) expect(Math.log10(v) % 1).toBeCloseTo(0, 9);
    // Wide labels on a short bottom axis: fewer of them.
    const x = scaleLinear().domain([0, 1e5]).range([0, 120]);
    const bottom = fittingTicks(x, 'bottom', 11);
    expect(bottom.values.length).toBeLessThanOrEqual(3);
  });

  it('fills the stage: no empty cell at 1280×720 or 1920×1080, with or without hidden views', () => {
    for (const [w, h] of [
      [1010, 660],
      [1650, 1020],
      [880, 600],
    ]) {
      for (const ids of [
        [...VIEW_IDS],
        VIEW_IDS.filter((id) => id !== 'task'),
        ['phase' as const],
      ]) {
        const { cols, rows, spans } = stageLayout(ids, w, h);
        expect(spans.reduce((a, b) => a + b, 0)).toBe(cols * rows);
        expect(spans.every((s) => s >= 1 && s <= cols)).toBe(true);
      }
    }
    // Nine views (all but the sweeps panel, compare mode — shown alone, enlarged — and the digits
    // and meta-learning chapters' own) make a 3×3 grid; all fourteen, 4×4 (two spanning two).
    const own = ['digits', 'sweeps', 'compare', 'meta', 'metaCurves'];
    const nine = VIEW_IDS.filter((id) => !own.includes(id));
    expect(stageLayout(nine, 1010, 660)).toMatchObject({ cols: 3, rows: 3 });
    expect(stageLayout([...VIEW_IDS], 1010, 660)).toMatchObject({ cols: 4, rows: 4 });
    // A phone (a 374 px stage): one column, a row per view, never two cells squeezed side by side.
    expect(stageLayout(nine, 374, 260)).toMatchObject({ cols: 1, rows: 9 });
    expect(stageLayout(nine, 500, 260).cols).toBeGreaterThan(1);
  });
});

describe('equations view', () => {
  const config = defaultConfig();

  it('typesets the equations once and updates live values in place', () => {
    const view = fixtureSimView({ n: 6 });
    const root = host();
    drawEquations(root, view, { ...SIZE, config });
    expect(root.querySelectorAll('.katex').length).toBeGreaterThan(LIVE.length);
    const tex = Array.from(root.querySelectorAll('annotation')).map((a) => a.textContent);
    expect(tex.some((t) => t!.includes('W^\\top'))).toBe(true);
    expect(tex.join('\n')).toMatchSnapshot();
    const value = (key: string) =>
      root.querySelector(`.eq-live[data-symbol="${key}"] .eq-value`)!.textContent;
    expect(value('alpha')).toBe(fmt(config.alpha));
    const psi = view.latest!.psi;
    expect(value('psi')).toBe(fmt(0.5 * psi.reduce((a, v) => a + v * v, 0)));
    expect(value('loss')).toBe(fmt(view.latest!.metrics.loss));
    // Every live symbol carries its definition.
    expect(root.querySelector<HTMLElement>('.eq-live[data-symbol="loss"]')!.title).toContain(
      'free equilibrium',
    );
    expect(root.querySelector<HTMLElement>('.eq-live[data-symbol="uStar"]')!.title).toContain(
      '½‖u*‖²',
    );

    const blocks = root.querySelector('.eq-blocks');
    const later = { ...view.latest!, psi: psi.map(() => 0.5), t: 99 };
    drawEquations(root, { ...view, latest: later }, { ...SIZE, config });
    expect(root.querySelector('.eq-blocks')).toBe(blocks);
    expect(value('psi')).toBe(fmt(0.5 * 0.25 * psi.length));
    expect(value('t')).toBe('99');

    // Memory per update, by hand for the fixture's n = 6, k = 2, T = 60 free steps, batch 8:
    // LCP (2·6 + 3·2)·8·4 = 576 B, RBP (2·6 + 2)·8·4 = 448 B, EP (2·6 + 2·2)·8·4 = 512 B,
    // BPTT 60·(6 + 2)·8·4 = 15360 B.
    drawEquations(root, { ...view, latest: later }, { ...SIZE, config, batch: 8 });
    expect(root.querySelector('.eq-memory')!.textContent).toBe(
      'Memory per update (batch 8): LCP 576 B · RBP 448 B · EP 512 B · backprop through time (T = 60 steps) 15 KB',
    );

    // Control off: the controller's equations fade; their titles stay legible.
    drawEquations(root, { ...view, latest: { ...later, control: false } }, { ...SIZE, config });
    const marked = Array.from(root.querySelectorAll<HTMLElement>('[data-control="1"]'));
    const faded = marked.filter((el) => !el.classList.contains('eq-title'));
    expect(faded.length).toBeGreaterThan(0);
    expect(faded.every((el) => el.style.opacity === '0.62')).toBe(true);
    expect(
      marked
        .filter((el) => el.classList.contains('eq-title'))
        .some((el) => el.style.opacity === '0.62'),
    ).toBe(false);
  });

  it('with the outputs inside the network (readout units): y ≡ φ_y, no D or d, u enters as Pᵀu', () => {
    const view = fixtureSimView({ n: 6 });
    const root = host();
    drawEquations(root, view, { ...SIZE, config: { ...config, readout: 'units' } });
    const tex = Array.from(root.querySelectorAll('.eq-blocks annotation'))
      .map((a) => a.textContent)
      .join('\n');
    expect(tex).toContain('\\equiv \\phi_y');
    expect(tex).toContain('P^\\top');
    expect(tex).not.toContain('D^\\top');
    expect(tex).not.toContain('\\Delta D');
    expect(root.querySelectorAll('.katex-error')).toHaveLength(0);
  });

  it('re-typesets for another controller', () => {
    const view = fixtureSimView({ n: 6 });
    const root = host();
    drawEquations(root, view, { ...SIZE, config });
    const before = root.querySelector('.eq-blocks');
    for (const controller of ['linear-feedback', 'dynamic-inversion-kp', 'energy'] as const) {
      drawEquations(root, view, { ...SIZE, config: { ...config, controller } });
      const tex = Array.from(root.querySelectorAll('.eq-hidden annotation'))
        .map((a) => a.textContent)
        .join('');
      expect(tex).toContain(
        { 'linear-feedback': 'Q\\,', 'dynamic-inversion-kp': 'B', energy: 'E_\\alpha' }[controller],
      );
    }
    expect(root.querySelector('.eq-blocks')).not.toBe(before);
    expect(root.querySelectorAll('.katex-error')).toHaveLength(0);
    drawEquations(root, view, { ...SIZE, config: { ...config, method: 'rbp' } });
    expect(root.querySelector('.eq-title-update')!.textContent).toBe('RBP gradient');
    expect(root.querySelectorAll('.katex-error')).toHaveLength(0);
    drawEquations(root, view, { ...SIZE, config: { ...config, method: 'ep', beta: 0.05 } });
    expect(root.querySelector('.eq-title-update')!.textContent).toBe('EP update (two phases)');
    expect(root.querySelector('.eq-update')!.textContent).toContain('0.05');
    expect(root.querySelectorAll('.katex-error')).toHaveLength(0);
  });
});

describe('React views', () => {
  beforeEach(() => {
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
    vi.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockReturnValue({
      x: 0,
      y: 0,
      top: 0,
      left: 0,
      right: SIZE.width,
      bottom: SIZE.height,
      width: SIZE.width,
      height: SIZE.height,
      toJSON: () => ({}),
    });
  });

  it('redraw from the snapshot bus without re-rendering React', async () => {
    stubCanvas();
    const container = host();
    const root = createRoot(container);
    let commits = 0;
    const views = [NetworkView, TracesView, LearningView, EquationsView];
    await act(async () => {
      root.render(
        createElement(
          Profiler,
          { id: 'views', onRender: () => void commits++ },
          ...views.map((V, i) => createElement(V, { key: i })),
        ),
      );
    });
    // Draws are spread over frames (a per-frame budget) and some views throttle: wait enough.
    const frame = () => new Promise((resolve) => setTimeout(resolve, 400));
    await act(frame);
    const mounted = commits;
    for (const id of ['network', 'traces', 'learning', 'equations'])
      expect(container.querySelector(`section[data-testid="view-${id}"]`)).not.toBeNull();

    for (let i = 0; i < 3; i++) {
      await act(async () => {
        simView.setState(fixtureSimView({ n: 5 + i, freeSteps: 10, controlSteps: 10 }));
        await frame();
      });
    }
    expect(commits).toBe(mounted);
    expect(container.querySelectorAll('[data-testid="view-network"] circle.unit')).toHaveLength(
      2 + 7 + 2,
    );
    expect(
      container.querySelectorAll('[data-testid="view-traces"] path.trace').length,
    ).toBeGreaterThan(0);
    expect(container.querySelectorAll('[data-testid="view-learning"] g.panel')).toHaveLength(4);
    expect(
      container.querySelectorAll('[data-testid="view-equations"] .katex').length,
    ).toBeGreaterThan(0);
    await act(async () => root.unmount());
  });
});
