/**
 * What the phase portrait computes before drawing (no DOM): the flow-field grid size and key,
 * the axes' extents, the target set's contour level, and the trajectory split into free and
 * controlled runs.
 */
import { contours, quantile } from 'd3';
import type { Activation, Readout } from '../../engine/kinds';
import {
  controlGrid,
  driveOf,
  leastControlOnLine,
  linePoint,
  sliceControl,
  targetLine,
  type LinePoint,
  type TargetLine,
} from '../../engine/leastControl';
import type { SimView, TracePoint } from '../../state/simView';
import type { FlowField, Marker } from '../../worker/protocol';

/** Grid points per axis of the requested flow field for a plot `side` pixels wide: one about
 *  every 9 px (smooth nullclines, a thin target band), between 21 and 61. */
export function flowSize(side: number): number {
  return Math.max(21, Math.min(61, 2 * Math.round(side / 18) + 1));
}
/** Minimum time between two flow-field requests (ms): at most four a second. */
export const FLOW_INTERVAL = 250;
/** While training, fields (and maps) are refreshed at most this often. */
export const TRAINING_REFRESH_MS = 2000;
/** Minimum time between two target edits while dragging (ms). */
export const TARGET_EDIT_INTERVAL = 100;

const SUB = '₀₁₂₃₄₅₆₇₈₉';
/** Unicode subscript digits. */
export const sub = (v: number): string =>
  String(v)
    .split('')
    .map((c) => SUB[Number(c)] ?? c)
    .join('');

/**
 * The polylines of the `level` contour of a size×size grid (row-major, x along columns), in grid
 * index coordinates, without the segments d3.contours adds along the grid's border.
 */
export function contourLines(
  values: ArrayLike<number>,
  size: number,
  level: number,
): [number, number][][] {
  const grid = Array.from(values, (v) => (Number.isFinite(v) ? v : level - 1e9));
  const [shape] = contours().size([size, size]).smooth(true).thresholds([level])(grid);
  const out: [number, number][][] = [];
  if (!shape) return out;
  for (const polygon of shape.coordinates)
    for (const ring of polygon) {
      let cur: [number, number][] = [];
      for (const [x, y] of ring) {
        if (x <= 0 || x >= size || y <= 0 || y >= size) {
          if (cur.length > 1) out.push(cur);
          cur = [];
        } else cur.push([x - 0.5, y - 0.5]);
      }
      if (cur.length > 1) out.push(cur);
    }
  return out;
}

/**
 * The level at which the target set (the zeros of the output error ‖Dρ(φ) + d − t‖, a norm) is
 * drawn: 2% of the error's maximum over the slice, raised where needed so that a V-shaped zero
 * (one output: |y − t| has a kink on the target curve) straddled by grid points still gives a
 * continuous band — to the largest value at grid minima that look like such a straddled kink
 * (along a row or column: e₀ ≤ 0.55 × the rise to the higher neighbour), at most 25% of the max.
 */
export function targetLevel(e: ArrayLike<number>, size: number, emax: number): number {
  let valley = 0;
  const visit = (a: number, b: number, c: number) => {
    // b is the middle of three neighbouring samples.
    if (!(b <= a && b <= c)) return;
    const rise = Math.max(a, c) - b;
    if (rise > 0 && b <= 0.55 * rise) valley = Math.max(valley, b);
  };
  for (let r = 0; r < size; r++)
    for (let c = 1; c + 1 < size; c++) {
      const q = r * size + c;
      visit(e[q - 1], e[q], e[q + 1]);
    }
  for (let r = 1; r + 1 < size; r++)
    for (let c = 0; c < size; c++) {
      const q = r * size + c;
      visit(e[q - size], e[q], e[q + size]);
    }
  return Math.min(Math.max(0.02 * emax, 1.05 * valley), 0.25 * emax);
}

/** Round outward to a multiple of 0.5. */
const niceLo = (v: number) => Math.floor(v * 2) / 2;
const niceHi = (v: number) => Math.ceil(v * 2) / 2;

/**
 * The axes' extent: everything drawn (state, free equilibrium, trajectory) with a margin, rounded
 * to halves, never shrinking below `prev` (so requests are not re-issued as the state moves).
 */
