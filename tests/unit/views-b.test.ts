// @vitest-environment jsdom
/**
 * The phase portrait, weights and task views: their pure draw functions against a fixture
 * snapshot bus and closed-form flow fields / decision maps, the edit commands sent by the weights
 * heatmap and the target handle, and the throttling of worker requests.
 */
import { format } from 'd3';
import { createElement } from 'react';
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { setEngine, type EngineClient } from '../../src/state/engine';
import { clearSimView, simView, type SimView } from '../../src/state/simView';
import { PhaseView } from '../../src/ui/views/PhaseView';
import { drawPhase, phaseLabels, phaseLayout, type PhaseModel } from '../../src/ui/views/phaseDraw';
import {
  contourLines,
  flowKey,
  flowSize,
  phaseRange,
  targetLevel,
  targetRange,
} from '../../src/ui/views/phaseModel';
import { keyedRequests, throttledSender } from '../../src/ui/views/requests';
import {
  drawTask,
  fitStats,
  liveTestTargets,
  MAP_SIZE,
  taskMode,
  TaskView,
} from '../../src/ui/views/TaskView';
import { WeightsView } from '../../src/ui/views/WeightsView';
import { drawWeights } from '../../src/ui/views/weightsDraw';
import { clampZoom } from '../../src/ui/views/weightsZoom';
import { alignmentText, colourLimit, weightPanels } from '../../src/ui/views/weightsModel';
import type {
  Command,
  DecisionMap,
  FlowField,
  FlowFieldRequest,
  TaskData,
} from '../../src/worker/protocol';
import { fixtureSimView } from '../support/fixtures';
import { newSvg, normalise } from '../support/svg';

/** Points (x, y) of an SVG path made of M/L(/Z) commands (d3.line, contour polylines, geoPath). */
function pathPoints(d: string): [number, number][][] {
  return d
    .replace(/Z/g, '')
    .split('M')
    .filter(Boolean)
    .map((sub) =>
      sub.split('L').map((pair) => {
        const [x, y] = pair.split(',').map(Number);
        return [x, y] as [number, number];
      }),
    );
}

/** Distance from p to the nearest segment of the polylines. */
function distanceTo(lines: [number, number][][], p: [number, number]): number {
  let best = Infinity;
  for (const pts of lines)
    for (let q = 0; q + 1 < pts.length; q++) {
      const [ax, ay] = pts[q];
      const [bx, by] = pts[q + 1];
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      const t =
        len2 > 0 ? Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / len2)) : 0;
      best = Math.min(best, Math.hypot(ax + t * dx - p[0], ay + t * dy - p[1]));
    }
  return best;
}

// A linear 2-unit system: φ̇_i = −φ_i + 0.5 φ_j + 0.2, φ̇_j = 0.3 φ_i − φ_j − 0.1, and a target set
// φ_i + φ_j = 0.5 (output error |φ_i + φ_j − 0.5|).
const di = (a: number, b: number) => -a + 0.5 * b + 0.2;
const dj = (a: number, b: number) => 0.3 * a - b - 0.1;
const err = (a: number, b: number) => Math.abs(a + b - 0.5);

function linearField(req: FlowFieldRequest): FlowField {
  const n = req.size;
  const [lo, hi] = req.range;
  const g = (q: number) => lo + (q / (n - 1)) * (hi - lo);
  const out = {
    ...req,
    di: new Float32Array(n * n),
    dj: new Float32Array(n * n),
    outputError: new Float32Array(n * n),
  };
  for (let r = 0; r < n; r++)
    for (let c = 0; c < n; c++) {
      const [a, b] = [g(c), g(r)];
      out.di[r * n + c] = di(a, b);
      out.dj[r * n + c] = dj(a, b);
      out.outputError[r * n + c] = err(a, b);
    }
  return out;
}

/** p(class 1) = σ(8 (‖x‖ − 0.6)) over [−1.2, 1.2]² (the circle task's boundary at r = 0.6). */
function circleMap(size: number, task: TaskData | null): DecisionMap {
  const values = new Float32Array(size * size);
  const g = (q: number) => -1.2 + (q / (size - 1)) * 2.4;
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++)
      values[r * size + c] = 1 / (1 + Math.exp(-8 * (Math.hypot(g(c), g(r)) - 0.6)));
  const count = task ? task.testX.length / 2 : 0;
  const testPredictions = new Float32Array(count);
  for (let q = 0; q < count && task; q++)
    testPredictions[q] = Math.hypot(task.testX[2 * q], task.testX[2 * q + 1]) > 0.6 ? 1 : 0;
  return { size, extent: [-1.2, 1.2], values, testPredictions };
}

interface Fake {
  client: EngineClient;
  sent: Command[];
  flowRequests: FlowFieldRequest[];
  mapRequests: number[];
}

function fakeEngine(): Fake {
  const fake: Fake = {
    sent: [],
    flowRequests: [],
    mapRequests: [],
    client: {
      send: (cmd) => void fake.sent.push(cmd),
      flowField: (req) => {
        fake.flowRequests.push(req);
        return Promise.resolve(linearField(req));
      },
      decisionMap: (size) => {
        fake.mapRequests.push(size);
        return Promise.resolve(circleMap(size, simView.getState().task));
      },
      digitResponse: () => Promise.reject(new Error('no digits here')),
      dispose: () => undefined,
    },
  };
  return fake;
}

let fake: Fake;
beforeEach(() => {
  fake = fakeEngine();
  setEngine(fake.client);
  // jsdom has no canvas: say so quietly instead of logging "not implemented".
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});
afterEach(() => {
  setEngine(null);
  vi.restoreAllMocks();
  vi.useRealTimers();
  document.body.innerHTML = '';
});

function phaseModel(sim: SimView, field: FlowField | null, range: [number, number]): PhaseModel {
  return {
    sim,
    field,
    i: 0,
    j: 1,
    range,
    output: 0,
    targetRange: targetRange(sim, 0, null),
    dragValue: null,
    editableTarget: true,
  };
}

describe('phase portrait', () => {
  it('contourLines finds the zero line of a linear grid without the border', () => {
    const n = 5;
    const v = Array.from({ length: n * n }, (_, q) => (q % n) - 2);
    const lines = contourLines(v, n, 0);
    expect(lines.length).toBe(1);
    for (const [x] of lines[0]) expect(x).toBeCloseTo(2, 6);
    const ys = lines[0].map((p) => p[1]);
    expect(Math.min(...ys)).toBeCloseTo(0, 6);
    expect(Math.max(...ys)).toBeCloseTo(n - 1, 6);
  });

  it('draws nullclines, target set, equilibria, trajectory and ψ of a linear 2-unit system', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 2, m: 2, k: 1 });
    const range = phaseRange(sim, 0, 1, null);
    expect(range[0]).toBeLessThanOrEqual(-1);
    expect(range[1]).toBeGreaterThanOrEqual(1);
    const field = linearField({ i: 0, j: 1, range, size: 31 });
    const svg = newSvg();
    const layout = drawPhase(svg, phaseModel(sim, field, range), 420, 300);
    expect(layout).not.toBeNull();
    if (!layout) return;
    const toPhi = (lines: [number, number][][]) =>
      lines.map((pts) =>
        pts.map(([x, y]) => [layout.x.invert(x), layout.y.invert(y)] as [number, number]),
      );
    const ncI = toPhi(pathPoints(svg.querySelector('path.nullcline-i')?.getAttribute('d') ?? ''));
    const ncJ = toPhi(pathPoints(svg.querySelector('path.nullcline-j')?.getAttribute('d') ?? ''));
    expect(ncI.flat().length).toBeGreaterThan(10);
    expect(ncJ.flat().length).toBeGreaterThan(10);
    const tol = 0.02 * (range[1] - range[0]);
    // Every vertex lies on its nullcline …
    for (const [a, b] of ncI.flat()) expect(Math.abs(di(a, b))).toBeLessThan(tol);
    for (const [a, b] of ncJ.flat()) expect(Math.abs(dj(a, b))).toBeLessThan(tol);
    // … and the nullclines pass near known points of the lines φ_i = 0.5 φ_j + 0.2, φ_j = 0.3 φ_i − 0.1.
    for (const p of [
      [0.2, 0],
      [0.7, 1],
      [-0.3, -1],
    ] as [number, number][])
      expect(distanceTo(ncI, p)).toBeLessThan(tol);
    for (const p of [
      [0, -0.1],
      [1, 0.2],
      [-1, -0.4],
    ] as [number, number][])
      expect(distanceTo(ncJ, p)).toBeLessThan(tol);
    // The target set (a band around φ_i + φ_j = 0.5) is drawn, and hugs that line inside the plot.
    const band = toPhi(pathPoints(svg.querySelector('path.target-set')?.getAttribute('d') ?? ''))
      .flat()
      .filter(([a, b]) => a > range[0] && a < range[1] && b > range[0] && b < range[1]);
    expect(band.length).toBeGreaterThan(4);
    for (const [a, b] of band) expect(err(a, b)).toBeLessThan(0.1);
    // Free equilibrium, current state and the ψ arrow (control is on in the fixture).
    const free = svg.querySelector('circle.free-equilibrium');
    const s = sim.latest;
    if (!s || !s.freePhi) throw new Error('fixture without a free equilibrium');
    expect(Number(free?.getAttribute('cx'))).toBeCloseTo(layout.x(s.freePhi[0]), 0);
    expect(Number(svg.querySelector('circle.state')?.getAttribute('cy'))).toBeCloseTo(
      layout.y(s.phi[1]),
      0,
    );
    expect(svg.querySelector('path.psi-arrow')?.getAttribute('d')).toMatch(/^M/);
    // Trajectory: a free run then a controlled run (the fixture switches control on midway).
    const runs = svg.querySelectorAll('path.trajectory');
    expect(runs.length).toBe(2);
    expect(normalise(svg)).toMatchSnapshot();
  });

  it('redraws in place: same DOM after a second draw, the clip follows a resize', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 2, m: 2, k: 1 });
    const range = phaseRange(sim, 0, 1, null);
    const field = linearField({ i: 0, j: 1, range, size: 21 });
    const svg = newSvg();
    drawPhase(svg, phaseModel(sim, field, range), 420, 300);
    const once = normalise(svg);
    drawPhase(svg, phaseModel(sim, field, range), 420, 300);
    expect(normalise(svg)).toBe(once);
    const layout = drawPhase(svg, phaseModel(sim, field, range), 800, 600);
    expect(svg.querySelectorAll('clipPath').length).toBe(1);
    expect(Number(svg.querySelector('clipPath rect')?.getAttribute('width'))).toBe(layout?.side);
  });

  it('targetLevel widens the band just enough for a kink straddled by the grid', () => {
    // |φ_i − 0.55| on 0, 0.1, …, 1: the zero lies midway between two samples (values 0.05).
    const n = 11;
    const e = Array.from({ length: n * n }, (_, q) => Math.abs((q % n) / 10 - 0.55));
    const emax = Math.max(...e);
    const level = targetLevel(e, n, emax);
    expect(level).toBeGreaterThan(0.05);
    expect(level).toBeLessThan(0.06);
    expect(
      contourLines(
        e.map((v) => -v),
        n,
        -level,
      ).length,
    ).toBe(2);
    // A smooth, clearly positive minimum (the target set misses the slice) keeps 2% of the max.
    const bowl = Array.from(
      { length: n * n },
      (_, q) => 1 + ((q % n) - 5) ** 2 + (Math.floor(q / n) - 5) ** 2,
    );
    expect(targetLevel(bowl, n, Math.max(...bowl))).toBeCloseTo(0.02 * Math.max(...bowl), 9);
  });

  it('marks the closest point when the target set misses the slice, and shows a message without data', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 2, m: 2, k: 1 });
    const range: [number, number] = [-1, 1];
    const field = linearField({ i: 0, j: 1, range, size: 11 });
    field.outputError = field.outputError.map((e) => e + 5);
    const svg = newSvg();
    drawPhase(svg, phaseModel(sim, field, range), 420, 300);
    expect(svg.querySelector('path.target-set')?.getAttribute('d')).toBe('');
    expect(svg.querySelector('path.target-closest')?.getAttribute('d')).toMatch(/^M/);
    const empty = newSvg();
    expect(
      drawPhase(empty, phaseModel({ ...sim, latest: null }, null, range), 300, 200),
    ).toBeNull();
    expect(empty.querySelector('text.message')?.textContent).toMatch(/Waiting/);
  });

  it('the target handle sends throttled target edits from the keyboard', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 2, m: 2, k: 1 });
    const svg = newSvg();
    const values: [number, boolean][] = [];
    const model = phaseModel(sim, null, [-2, 2]);
    drawPhase(svg, model, 420, 300, { onTarget: (v, final) => values.push([v, final]) });
    const handle = svg.querySelector<SVGGElement>('g.target-handle');
    expect(handle?.getAttribute('role')).toBe('slider');
    expect(handle?.getAttribute('tabindex')).toBe('0');
    handle?.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true }));
    const t0 = sim.latest?.target[0] ?? 0;
    const span = model.targetRange[1] - model.targetRange[0];
    expect(values).toHaveLength(1);
    expect(values[0][0]).toBeCloseTo(t0 + 0.02 * span, 3);
    expect(values[0][1]).toBe(true);

    vi.useFakeTimers();
    const sent: number[] = [];
    const sender = throttledSender(60, (v) => sent.push(v));
    sender.push(0.1, false);
    sender.push(0.2, false);
    sender.push(0.3, false);
    expect(sent).toEqual([0.1]);
    vi.advanceTimersByTime(60);
    expect(sent).toEqual([0.1, 0.3]);
    sender.push(0.4, false);
    sender.push(0.5, true);
    expect(sent).toEqual([0.1, 0.3, 0.5]);
    sender.dispose();
  });

  it('the flow-field key ignores the state for two units but follows the slice for more', () => {
    const two = fixtureSimView({ task: 'pattern', n: 2, m: 2, k: 1 });
    const moved: SimView = two.latest
      ? { ...two, latest: { ...two.latest, phi: two.latest.phi.map((v) => v + 0.3) } }
      : two;
    expect(flowKey(moved, 0, 1, [-2, 2])).toBe(flowKey(two, 0, 1, [-2, 2]));
    const retarget: SimView = two.latest
      ? { ...two, latest: { ...two.latest, target: two.latest.target.map((v) => v + 0.3) } }
      : two;
    expect(flowKey(retarget, 0, 1, [-2, 2])).not.toBe(flowKey(two, 0, 1, [-2, 2]));
    const four = fixtureSimView({ task: 'pattern', n: 4, m: 2, k: 1 });
    const held: SimView = four.latest
      ? {
          ...four,
          latest: { ...four.latest, phi: four.latest.phi.map((v, u) => (u === 3 ? v + 0.5 : v)) },
        }
      : four;
    expect(flowKey(held, 0, 1, [-2, 2])).not.toBe(flowKey(four, 0, 1, [-2, 2]));
  });

  it('keyed requests: one in flight, at least `interval` apart, latest key wins, no repeats', async () => {
    vi.useFakeTimers();
    const started: string[] = [];
    const results: string[] = [];
    const resolvers: (() => void)[] = [];
    const req = keyedRequests<string>(250, (v) => results.push(v));
    const make = (key: string) => () =>
      new Promise<string>((resolve) => {
        started.push(key);
        resolvers.push(() => resolve(key));
      });
    req.want('a', make('a'));
    req.want('b', make('b'));
    req.want('c', make('c'));
    expect(started).toEqual(['a']);
    resolvers[0]();
    await vi.advanceTimersByTimeAsync(0);
    expect(results).toEqual(['a']);
    expect(started).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(250);
    expect(started).toEqual(['a', 'c']);
    resolvers[1]();
    await vi.advanceTimersByTimeAsync(1000);
    req.want('c', make('c'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(started).toEqual(['a', 'c']);
    expect(results).toEqual(['a', 'c']);
    req.dispose();
  });

  it('labels the target set and the control by readout, and shows u beside ψ for a separate one', () => {
    const separate = phaseLabels('separate', 2, 1);
    expect(separate.target.join(' ')).toBe('readout alone reaches t');
    expect(separate.targetTitle).toContain('Dρ(φ) + d = t');
    const units = phaseLabels('units', 2, 1);
    expect(units.target.join(' ')).toBe('target set φ₁ = t');
    expect(units.control).toEqual(['ψ*: φ⁰ → φ*']);

    const sim = fixtureSimView({ task: 'pattern', n: 2, m: 2, k: 1 });
    const range = phaseRange(sim, 0, 1, null);
    const field = linearField({ i: 0, j: 1, range, size: 21 });
    const svg = newSvg();
    drawPhase(svg, phaseModel(sim, field, range), 560, 360);
    const entry = (key: string) => svg.querySelector(`g.legend g.entry[data-key="${key}"]`);
    expect(entry('target')?.querySelector('text')?.textContent).toBe('readout alonereaches t');
    expect(entry('target')?.querySelector('title')?.textContent).toContain('Dρ(φ) + d = t');
    const u = sim.latest?.u[0] ?? NaN;
    expect(entry('u')?.textContent).toContain(`u = `);
    expect(Number.isFinite(u)).toBe(true);
    // Output units inside the network: the arrow runs from φ⁰ to the controlled state.
    const layout = drawPhase(svg, { ...phaseModel(sim, field, range), readout: 'units' }, 560, 360);
    const s = sim.latest;
    if (!layout || !s?.freePhi) throw new Error('no layout');
    const d = svg.querySelector('path.psi-arrow')?.getAttribute('d') ?? '';
    const [x0, y0] = (d.match(/^M(-?[\d.]+),(-?[\d.]+)/) ?? []).slice(1).map(Number);
    expect(x0).toBeCloseTo(layout.x(s.freePhi[0]), 0);
    expect(y0).toBeCloseTo(layout.y(s.freePhi[1]), 0);
    expect(entry('u')).toBeNull();
    expect(entry('target')?.querySelector('text')?.textContent).toBe('target setφ₁ = t');
  });

  it('lays the legend beside or under the plot, compact or without the target axis when cramped', () => {
    const roomy = phaseLayout(560, 360, 10, true, false);
    expect(roomy).toMatchObject({ showTarget: true, compact: false });
    expect(roomy.side).toBeGreaterThan(200);
    // Lecture type in a small cell: the plot keeps most of the height.
    const cramped = phaseLayout(310, 160, 16, true, false);
    expect(cramped.side).toBeGreaterThan(60);
    expect(cramped.compact || !cramped.showTarget).toBe(true);
  });
});