export function phaseRange(
  sim: SimView,
  i: number,
  j: number,
  prev: [number, number] | null,
): [number, number] {
  const vals: number[] = [];
  const s = sim.latest;
  if (s) {
    vals.push(s.phi[i], s.phi[j]);
    if (s.freePhi) vals.push(s.freePhi[i], s.freePhi[j]);
  }
  for (const p of sim.traces)
    if (i < p.phi.length && j < p.phi.length) vals.push(p.phi[i], p.phi[j]);
  const finite = vals.filter(Number.isFinite);
  let lo = finite.length ? Math.min(...finite) : -1;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (prev && lo >= prev[0] && hi <= prev[1]) return prev;
  const pad = Math.max(0.25, 0.15 * (hi - lo));
  lo = niceLo(Math.min(lo - pad, -1));
  hi = niceHi(Math.max(hi + pad, 1));
  if (prev) {
    lo = Math.min(lo, prev[0]);
    hi = Math.max(hi, prev[1]);
  }
  return [lo, hi];
}

/** Extent of the target axis: output and target of `output`, at least ±1.5, never shrinking. */
export function targetRange(
  sim: SimView,
  output: number,
  prev: [number, number] | null,
): [number, number] {
  const s = sim.latest;
  const vals = s ? [s.y[output], s.target[output]].filter(Number.isFinite) : [];
  let lo = Math.min(-1.5, ...vals);
  let hi = Math.max(1.5, ...vals);
  if (prev && lo >= prev[0] && hi <= prev[1]) return prev;
  lo = niceLo(lo - 0.25);
  hi = niceHi(hi + 0.25);
  return prev ? [Math.min(lo, prev[0]), Math.max(hi, prev[1])] : [lo, hi];
}

/** A short, cheap fingerprint of a vector (exact for short ones). */
function vectorKey(v: ArrayLike<number> | null, digits = 4): string {
  if (!v) return '-';
  if (v.length <= 8) return Array.from(v, (e) => e.toFixed(digits)).join(',');
  let a = 0;
  let b = 0;
  for (let q = 0; q < v.length; q++) {
    a += v[q] * ((q % 13) + 1);
    b += v[q] * v[q];
  }
  return `${v.length}:${a.toFixed(digits)}:${b.toFixed(digits)}`;
}

/**
 * What the flow field depends on: weights, sample, input, target, the axes and — for more than
 * two units — the other units' state (quantised to 1/40 of the range, so that settling dynamics
 * do not ask for a new field every frame).
 */
export function flowKey(sim: SimView, i: number, j: number, range: [number, number]): string {
  const s = sim.latest;
  if (!s) return '';
  let slice = '';
  if (s.n > 2) {
    const q = (range[1] - range[0]) / 40;
    const held = new Float32Array(s.n);
    for (let u = 0; u < s.n; u++) held[u] = u === i || u === j ? 0 : Math.round(s.phi[u] / q);
    slice = vectorKey(held, 0);
  }
  return [
    sim.generation,
    sim.weights?.version ?? -1,
    s.sample,
    vectorKey(s.x),
    vectorKey(s.target),
    i,
    j,
    range.join(':'),
    slice,
  ].join('|');
}

/** Was control on at time t (from the control-on/off markers)? */
function controlAt(markers: Marker[], fallback: boolean): (t: number) => boolean {
  const switches = markers
    .filter((m) => m.kind === 'control-on' || m.kind === 'control-off')
    .sort((a, b) => a.t - b.t);
  const before = switches.length ? switches[0].kind === 'control-off' : fallback;
  return (t) => {
    let on = before;
    for (const m of switches) {
      if (m.t > t) break;
      on = m.kind === 'control-on';
    }
    return on;
  };
}

/** Split the trajectory into free and controlled runs (sharing their boundary points). */
export function trajectoryRuns(
  traces: TracePoint[],
  markers: Marker[],
  control: boolean,
  i: number,
  j: number,
): { controlled: boolean; points: [number, number][] }[] {
  const on = controlAt(markers, control);
  const runs: { controlled: boolean; points: [number, number][] }[] = [];
  for (const p of traces) {
    if (i >= p.phi.length || j >= p.phi.length) return [];
    const pt: [number, number] = [p.phi[i], p.phi[j]];
    const c = on(p.t);
    const last = runs[runs.length - 1];
    if (last && last.controlled === c) last.points.push(pt);
    else {
      const prev = last?.points[last.points.length - 1];
      runs.push({ controlled: c, points: prev ? [prev, pt] : [pt] });
    }
  }
  return runs;
}