describe('weights', () => {
  function host(): HTMLDivElement {
    const div = document.createElement('div');
    div.style.position = 'relative';
    document.body.appendChild(div);
    return div;
  }
  const send = (cmd: Command) => {
    // Through the app's engine handle, as the view does.
    fake.client.send(cmd);
  };

  it('shows W, ΔW, the applied step and the feedback weights with legends', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 6, m: 3, k: 2, feedback: true });
    const panels = weightPanels(sim, 'W');
    expect(panels.map((p) => p.key)).toEqual(['W', 'ΔW', 'step W', 'Q', 'B', 'F']);
    const w = sim.weights?.params.W;
    const maxAbs = Math.max(...Array.from(w?.data ?? [], Math.abs));
    expect(panels[0].limit).toBeCloseTo(maxAbs, 6);
    expect(panels.filter((p) => p.editable).map((p) => p.key)).toEqual(['W', 'Q', 'B', 'F']);
    const text = alignmentText(sim, 'W').map((a) => a.text);
    expect(text[0]).toBe('cos(Δθ, −∇L) = 0.930');
    expect(alignmentText(sim, 'W')[0].title).toMatch(/cosine between the update/);
    // The fixture's applied step is 0.05 × the update.
    expect(text).toContain('cos(step, ΔW) = 1.000');
    expect(text.some((t) => t.startsWith('∠(B, Wᵀ)'))).toBe(true);
    // The angles against a transpose, for a non-square F [6 × 2] and D [2 × 6]: F = Dᵀ is 0°,
    // F = −Dᵀ is 180°, and B = Wᵀ is 0°.
    const weights = sim.weights!;
    const D = weights.params.D!;
    const W = weights.params.W!;
    const transposed = (m: typeof D, sign: number) => ({
      rows: m.cols,
      cols: m.rows,
      data: Float32Array.from({ length: m.data.length }, (_, q) => {
        const [i, j] = [Math.floor(q / m.rows), q % m.rows];
        return sign * m.data[j * m.cols + i];
      }),
    });
    for (const [sign, angle] of [
      [1, '0.0°'],
      [-1, '180.0°'],
    ] as const) {
      const exact = {
        ...sim,
        weights: {
          ...weights,
          params: { ...weights.params, F: transposed(D, sign), B: transposed(W, 1) },
        },
      };
      const angles = alignmentText(exact, 'W').map((a) => a.text);
      expect(angles).toContain(`∠(F, Dᵀ) = ${angle}`);
      expect(angles).toContain('∠(B, Wᵀ) = 0.0°');
    }
    const div = host();
    drawWeights(div, { sim, matrix: 'W' }, 560, 360, send);
    const cells = div.querySelectorAll('g.panel[data-panel="W"] rect.cell');
    expect(cells.length).toBe(36);
    expect(div.querySelectorAll('g.panel[data-panel="Q"] rect.cell').length).toBe(12);
    const legend = div.querySelector('g.panel[data-panel="W"] g.legend');
    expect(legend?.textContent).toContain('0');
    const svg = div.querySelector('svg') as Element;
    expect(normalise(svg)).toMatchSnapshot();
    // New weights redraw in place.
    const once = div.innerHTML;
    const copy = sim.weights ? { ...sim.weights } : null;
    drawWeights(div, { sim: { ...sim, weights: copy }, matrix: 'W' }, 560, 360, send);
    expect(div.innerHTML).toBe(once);
  });

  it('the colour limit of a big matrix ignores a single outlier', () => {
    const data = new Float32Array(400).map((_, q) => Math.sin(q * 0.37));
    expect(colourLimit({ rows: 20, cols: 20, data })).toBeGreaterThan(0.99);
    data[7] = 50;
    const limit = colourLimit({ rows: 20, cols: 20, data });
    expect(limit).toBeGreaterThan(0.9);
    expect(limit).toBeLessThan(1.1);
    // Small matrices keep max |v|.
    expect(colourLimit({ rows: 2, cols: 2, data: Float32Array.from([0.1, -3, 0.2, 0]) })).toBe(3);
  });

  it('a click on a cell and a typed value send an edit of that weight', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 6, m: 3, k: 2, feedback: true });
    const div = host();
    drawWeights(div, { sim, matrix: 'W' }, 560, 360, send);
    const cells = div.querySelectorAll('g.panel[data-panel="W"] rect.cell');
    cells[2 * 6 + 3].dispatchEvent(new MouseEvent('click', { bubbles: true }));
    const input = div.querySelector<HTMLInputElement>('input.cell-editor');
    expect(input).not.toBeNull();
    if (!input) return;
    expect(input.style.display).toBe('block');
    expect(document.activeElement).toBe(input);
    expect(Number(input.value)).toBeCloseTo(sim.weights?.params.W?.data[2 * 6 + 3] ?? NaN, 4);
    input.value = '0.5';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(fake.sent).toEqual([
      { type: 'edit', target: 'param', name: 'W', row: 2, col: 3, value: 0.5 },
    ]);
    expect(input.style.display).toBe('none');
    // Escape cancels; read-only panels (ΔW) open no editor.
    cells[0].dispatchEvent(new MouseEvent('click', { bubbles: true }));
    input.value = '9';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    div
      .querySelector('g.panel[data-panel="ΔW"] rect.cell')
      ?.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(input.style.display).toBe('none');
    expect(fake.sent).toHaveLength(1);
  });

  it('keyboard: focus a matrix, move with arrows, Enter edits (feedback Q too)', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 6, m: 3, k: 2, feedback: true });
    const div = host();
    drawWeights(div, { sim, matrix: 'W' }, 560, 360, send);
    const q = div.querySelector<SVGGElement>('g.panel[data-panel="Q"]');
    expect(q?.getAttribute('tabindex')).toBe('0');
    q?.focus();
    expect(document.activeElement).toBe(q);
    expect(q?.querySelector('rect.focus-ring')?.getAttribute('display')).toBeNull();
    for (const key of ['ArrowDown', 'ArrowDown', 'ArrowRight', 'Enter'])
      q?.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
    const input = div.querySelector<HTMLInputElement>('input.cell-editor');
    if (!input) throw new Error('no editor');
    input.value = '-1.25';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(fake.sent).toEqual([
      { type: 'edit', target: 'param', name: 'Q', row: 2, col: 1, value: -1.25 },
    ]);
    // Focus returns to the matrix for the next edit.
    expect(document.activeElement).toBe(q);
  });

  it('input and target fields send edits; the vector b edits as a column', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 6, m: 3, k: 2 });
    const div = host();
    drawWeights(div, { sim, matrix: 'b' }, 560, 360, send);
    const x1 = div.querySelector<HTMLInputElement>('input[aria-label="input x[1]"]');
    const t0 = div.querySelector<HTMLInputElement>('input[aria-label="target t[0]"]');
    expect(Number(x1?.value)).toBeCloseTo(sim.latest?.x[1] ?? NaN, 3);
    if (!x1 || !t0) throw new Error('missing vector inputs');
    x1.value = '0.75';
    x1.dispatchEvent(new Event('change', { bubbles: true }));
    t0.value = '-0.5';
    t0.dispatchEvent(new Event('change', { bubbles: true }));
    const cells = div.querySelectorAll('g.panel[data-panel="b"] rect.cell');
    expect(cells.length).toBe(6);
    cells[4].dispatchEvent(new MouseEvent('click', { bubbles: true }));
    const input = div.querySelector<HTMLInputElement>('input.cell-editor');
    if (!input) throw new Error('no editor');
    input.value = '2';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(fake.sent).toEqual([
      { type: 'edit', target: 'input', index: 1, value: 0.75 },
      { type: 'edit', target: 'target', index: 0, value: -0.5 },
      { type: 'edit', target: 'param', name: 'b', row: 4, col: 0, value: 2 },
    ]);
  });

  it('a long input vector is edited through an index and a value', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 4, m: 12, k: 1 });
    const div = host();
    drawWeights(div, { sim, matrix: 'W' }, 560, 360, send);
    const index = div.querySelector<HTMLInputElement>('input.index');
    if (!index) throw new Error('no index input');
    expect(div.querySelectorAll('span.vector input.value').length).toBe(2);
    index.value = '5';
    index.dispatchEvent(new Event('change', { bubbles: true }));
    const value = div.querySelector<HTMLInputElement>('input[aria-label="input x[5]"]');
    expect(Number(value?.value)).toBeCloseTo(sim.latest?.x[5] ?? NaN, 3);
    if (!value) throw new Error('no value input');
    value.value = '0.3';
    value.dispatchEvent(new Event('change', { bubbles: true }));
    expect(fake.sent).toEqual([{ type: 'edit', target: 'input', index: 5, value: 0.3 }]);
  });

  it('big matrices go to a canvas; layered masks blank the missing connections', () => {
    const big = fixtureSimView({
      task: 'pattern',
      n: 70,
      m: 2,
      k: 1,
      freeSteps: 5,
      controlSteps: 5,
    });
    const div = host();
    drawWeights(div, { sim: big, matrix: 'W' }, 800, 500, send);
    expect(div.querySelectorAll('g.panel[data-panel="W"] rect.cell').length).toBe(0);
    const canvas = Array.from(div.querySelectorAll('canvas')).find((c) => c.dataset.panel === 'W');
    expect(canvas?.width).toBe(70);
    expect(canvas?.height).toBe(70);
    const layered = fixtureSimView({ task: 'pattern', layers: [3, 3], m: 2, k: 1 });
    const div2 = host();
    drawWeights(div2, { sim: layered, matrix: 'W' }, 560, 360, send);
    const fills = Array.from(div2.querySelectorAll('g.panel[data-panel="W"] rect.cell'), (c) =>
      c.getAttribute('fill'),
    );
    expect(fills.filter((f) => f === 'none').length).toBe(36 - 9);
  });

  it('medium matrices are painted on a canvas at the panel size; the hit area reads out and edits', () => {
    // Layered 16-16 with 2 inputs: W is 32×32 (1,024 entries > SVG_CELLS), 256 of them kept.
    const sim = fixtureSimView({ task: 'pattern', layers: [16, 16], m: 2, k: 1 });
    const fills: { style: string; x: number; y: number; w: number; h: number }[] = [];
    let style = '';
    const ctx = {
      clearRect: () => undefined,
      set fillStyle(v: string) {
        style = v;
      },
      fillRect: (x: number, y: number, w: number, h: number) =>
        void fills.push({ style, x, y, w, h }),
    };
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(
      (() => ctx) as unknown as HTMLCanvasElement['getContext'],
    );
    const div = host();
    drawWeights(div, { sim, matrix: 'W' }, 800, 500, send);
    const panel = div.querySelector<SVGGElement>('g.panel[data-panel="W"]');
    if (!panel) throw new Error('no W panel');
    // No SVG cells; the panel keeps its label, keyboard focus and hit area.
    expect(panel.querySelectorAll('rect.cell').length).toBe(0);
    expect(panel.getAttribute('aria-label')).toMatch(/^W: 32×32, colour limit ±/);
    expect(panel.getAttribute('tabindex')).toBe('0');
    const bg = panel.querySelector('rect.bg');
    const w = Number(bg?.getAttribute('width'));
    const h = Number(bg?.getAttribute('height'));
    const canvas = Array.from(div.querySelectorAll('canvas')).find((c) => c.dataset.panel === 'W');
    if (!canvas) throw new Error('no W canvas');
    // Device pixels (1 in jsdom), not one pixel per weight.
    expect(canvas.width).toBe(Math.round(w));
    expect(canvas.height).toBe(Math.round(h));
    expect(canvas.style.imageRendering).toBe('');
    // One block per kept weight (4 panels: W, ΔW, step W masked; the fixture has no B or F).
    const W = sim.weights?.params.W;
    if (!W) throw new Error('no W');
    const first = fills.slice(0, 256);
    expect(fills.length).toBeGreaterThanOrEqual(256);
    // Blocks tile the canvas on whole pixels: W[16, 0] (first kept) at row 16, column 0.
    expect(first[0]).toMatchObject({ x: 0, y: Math.round((16 * canvas.height) / 32) });
    expect(first.every((f) => Number.isInteger(f.x) && Number.isInteger(f.w) && f.w > 0)).toBe(
      true,
    );
    // The hit area answers: hover reads out, a click opens the editor on that weight.
    const hit = panel.querySelector<SVGRectElement>('rect.hit');
    if (!hit) throw new Error('no hit area');
    expect(hit.getAttribute('display')).toBeNull();
    vi.spyOn(hit, 'getBoundingClientRect').mockReturnValue(new DOMRect(0, 0, 320, 320));
    hit.dispatchEvent(new MouseEvent('mousemove', { clientX: 35, clientY: 205 }));
    expect(div.querySelector('text.readout')?.textContent).toContain(
      `W[20, 3] = ${format('.3~g')(W.data[20 * 32 + 3])}`,
    );
    hit.dispatchEvent(new MouseEvent('click', { clientX: 35, clientY: 205 }));
    const input = div.querySelector<HTMLInputElement>('input.cell-editor');
    if (!input) throw new Error('no editor');
    input.value = '0.25';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(fake.sent).toEqual([
      { type: 'edit', target: 'param', name: 'W', row: 20, col: 3, value: 0.25 },
    ]);
  });

  it('a large matrix reads out values and opens a zoom on click: wheel, keys, Escape', () => {
    const big = fixtureSimView({
      task: 'pattern',
      n: 70,
      m: 2,
      k: 1,
      freeSteps: 5,
      controlSteps: 5,
    });
    const div = host();
    drawWeights(div, { sim: big, matrix: 'W' }, 800, 500, send);
    const hit = div.querySelector<SVGRectElement>('g.panel[data-panel="W"] rect.hit');
    if (!hit) throw new Error('no hit area');
    // jsdom has no layout: give the hit area a box, 1 px per weight.
    vi.spyOn(hit, 'getBoundingClientRect').mockReturnValue(new DOMRect(0, 0, 70, 70));
    hit.dispatchEvent(new MouseEvent('mousemove', { clientX: 10.5, clientY: 20.5 }));
    const w = big.weights?.params.W;
    if (!w) throw new Error('no W');
    const readout = () => div.querySelector('text.readout')?.textContent ?? '';
    expect(readout()).toContain('W[20, 10] = ');
    hit.dispatchEvent(new MouseEvent('click', { clientX: 40.5, clientY: 50.5 }));
    const zoom = div.querySelector<SVGGElement>('g.zoom');
    expect(zoom?.getAttribute('display')).toBeNull();
    expect(div.querySelector('g.panels')?.getAttribute('display')).toBe('none');
    const zoomCanvas = () =>
      Array.from(div.querySelectorAll('canvas')).find((c) => c.dataset.panel === 'zoom:W');
    // The window holds the clicked cell (50, 40), with legible cells (≥ 10 px).
    const title = zoom?.querySelector('text.title')?.textContent ?? '';
    const [r0, r1, c0, c1] = (title.match(/rows (\d+)–(\d+), cols (\d+)–(\d+) of 70×70/) ?? [])
      .slice(1)
      .map(Number);
    expect(r0).toBeLessThanOrEqual(50);
    expect(r1).toBeGreaterThanOrEqual(50);
    expect(c0).toBeLessThanOrEqual(40);
    expect(c1).toBeGreaterThanOrEqual(40);
    const canvas = zoomCanvas();
    if (!canvas) throw new Error('no zoom canvas');
    expect(parseFloat(canvas.style.width) / canvas.width).toBeGreaterThanOrEqual(10);
    const opened = canvas.height;
    // Row and column indices as axes.
    expect(zoom?.querySelectorAll('g.axis-x g.tick').length).toBeGreaterThan(2);
    // Keys: + zooms in (fewer, larger cells), Escape goes back to all panels.
    zoom?.dispatchEvent(new KeyboardEvent('keydown', { key: '+', bubbles: true }));
    expect(zoomCanvas()?.height).toBeLessThan(opened);
    div
      .querySelector<SVGGElement>('g.zoom')
      ?.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(div.querySelector('g.zoom')?.getAttribute('display')).toBe('none');
    expect(div.querySelector('g.panels')?.getAttribute('display')).toBeNull();
    expect(clampZoom({ key: 'W', row: -5, col: 90, size: 500, cursor: [99, -1] }, w)).toEqual({
      key: 'W',
      row: 0,
      col: 0,
      size: 70,
      cursor: [69, 0],
    });
  });

  it('greys the cosine out when the last update is at float noise', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 6, m: 3, k: 2 });
    const w = sim.weights;
    if (!w?.lastUpdate) throw new Error('no update');
    const tiny = Object.fromEntries(
      Object.entries(w.lastUpdate).map(([k, m]) => [
        k,
        { ...m, data: m.data.map((v) => v * 1e-9) },
      ]),
    );
    // The engine's flag on the newest learning point decides …
    const flagged = {
      ...sim,
      learning: sim.learning.map((p, q, all) => ({ ...p, cosineReliable: q < all.length - 1 })),
    };
    const [cos] = alignmentText(flagged, 'W');
    expect(cos.muted).toBe(true);
    expect(cos.text).toContain('not meaningful');
    expect(alignmentText(sim, 'W')[0].muted).toBe(false);
    // … and without learning points, the size of the last update.
    const noisy = { ...sim, learning: [], weights: { ...w, lastUpdate: tiny } };
    expect(alignmentText(noisy, 'W')[0].muted).toBe(true);
  });
});

describe('task', () => {
  it('2-D classification: decision map bands, the 0.5 contour, points and the current sample', () => {
    const sim = fixtureSimView({ task: 'circle', n: 4 });
    expect(taskMode(sim.task)).toBe('plane');
    const map = circleMap(MAP_SIZE, sim.task);
    const svg = newSvg();
    drawTask(svg, { sim, map }, 420, 300);
    const g = svg.querySelector('g.mode-plane');
    expect(g?.getAttribute('display')).toBeNull();
    expect(svg.querySelectorAll('g.decision-map path').length).toBe(10);
    expect(svg.querySelectorAll('g.points circle').length).toBe(200);
    // The 0.5 contour is the circle of radius 0.6: check it in data coordinates (type size 10:
    // margins 34 left, 15 top, 8 right, 27 bottom; a 76 px legend).
    const side = Math.min(420 - 34 - 8 - 76, 300 - 15 - 27);
    const toData = (v: number) => -1.2 + ((v - 34) / side) * 2.4;
    const toDataY = (v: number) => 1.2 - ((v - 15) / side) * 2.4;
    const pts = pathPoints(svg.querySelector('path.boundary')?.getAttribute('d') ?? '').flat();
    expect(pts.length).toBeGreaterThan(20);
    for (const [px, py] of pts) expect(Math.hypot(toData(px), toDataY(py))).toBeCloseTo(0.6, 1);
    // The current sample is ringed at latest.x.
    const x = sim.latest?.x ?? new Float32Array(2);
    const tr = svg.querySelector('g.current')?.getAttribute('transform') ?? '';
    const [cx, cy] = (tr.match(/-?[\d.]+/g) ?? []).map(Number);
    expect(toData(cx)).toBeCloseTo(x[0], 1);
    expect(toDataY(cy)).toBeCloseTo(x[1], 1);
    expect(svg.querySelector('text.accuracy')?.textContent).toMatch(/test \d+\.\d%/);
    expect(normalise(svg)).toMatchSnapshot();
    // A new map and task object redraw in place.
    const once = svg.outerHTML;
    drawTask(
      svg,
      { sim: { ...sim, task: sim.task ? { ...sim.task } : null }, map: { ...map } },
      420,
      300,
    );
    expect(svg.outerHTML).toBe(once);
  });

  it('regression: predictions against targets with the identity line', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 4, m: 3, k: 2 });
    const count = 20;
    const testY = new Float32Array(count * 2).map((_, q) => Math.sin(q * 1.7));
    const task: TaskData = {
      task: 'teacher',
      m: 3,
      k: 2,
      classification: false,
      image: null,
      trainX: new Float32Array(count * 3),
      trainY: testY.slice(),
      testX: new Float32Array(count * 3),
      testY,
    };
    const testPredictions = new Float32Array(count).map((_, q) => 0.9 * testY[2 * q] + 0.05);
    const map: DecisionMap = {
      size: 2,
      extent: [-1.2, 1.2],
      values: new Float32Array(4),
      testPredictions,
    };
    const svg = newSvg();
    drawTask(svg, { sim: { ...sim, task }, map }, 420, 300);
    expect(taskMode(task)).toBe('fit');
    expect(svg.querySelectorAll('g.mode-fit g.points circle').length).toBe(count);
    expect(svg.querySelector('path.identity')?.getAttribute('d')).toMatch(/^M/);
    expect(svg.querySelector('g.info')?.textContent).toContain('20 test samples');
    expect(svg.querySelector('g.info')?.textContent).toContain('mean ½(y₀ − t₀)² over');
    expect(normalise(svg)).toMatchSnapshot();
  });

  it('regression: the loss follows a dragged target of the pattern task (TaskData is sent on reset only)', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 4, m: 3, k: 1 });
    const latest = sim.latest;
    if (!latest) throw new Error('no snapshot');
    const task: TaskData = {
      task: 'pattern',
      m: 3,
      k: 1,
      classification: false,
      image: null,
      trainX: latest.x.slice(),
      trainY: Float32Array.from([0.2]),
      testX: latest.x.slice(),
      testY: Float32Array.from([0.2]),
    };
    const map: DecisionMap = {
      size: 2,
      extent: [-1.2, 1.2],
      values: new Float32Array(4),
      testPredictions: Float32Array.from([0.5]),
    };
    const at = (t: number): SimView => ({
      ...sim,
      task,
      latest: { ...latest, target: Float32Array.from([t]) },
    });
    expect(Array.from(liveTestTargets(task, at(-0.4).latest))).toEqual([Math.fround(-0.4)]);
    const svg = newSvg();
    const info = () => svg.querySelector('g.info')?.textContent ?? '';
    drawTask(svg, { sim: at(0.2), map }, 420, 300);
    expect(info()).toContain(
      `1 test sample: ${fitStats([[0.2, 0.5]])
        .loss.toPrecision(3)
        .replace(/0+$/, '')}`,
    );
    // The target moves: the same map, a new loss.
    drawTask(svg, { sim: at(-0.4), map }, 420, 300);
    expect(info()).toContain('1 test sample: 0.405');
    expect(info()).toContain('mean L(y⁰) over');
    // Other tasks keep the worker's test targets.
    expect(liveTestTargets({ ...task, task: 'teacher' }, at(-0.4).latest)).toBe(task.testY);
  });

  it('MNIST: test digits with their predicted class, wrong ones marked', () => {
    const sim = fixtureSimView({ task: 'pattern', n: 4, m: 2, k: 2 });
    const rows = 28;
    const digits = 6;
    const testX = new Float32Array(digits * rows * rows).fill(-0.42);
    for (let q = 0; q < digits; q++)
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < rows; c++) {
          const d = Math.hypot(r - 14, c - 14);
          if (Math.abs(d - 4 - q) < 2) testX[q * rows * rows + r * rows + c] = 2.8;
        }
    const testY = Float32Array.from([0, 1, 2, 3, 4, 5]);
    const task: TaskData = {
      task: 'mnist',
      m: rows * rows,
      k: 10,
      classification: true,
      image: { rows, cols: rows },
      trainX: new Float32Array(0),
      trainY: new Float32Array(0),
      testX,
      testY,
    };
    const map: DecisionMap = {
      size: 2,
      extent: [-1.2, 1.2],
      values: new Float32Array(4),
      testPredictions: Float32Array.from([0, 7, 2, 3, 9, 5]),
    };
    expect(taskMode(task)).toBe('digits');
    const svg = newSvg();
    drawTask(svg, { sim: { ...sim, task }, map }, 420, 300);
    const cells = svg.querySelectorAll('g.digit');
    expect(cells.length).toBe(digits);
    const labels = Array.from(cells, (c) => c.querySelector('text.label')?.textContent);
    expect(labels).toEqual(['0 ✓', '7 ✗ (1)', '2 ✓', '3 ✓', '9 ✗ (4)', '5 ✓']);
    expect(svg.querySelector('text.info')?.textContent).toContain('2 wrong');
    // Each digit is a bitmap: a 24-bit BMP whose ring pixels are ink (black), its centre paper.
    const images = Array.from(svg.querySelectorAll('g.digit g.ink image'));
    expect(images.length).toBe(digits);
    images.forEach((image, q) => {
      const href = image.getAttribute('href') ?? '';
      expect(href.startsWith('data:image/bmp;base64,')).toBe(true);
      const bytes = Uint8Array.from(atob(href.split(',')[1]), (ch) => ch.charCodeAt(0));
      const stride = (rows * 3 + 3) & ~3;
      expect(bytes.length).toBe(54 + stride * rows);
      const grey = (r: number, c: number) => bytes[54 + (rows - 1 - r) * stride + 3 * c];
      expect(grey(14, 14 + 4 + q)).toBe(0);
      expect(grey(14, 14)).toBe(255);
    });
    expect(normalise(svg)).toMatchSnapshot();
  });
});