/** What the least-control overlay draws (DESIGN.md §1, readout `units`; issue 11, chapter 3). */
export interface LeastControlOverlay {
  /** ½‖ψ(φ)‖² on a size×size grid over `range` (row-major, φ_j along rows). */
  values: Float64Array;
  size: number;
  range: [number, number];
  /** Where the values come from: the worker's flow field (½‖τ_φ φ̇‖², two units), or the
   *  slice computed here with the other units held at their current φ. */
  source: 'flow' | 'slice';
  /** Thin level curves of ½‖ψ‖² (ascending). */
  levels: number[];
  /** The target line φ_y = t in this plane (readout `units`, output unit on an axis), or null. */
  line: TargetLine | null;
  /** φ* on the line (the least ½‖ψ‖² there) and ψ* = ψ(φ*); null without a line. */
  star: LinePoint | null;
  /** The point the user drags along the line, and the control it would need. */
  probe: LinePoint | null;
}

/** Inputs of the overlay: the snapshot's weights and input, the plane and the target. */
export interface OverlayInput {
  sim: SimView;
  field: FlowField | null;
  i: number;
  j: number;
  /** The axes' extent (used when there is no field yet). */
  range: [number, number];
  output: number;
  /** The target shown (a dragged value before the engine confirms it). */
  t: number;
  readout: Readout;
  activation: Activation;
  tauPhi: number;
  /** Coordinate of the dragged point along the line; null: a little away from φ*. */
  probe: number | null;
}

/** Number of thin level curves and the ratio between neighbours. */
const LEVELS = 7;
const LEVEL_RATIO = 2.5;

/**
 * The least-control landscape of the plane (i, j): ½‖ψ(φ)‖², ψ(φ) = φ − Wρ(φ) − Ux − b (see
 * src/engine/leastControl.ts). For two units it is ½‖τ_φ φ̇‖² of the worker's flow field (the
 * same grid the arrows and nullclines come from); for more, the slice through the current state
 * computed here (O(n) per grid point). With the outputs inside the network and the output unit on
 * an axis, also the target line, φ* (the least ½‖ψ‖² on it) and the dragged point's control.
 * Null until weights and a state are known.
 */
export function leastControlOverlay(input: OverlayInput): LeastControlOverlay | null {
  const { sim, field, i, j, readout } = input;
  const s = sim.latest;
  const w = sim.weights?.params;
  if (!s || !w?.W || s.n < 2 || w.W.rows !== s.n) return null;
  const n = s.n;
  const problem = {
    n,
    W: w.W.data,
    drive: driveOf(w.U?.data ?? null, w.b?.data ?? null, s.x, n),
    activation: input.activation,
  };
  const ownField = field && field.i === i && field.j === j ? field : null;
  let values: Float64Array;
  let size: number;
  let range: [number, number];
  let source: LeastControlOverlay['source'];
  if (ownField && n === 2) {
    ({ size, range } = ownField);
    const tau2 = input.tauPhi * input.tauPhi;
    values = Float64Array.from(
      { length: size * size },
      (_, q) => 0.5 * tau2 * (ownField.di[q] ** 2 + ownField.dj[q] ** 2),
    );
    source = 'flow';
  } else {
    size = ownField?.size ?? 41;
    range = ownField?.range ?? input.range;
    values = controlGrid(problem, s.phi, i, j, range, size);
    source = 'slice';
  }
  const finite = Array.from(values).filter(Number.isFinite);
  const top = quantile(finite, 0.85) ?? 0;
  const levels: number[] = [];
  for (let q = LEVELS - 1; q >= 0 && top > 0; q--) levels.push(top / LEVEL_RATIO ** q);

  const line = readout === 'units' ? targetLine(i, j, n - s.k + input.output, input.t) : null;
  let star: LinePoint | null = null;
  let probe: LinePoint | null = null;
  if (line) {
    const psi = sliceControl(problem, s.phi, i, j);
    const [lo, hi] = range;
    const span = hi - lo;
    // φ* may lie off the axes: search well beyond them.
    star = leastControlOnLine(psi, line, [lo - span, hi + span], 801);
    const away = star.s + 0.22 * span <= hi ? star.s + 0.22 * span : star.s - 0.22 * span;
    const at = Math.max(lo, Math.min(hi, input.probe ?? away));
    probe = linePoint(psi, line, at);
  }
  return { values, size, range, source, levels, line, star, probe };
}