describe('view components', () => {
  const g = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean };
  beforeEach(() => {
    g.IS_REACT_ACT_ENVIRONMENT = true;
    // jsdom has no layout: give every element a 420 × 300 box.
    vi.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockReturnValue({
      x: 0,
      y: 0,
      left: 0,
      top: 0,
      right: 420,
      bottom: 300,
      width: 420,
      height: 300,
      toJSON: () => ({}),
    });
  });

  const frame = () => new Promise<void>((resolve) => setTimeout(resolve, 40));
  /** Let frames pass until `cond` holds (jsdom draws slowly; at most ~3 s). */
  const until = async (cond: () => boolean) => {
    for (let q = 0; q < 75 && !cond(); q++) await act(frame);
  };

  it('render their sections, request a flow field and a decision map once per change', async () => {
    const sim = fixtureSimView({ task: 'circle', n: 2 });
    simView.setState(sim);
    const div = document.createElement('div');
    document.body.appendChild(div);
    const root = createRoot(div);
    onTestFinished(async () => {
      await act(async () => root.unmount());
      clearSimView();
    });
    await act(async () => {
      root.render(
        createElement(
          'div',
          null,
          createElement(PhaseView),
          createElement(WeightsView),
          createElement(TaskView),
        ),
      );
      await frame();
    });
    for (const id of ['view-phase', 'view-weights', 'view-task']) {
      const section = div.querySelector(`section[data-testid="${id}"]`);
      expect(section?.getAttribute('aria-label')).toBeTruthy();
    }
    const nullcline = () =>
      div.querySelector('section[data-testid="view-phase"] path.nullcline-i')?.getAttribute('d') ??
      '';
    await until(() => nullcline() !== '' && div.querySelectorAll('g.decision-map path').length > 0);
    expect(fake.flowRequests).toHaveLength(1);
    expect(fake.flowRequests[0]).toMatchObject({ i: 0, j: 1 });
    expect(fake.flowRequests[0].size).toBe(flowSize(phaseLayout(420, 300, 10, false, false).side));
    expect(fake.mapRequests).toEqual([MAP_SIZE]);
    expect(nullcline()).toMatch(/^M/);
    expect(div.querySelectorAll('g.decision-map path').length).toBe(10);
    // A new snapshot with the same weights, sample and target asks for nothing new …
    await act(async () => {
      const s = simView.getState();
      if (s.latest) simView.setState({ latest: { ...s.latest, seq: s.latest.seq + 1 } });
      await frame();
    });
    expect(fake.flowRequests).toHaveLength(1);
    expect(fake.mapRequests).toHaveLength(1);
    // … new weights ask for a new field and map (after the throttle interval).
    await act(async () => {
      const s = simView.getState();
      if (s.weights)
        simView.setState({ weights: { ...s.weights, version: s.weights.version + 1 } });
    });
    await until(() => fake.flowRequests.length > 1 && fake.mapRequests.length > 1);
    expect(fake.flowRequests).toHaveLength(2);
    expect(fake.mapRequests).toHaveLength(2);
  });
});
