/**
 * Phase portrait (DESIGN.md §4, the paper's Figure 1, live): the free dynamics' flow field on the
 * plane (φ_i, φ_j) — for more than two units a 2-D slice through the current state — with both
 * nullclines, the target set, the free equilibrium, the trajectory, the current state and the
 * control ψ. The flow field comes from the worker (never computed here); requests are throttled.
 * Beside the portrait, a small y/t axis whose target handle can be dragged (regression tasks).
 */
import { cancelDraw, requestDraw } from './frameBudget';
import { useEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import {
  axisRight,
  contours,
  drag,
  geoPath,
  geoTransform,
  line,
  scaleLinear,
  select,
  type ScaleLinear,
  type Selection,
} from 'd3';
import { engine } from '../../state/engine';
import { simView, type SimView, type TracePoint } from '../../state/simView';
import type { FlowField, Marker } from '../../worker/protocol';
import { OKABE_ITO, ROLE, strokeScale } from '../theme';
import { layer, squareAxes, throttle } from './common';

/** The target (ROLE.target, black) in the text colour, so that lecture mode's black page shows it. */
const TARGET_COLOR = 'currentColor';

/** Grid points per axis of the requested flow field for a plot `side` pixels wide: one about
 *  every 9 px (smooth nullclines, a thin target band), between 21 and 61. */
export function flowSize(side: number): number {
  return Math.max(21, Math.min(61, 2 * Math.round(side / 18) + 1));
}
/** Flow arrows are drawn about this far apart (px), on a subset of the grid. */
const ARROW_SPACING = 24;
/** Minimum time between two flow-field requests (ms): at most four a second. */
export const FLOW_INTERVAL = 250;
/** While training, fields (and maps) are refreshed at most this often. */
export const TRAINING_REFRESH_MS = 2000;
/** Minimum time between two target edits while dragging (ms). */
export const TARGET_EDIT_INTERVAL = 100;

export interface PhaseModel {
  sim: SimView;
  /** The last flow field received (may be for an older range; drawn in its own range). */
  field: FlowField | null;
  i: number;
  j: number;
  /** Extent of both axes. */
  range: [number, number];
  /** Output shown on the target axis. */
  output: number;
  targetRange: [number, number];
  /** Target value being dragged (shown instead of latest.target until the engine confirms). */
  dragValue: number | null;
  /** Show the draggable target axis (regression tasks). */
  editableTarget: boolean;
}

export interface PhaseHandlers {
  /** The user moved the target handle to `value`; `final` at the end of a drag or key press. */
  onTarget?: (value: number, final: boolean) => void;
}

export interface PhaseLayout {
  x: ScaleLinear<number, number>;
  y: ScaleLinear<number, number>;
  side: number;
  target: ScaleLinear<number, number> | null;
}

const SUB = '₀₁₂₃₄₅₆₇₈₉';
/** Unicode subscript digits. */
export const sub = (v: number): string =>
  String(v)
    .split('')
    .map((c) => SUB[Number(c)] ?? c)
    .join('');

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

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
function trajectoryRuns(
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

/** An arrow (shaft and open head) from (x0, y0) to (x1, y1) as a path string. */
function arrowPath(x0: number, y0: number, x1: number, y1: number, head: number): string {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (!(len > 0)) return '';
  const ux = (x1 - x0) / len;
  const uy = (y1 - y0) / len;
  const h = Math.min(head, 0.6 * len);
  const c = Math.cos(0.45);
  const s = Math.sin(0.45);
  const ax = x1 - h * (ux * c - uy * s);
  const ay = y1 - h * (uy * c + ux * s);
  const bx = x1 - h * (ux * c + uy * s);
  const by = y1 - h * (uy * c - ux * s);
  return `M${f1(x0)},${f1(y0)}L${f1(x1)},${f1(y1)}M${f1(ax)},${f1(ay)}L${f1(x1)},${f1(y1)}L${f1(bx)},${f1(by)}`;
}

interface LegendItem {
  label: string;
  color: string;
  kind: 'line' | 'dash' | 'dot' | 'ring' | 'band' | 'arrow';
  dash?: string;
}

interface PhaseUi {
  target: ScaleLinear<number, number> | null;
  range: [number, number];
  value: number;
  handlers: PhaseHandlers;
  clipId: string;
}
const uiState = new WeakMap<SVGSVGElement, PhaseUi>();
let clipCounter = 0;

const MARGIN = { top: 14, right: 10, bottom: 28, left: 36 };
const TARGET_W = 46;
/** The longest legend label ('closest to t'). */
const LEGEND_CHARS = 12;
const SLICE_NOTE = 'other units held at their current φ';

/**
 * Draw the phase portrait into `svg` at width × height (pixels). Returns the scales (for tests
 * and hit testing), or null when there is nothing to draw yet.
 */
export function drawPhase(
  svg: SVGSVGElement,
  model: PhaseModel,
  width: number,
  height: number,
  handlers: PhaseHandlers = {},
): PhaseLayout | null {
  let ui = uiState.get(svg);
  if (!ui) {
    ui = {
      target: null,
      range: [-1, 1],
      value: 0,
      handlers,
      clipId: `phase-clip-${++clipCounter}`,
    };
    uiState.set(svg, ui);
  }
  ui.handlers = handlers;
  select(svg)
    .attr('width', width)
    .attr('height', height)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('font-size', strokeScale() > 1 ? 14 : 10)
    .attr('font-family', 'system-ui, sans-serif');
  const s = model.sim.latest;
  const plot = select(layer(svg, 'g', 'plot'));
  const message = select(layer(svg, 'text', 'message'))
    .attr('x', width / 2)
    .attr('y', height / 2)
    .attr('text-anchor', 'middle')
    .attr('fill', 'currentColor');
  let why = '';
  if (!s) why = 'Waiting for the engine…';
  else if (s.n < 2) why = 'The phase portrait needs at least two hidden units.';
  else if (width < 80 || height < 80) why = 'Too small to draw.';
  message.text(why).attr('display', why ? null : 'none');
  plot.attr('display', why ? 'none' : null);
  if (!s || why) return null;
  const { i, j } = model;
  const sw = strokeScale();

  // Layout: a square plot, the target axis to its right, the legend right or below.
  const showTarget = model.editableTarget && s.k > 0 && model.output < s.k;
  const tw = showTarget ? TARGET_W : 0;
  const innerH = height - MARGIN.top - MARGIN.bottom;
  const innerW = width - MARGIN.left - MARGIN.right - tw;
  const fs = strokeScale() > 1 ? 14 : 10;
  const itemW = Math.ceil(LEGEND_CHARS * 0.55 * fs) + 24;
  const rowH = fs + 4;
  const noteRows = s.n > 2 ? 1 : 0;
  const sideRight = Math.min(innerW - itemW, innerH);
  // Below: up to six legend entries, as many per row as fit, then the slice note.
  const belowPerRow = Math.max(1, Math.floor((width - 8) / itemW));
  const sideBelow = Math.min(innerW, innerH - 6 - (Math.ceil(6 / belowPerRow) + noteRows) * rowH);
  const legendRight = sideRight >= 0.9 * sideBelow;
  const side = Math.max(20, Math.floor(legendRight ? sideRight : sideBelow));
  const [lo, hi] = model.range;
  const x = scaleLinear()
    .domain([lo, hi])
    .range([MARGIN.left, MARGIN.left + side]);
  const y = scaleLinear()
    .domain([lo, hi])
    .range([MARGIN.top + side, MARGIN.top]);

  // Clip region and frame.
  const defs = layer(svg, 'defs', 'defs');
  const clip = select(layer(defs, 'clipPath', 'clip')).attr('id', ui.clipId);
  select(layer(clip.node() as Element, 'rect', 'clip-rect'))
    .attr('x', MARGIN.left)
    .attr('y', MARGIN.top)
    .attr('width', side)
    .attr('height', side);
  const plotEl = plot.node() as SVGGElement;
  select(layer(plotEl, 'rect', 'frame'))
    .attr('x', MARGIN.left)
    .attr('y', MARGIN.top)
    .attr('width', side)
    .attr('height', side)
    .attr('fill', 'none')
    .attr('stroke', '#999')
    .attr('stroke-width', 1);
  const clipped = select(layer(plotEl, 'g', 'clipped')).attr('clip-path', `url(#${ui.clipId})`);
  const clippedEl = clipped.node() as SVGGElement;

  // The flow field, nullclines and target set (drawn in the field's own range).
  const field = model.field && model.field.i === i && model.field.j === j ? model.field : null;
  const arrows = select(layer(clippedEl, 'path', 'flow-arrows'))
    .attr('fill', 'none')
    .attr('stroke', '#8a8a8a')
    .attr('stroke-width', 0.9 * sw)
    .attr('stroke-linecap', 'round');
  const band = select(layer(clippedEl, 'path', 'target-set'))
    .attr('fill', TARGET_COLOR)
    .attr('fill-opacity', 0.42)
    .attr('stroke', 'none');
  const closest = select(layer(clippedEl, 'path', 'target-closest'))
    .attr('fill', 'none')
    .attr('stroke', TARGET_COLOR)
    .attr('stroke-width', 1.5 * sw);
  const ncI = select(layer(clippedEl, 'path', 'nullcline-i'))
    .attr('fill', 'none')
    .attr('stroke', OKABE_ITO.blue)
    .attr('stroke-width', 1.8 * sw)
    .attr('stroke-dasharray', '7 3');
  const ncJ = select(layer(clippedEl, 'path', 'nullcline-j'))
    .attr('fill', 'none')
    .attr('stroke', OKABE_ITO.green)
    .attr('stroke-width', 1.8 * sw)
    .attr('stroke-dasharray', '2 2');
  let hasTargetSet = false;
  if (field) {
    const n = field.size;
    const [flo, fhi] = field.range;
    const g2p = (g: number) => flo + (g / (n - 1)) * (fhi - flo);
    const toXY = ([gx, gy]: [number, number]): [number, number] => [x(g2p(gx)), y(g2p(gy))];
    const lineGen = line<[number, number]>()
      .x((p) => p[0])
      .y((p) => p[1]);
    const polyPath = (lines: [number, number][][]) =>
      lines.map((pts) => lineGen(pts.map(toXY)) ?? '').join('');
    // Arrows on a coarser lattice, length ∝ √(speed / max speed).
    let vmax = 0;
    for (let q = 0; q < n * n; q++) {
      const v = Math.hypot(field.di[q], field.dj[q]);
      if (Number.isFinite(v)) vmax = Math.max(vmax, v);
    }
    const gridPx = Math.abs(x(fhi) - x(flo)) / (n - 1);
    const stride = Math.max(1, Math.round(ARROW_SPACING / gridPx));
    const cell = stride * gridPx;
    let d = '';
    for (let r = 0; r < n; r += stride)
      for (let c = 0; c < n; c += stride) {
        const q = r * n + c;
        const v = Math.hypot(field.di[q], field.dj[q]);
        if (!(v > 0) || !(vmax > 0)) continue;
        const len = Math.max(2.5, 0.8 * cell * Math.sqrt(v / vmax));
        const ux = field.di[q] / v;
        const uy = -field.dj[q] / v;
        const cx = x(g2p(c));
        const cy = y(g2p(r));
        d += arrowPath(
          cx - (ux * len) / 2,
          cy - (uy * len) / 2,
          cx + (ux * len) / 2,
          cy + (uy * len) / 2,
          3,
        );
      }
    arrows.attr('d', d);
    ncI.attr('d', polyPath(contourLines(field.di, n, 0)));
    ncJ.attr('d', polyPath(contourLines(field.dj, n, 0)));
    // Target set: where the output error is at most `targetLevel` (a thin band around its zeros).
    let emax = 0;
    let emin = Infinity;
    let argmin = 0;
    for (let q = 0; q < n * n; q++) {
      const e = field.outputError[q];
      if (!Number.isFinite(e)) continue;
      emax = Math.max(emax, e);
      if (e < emin) {
        emin = e;
        argmin = q;
      }
    }
    const level = targetLevel(field.outputError, n, emax);
    if (emax > 0 && emin < level) {
      hasTargetSet = true;
      const neg = Array.from(field.outputError, (e) => (Number.isFinite(e) ? -e : -Infinity));
      const [shape] = contours().size([n, n]).thresholds([-level])(neg);
      const project = geoTransform({
        point(px: number, py: number) {
          this.stream.point(x(g2p(px - 0.5)), y(g2p(py - 0.5)));
        },
      });
      band.attr('d', shape ? (geoPath(project)(shape) ?? '') : '');
      closest.attr('d', '');
    } else {
      band.attr('d', '');
      if (emax > 0) {
        // The target set misses this slice: mark where the output comes closest.
        const cx = x(g2p(argmin % n));
        const cy = y(g2p(Math.floor(argmin / n)));
        closest.attr(
          'd',
          `M${f1(cx - 4)},${f1(cy - 4)}L${f1(cx + 4)},${f1(cy + 4)}M${f1(cx - 4)},${f1(cy + 4)}L${f1(cx + 4)},${f1(cy - 4)}`,
        );
      } else closest.attr('d', '');
    }
  } else {
    for (const p of [arrows, band, closest, ncI, ncJ]) p.attr('d', '');
  }

  // Trajectory (free runs dashed in the free colour, controlled runs solid).
  const runs = trajectoryRuns(model.sim.traces, model.sim.markers, s.control, i, j);
  const lineGen = line<[number, number]>()
    .x((p) => x(p[0]))
    .y((p) => y(p[1]))
    .defined((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  select(clippedEl)
    .selectAll<SVGPathElement, (typeof runs)[number]>('path.trajectory')
    .data(runs)
    .join('path')
    .attr('class', 'trajectory')
    .attr('fill', 'none')
    .attr('stroke', (r) => (r.controlled ? ROLE.phi : ROLE.free))
    .attr('stroke-width', (r) => (r.controlled ? 2 : 1.6) * sw)
    .attr('stroke-dasharray', (r) => (r.controlled ? null : '4 2'))
    .attr('d', (r) => lineGen(r.points) ?? '');

  // Free equilibrium (hollow), current state (filled), ψ arrow.
  const free = select(layer(clippedEl, 'circle', 'free-equilibrium'))
    .attr('r', 5)
    .attr('fill', 'white')
    .attr('stroke', ROLE.free)
    .attr('stroke-width', 2.5 * sw);
  if (s.freePhi && Number.isFinite(s.freePhi[i]) && Number.isFinite(s.freePhi[j]))
    free
      .attr('cx', f1(x(s.freePhi[i])))
      .attr('cy', f1(y(s.freePhi[j])))
      .attr('display', null);
  else free.attr('display', 'none');
  const px = x(s.phi[i]);
  const py = y(s.phi[j]);
  const psiLen = Math.hypot(s.psi[i], s.psi[j]);
  const showPsi = s.control && psiLen > 1e-6 && Number.isFinite(psiLen);
  select(layer(clippedEl, 'path', 'psi-arrow'))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 2.2 * sw)
    .attr('stroke-linecap', 'round')
    .attr('d', showPsi ? arrowPath(px, py, x(s.phi[i] + s.psi[i]), y(s.phi[j] + s.psi[j]), 7) : '');
  select(layer(clippedEl, 'text', 'psi-label'))
    .attr('x', f1(x(s.phi[i] + s.psi[i]) + 4))
    .attr('y', f1(y(s.phi[j] + s.psi[j]) - 4))
    .attr('fill', ROLE.psi)
    .attr('font-weight', 600)
    .attr('display', showPsi ? null : 'none')
    .text(s.metrics.settled ? 'ψ*' : 'ψ');
  select(layer(clippedEl, 'circle', 'state'))
    .attr('cx', f1(px))
    .attr('cy', f1(py))
    .attr('r', 4.5)
    .attr('fill', ROLE.phi)
    .attr('stroke', 'white')
    .attr('stroke-width', 1.2);

  // Axes.
  const ticks = Math.max(2, Math.min(6, Math.floor(side / 45)));
  squareAxes(plotEl, x, y, {
    left: MARGIN.left,
    top: MARGIN.top,
    side,
    ticks,
    xLabel: `φ${sub(i)}`,
    yLabel: `φ${sub(j)}`,
    yLabelY: MARGIN.top - 3,
  });

  // Target axis with its draggable handle.
  let target: ScaleLinear<number, number> | null = null;
  const tg = select(layer(plotEl, 'g', 'target-axis')).attr('display', showTarget ? null : 'none');
  if (showTarget) {
    const o = model.output;
    const ax = MARGIN.left + side + MARGIN.right + 14;
    target = scaleLinear()
      .domain(model.targetRange)
      .range([MARGIN.top + side, MARGIN.top])
      .clamp(true);
    const tVal = model.dragValue ?? s.target[o];
    ui.target = target;
    ui.range = model.targetRange;
    ui.value = tVal;
    drawTargetAxis(tg, ui, ax, target, tVal, s.y[o], o, sw);
  } else ui.target = null;

  // Legend.
  const items: LegendItem[] = [
    { label: `φ̇${sub(i)} = 0`, color: OKABE_ITO.blue, kind: 'dash', dash: '7 3' },
    { label: `φ̇${sub(j)} = 0`, color: OKABE_ITO.green, kind: 'dash', dash: '2 2' },
    {
      label: hasTargetSet || !field ? 'target set' : 'closest to t',
      color: TARGET_COLOR,
      kind: 'band',
    },
    { label: 'free eq. φ⁰', color: ROLE.free, kind: 'ring' },
    { label: 'state φ', color: ROLE.phi, kind: 'dot' },
  ];
  if (showPsi) items.push({ label: 'control ψ', color: ROLE.psi, kind: 'arrow' });
  const lx = legendRight ? MARGIN.left + side + MARGIN.right + tw + 8 : 8;
  const ly = legendRight ? MARGIN.top + 6 : MARGIN.top + side + MARGIN.bottom + 8;
  const perRow = legendRight ? 1 : belowPerRow;
  const legend = select(layer(plotEl, 'g', 'legend'));
  const entries = legend
    .selectAll<SVGGElement, LegendItem>('g.entry')
    .data(items, (d) => d.kind + d.color)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'entry');
      g.append('path').attr('class', 'swatch');
      g.append('text').attr('x', 20).attr('y', 3.5).attr('fill', 'currentColor');
      return g;
    })
    .attr('transform', (_, q) => {
      const cx = lx + (q % perRow) * itemW;
      const cy = ly + Math.floor(q / perRow) * (legendRight ? rowH + 2 : rowH);
      return `translate(${cx},${cy})`;
    });
  // For more than two units the portrait is a slice: say so under the legend.
  const noteY = ly + Math.ceil(items.length / perRow) * (legendRight ? rowH + 2 : rowH) + 2;
  const note = select(layer(plotEl, 'text', 'slice-note'))
    .attr('x', lx)
    .attr('y', noteY)
    .attr('fill', 'currentColor')
    .attr('fill-opacity', 0.75)
    .text(s.n > 2 ? (legendRight ? '' : `slice: ${SLICE_NOTE}`) : '');
  // Beside the plot the note is narrow: two lines.
  note
    .selectAll('tspan')
    .data(s.n > 2 && legendRight ? ['slice: other units', 'held at current φ'] : [])
    .join('tspan')
    .attr('x', lx)
    .attr('dy', (_, q) => (q ? rowH : 0))
    .text((d) => d);
  entries.select('text').text((d) => d.label);
  entries
    .select<SVGPathElement>('path.swatch')
    .attr('d', (d) => {
      switch (d.kind) {
        case 'dot':
        case 'ring':
          return 'M4,0a4,4 0 1,0 8,0a4,4 0 1,0 -8,0';
        case 'band':
          return 'M0,-3h16v6h-16z';
        case 'arrow':
          return arrowPath(0, 0, 16, 0, 5);
        default:
          return 'M0,0h16';
      }
    })
    .attr('fill', (d) => (d.kind === 'dot' ? d.color : d.kind === 'band' ? d.color : 'none'))
    .attr('fill-opacity', (d) => (d.kind === 'band' ? 0.25 : 1))
    .attr('stroke', (d) => (d.kind === 'dot' ? 'white' : d.color))
    .attr('stroke-width', (d) => (d.kind === 'ring' ? 2.5 : 1.8))
    .attr('stroke-dasharray', (d) => d.dash ?? null);

  return { x, y, side, target };
}

function drawTargetAxis(
  tg: Selection<SVGGElement, unknown, null, undefined>,
  ui: PhaseUi,
  ax: number,
  scale: ScaleLinear<number, number>,
  tVal: number,
  yVal: number,
  o: number,
  sw: number,
): void {
  const el = tg.node() as SVGGElement;
  const [top, bottom] = [scale.range()[1], scale.range()[0]];
  // A wide transparent strip: click or drag anywhere on it to move the target.
  select(layer(el, 'rect', 'target-strip'))
    .attr('x', ax - 14)
    .attr('y', top - 4)
    .attr('width', 40)
    .attr('height', bottom - top + 8)
    .attr('fill', 'transparent')
    .style('cursor', 'ns-resize');
  // Drag (or click) anywhere on the axis group: the strip, the ticks or the handle.
  if (!tg.property('__dragBound')) {
    tg.property('__dragBound', true);
    const toValue = (py: number) => {
      const sc = ui.target;
      return sc ? Math.round(sc.invert(py) * 1000) / 1000 : 0;
    };
    tg.call(
      drag<SVGGElement, unknown>()
        .container(el)
        .on('start drag', (ev: { y: number }) => ui.handlers.onTarget?.(toValue(ev.y), false))
        .on('end', (ev: { y: number }) => ui.handlers.onTarget?.(toValue(ev.y), true)),
    );
  }
  select(layer(el, 'g', 'target-ticks'))
    .attr('transform', `translate(${ax},0)`)
    .call(axisRight(scale).ticks(4).tickSize(3))
    .attr('font-size', null)
    .attr('font-family', null);
  select(layer(el, 'text', 'target-title'))
    .attr('x', ax)
    .attr('y', top - 4)
    .attr('text-anchor', 'middle')
    .attr('fill', 'currentColor')
    .text(`y${sub(o)} · t${sub(o)}`);
  select(layer(el, 'circle', 'output-y'))
    .attr('cx', ax)
    .attr('cy', f1(scale(Number.isFinite(yVal) ? yVal : 0)))
    .attr('r', 4)
    .attr('fill', ROLE.y)
    .attr('display', Number.isFinite(yVal) ? null : 'none');
  const handle = select(layer(el, 'g', 'target-handle'))
    .attr('tabindex', 0)
    .attr('role', 'slider')
    .attr('aria-label', `target t${sub(o)} (arrow keys change it)`)
    .attr('aria-valuemin', ui.range[0])
    .attr('aria-valuemax', ui.range[1])
    .attr('aria-valuenow', Math.round(tVal * 1000) / 1000)
    .attr('aria-orientation', 'vertical')
    .style('outline', 'none')
    .attr('transform', `translate(${ax},${f1(scale(tVal))})`);
  const hEl = handle.node() as SVGGElement;
  const ring = select(layer(hEl, 'rect', 'focus-ring'))
    .attr('x', -13)
    .attr('y', -8)
    .attr('width', 26)
    .attr('height', 16)
    .attr('rx', 3)
    .attr('fill', 'none')
    .attr('stroke', OKABE_ITO.orange)
    .attr('stroke-width', 2);
  if (hEl.ownerDocument.activeElement !== hEl) ring.attr('display', 'none');
  select(layer(hEl, 'path', 'handle-shape'))
    .attr('d', 'M-9,0h18M9,0l7,-5v10z')
    .attr('fill', TARGET_COLOR)
    .attr('stroke', TARGET_COLOR)
    .attr('stroke-width', 2 * sw);
  if (!handle.property('__keysBound')) {
    handle.property('__keysBound', true);
    handle
      .on('focus', () => ring.attr('display', null))
      .on('blur', () => ring.attr('display', 'none'))
      .on('keydown', (ev: KeyboardEvent) => {
        const span = ui.range[1] - ui.range[0];
        const stepBy: Record<string, number> = {
          ArrowUp: 0.02,
          ArrowRight: 0.02,
          ArrowDown: -0.02,
          ArrowLeft: -0.02,
          PageUp: 0.1,
          PageDown: -0.1,
        };
        let v: number | null = null;
        if (ev.key in stepBy) v = ui.value + stepBy[ev.key] * span * (ev.shiftKey ? 5 : 1);
        else if (ev.key === 'Home') v = ui.range[0];
        else if (ev.key === 'End') v = ui.range[1];
        if (v === null) return;
        ev.preventDefault();
        v = Math.max(ui.range[0], Math.min(ui.range[1], Math.round(v * 1000) / 1000));
        ui.value = v;
        ui.handlers.onTarget?.(v, true);
      });
  }
}

/** Sends `send(value)` at most every `interval` ms (the latest value wins; final ones at once). */
export function throttledSender(
  interval: number,
  send: (value: number) => void,
): { push(value: number, final: boolean): void; dispose(): void } {
  let last = -Infinity;
  let lastSent: number | null = null;
  let pending: number | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    if (pending === null) return;
    const v = pending;
    pending = null;
    if (v === lastSent) return;
    last = Date.now();
    lastSent = v;
    send(v);
  };
  return {
    push(value, final) {
      pending = value;
      if (final) {
        if (timer) clearTimeout(timer);
        flush();
        return;
      }
      const wait = last + interval - Date.now();
      if (wait <= 0) flush();
      else if (!timer) timer = setTimeout(flush, wait);
    },
    dispose() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/**
 * Keyed, throttled requests: `want(key, make)` starts `make()` when `key` differs from the last
 * request, with at most one request in flight and at least `interval` ms between starts; the
 * latest wanted key wins. A request unanswered after `timeout` ms no longer blocks the next.
 */
export function keyedRequests<T>(
  interval: number,
  onResult: (value: T, key: string) => void,
  timeout = 4000,
): { want(key: string, make: () => Promise<T>): void; dispose(): void } {
  let lastKey: string | null = null;
  let wanted: { key: string; make: () => Promise<T> } | null = null;
  let inFlight = 0;
  let issued = 0;
  let lastStart = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;
  const pump = () => {
    if (disposed || !wanted || wanted.key === lastKey || inFlight) return;
    const wait = lastStart + interval - Date.now();
    if (wait > 0) {
      if (!timer)
        timer = setTimeout(() => {
          timer = null;
          pump();
        }, wait);
      return;
    }
    const { key, make } = wanted;
    lastKey = key;
    lastStart = Date.now();
    const token = ++issued;
    inFlight = token;
    const release = () => {
      if (inFlight === token) {
        inFlight = 0;
        pump();
      }
    };
    const guard = setTimeout(release, timeout);
    make().then(
      (v) => {
        clearTimeout(guard);
        if (!disposed) onResult(v, key);
        release();
      },
      () => {
        clearTimeout(guard);
        release();
      },
    );
  };
  return {
    want(key, make) {
      wanted = { key, make };
      pump();
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

const selectStyle = { font: 'inherit', fontSize: 12 } as const;

/** The phase-portrait view. */
export function PhaseView() {
  const n = useStore(simView, (s) => s.latest?.n ?? 0);
  const k = useStore(simView, (s) => s.latest?.k ?? 0);
  const classification = useStore(simView, (s) => s.task?.classification ?? false);
  const [units, setUnits] = useState<[number, number]>([0, 1]);
  const [outputSel, setOutput] = useState(0);
  const hostRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const i = units[0] < n ? units[0] : 0;
  const j = units[1] < n && units[1] !== i ? units[1] : i === 1 ? 0 : 1;
  const output = outputSel < k ? outputSel : 0;
  const editableTarget = !classification;

  useEffect(() => {
    const host = hostRef.current;
    const svg = svgRef.current;
    if (!host || !svg) return;
    let width = 0;
    let height = 0;
    let field: FlowField | null = null;
    let range: [number, number] | null = null;
    let tRange: [number, number] | null = null;
    let generation = simView.getState().generation;
    let drag: { value: number; since: number } | null = null;
    let frame = 0;
    const requests = keyedRequests<FlowField>(FLOW_INTERVAL, (f) => {
      field = f;
      schedule();
    });
    const sender = throttledSender(TARGET_EDIT_INTERVAL, (value) =>
      engine().send({ type: 'edit', target: 'target', index: output, value }),
    );
    const handlers: PhaseHandlers = {
      onTarget: (value, final) => {
        drag = { value, since: Date.now() };
        sender.push(value, final);
        schedule();
      },
    };
    const draw = () => {
      frame = 0;
      const sim = simView.getState();
      if (sim.generation !== generation) {
        generation = sim.generation;
        field = null;
        range = null;
        tRange = null;
      }
      const s = sim.latest;
      if (!s || width <= 0 || height <= 0) {
        drawPhase(svg, blankModel(sim), width, height);
        return;
      }
      const sliceable = s.n >= 2 && i < s.n && j < s.n;
      if (sliceable) range = phaseRange(sim, i, j, range);
      tRange = targetRange(sim, output, tRange);
      // The engine has taken the dragged target (or stopped answering): show its value again.
      if (
        drag &&
        (Math.abs(s.target[output] - drag.value) < 1e-4 || Date.now() - drag.since > 1500)
      )
        drag = null;
      const layout = drawPhase(
        svg,
        {
          sim,
          field,
          i,
          j,
          range: range ?? [-1, 1],
          output,
          targetRange: tRange,
          dragValue: drag?.value ?? null,
          editableTarget,
        },
        width,
        height,
        handlers,
      );
      // Ask for the field that belongs to what is drawn (throttled; the grid follows the size).
      if (sliceable && range && layout) {
        const request = { i, j, range, size: flowSize(layout.side) };
        // While training the weights change hundreds of times a second: a field every 2 s is enough.
        const training = sim.latest?.phase === 'training';
        const key = training
          ? `training|${Math.floor(performance.now() / TRAINING_REFRESH_MS)}`
          : `${flowKey(sim, i, j, range)}|${request.size}`;
        requests.want(key, () => engine().flowField(request));
      }
    };
    const schedule = () => {
      if (!frame) frame = requestDraw(draw);
    };
    const measure = () => {
      const r = host.getBoundingClientRect();
      width = Math.floor(r.width);
      height = Math.floor(r.height);
      schedule();
    };
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(measure) : null;
    ro?.observe(host);
    window.addEventListener('resize', measure);
    const lecture = typeof MutationObserver === 'function' ? new MutationObserver(schedule) : null;
    lecture?.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    measure();
    // The portrait's redraw is dear (arrows, contours): at most 15 per second from snapshots.
    const onSnapshot = throttle(schedule, 66);
    const unsubscribe = simView.subscribe(onSnapshot.call);
    return () => {
      unsubscribe();
      onSnapshot.cancel();
      ro?.disconnect();
      lecture?.disconnect();
      window.removeEventListener('resize', measure);
      if (frame) cancelDraw(frame);
      requests.dispose();
      sender.dispose();
    };
  }, [i, j, output, editableTarget]);

  const options = Array.from({ length: n }, (_, u) => u);
  return (
    <section
      data-testid="view-phase"
      aria-label="Phase portrait"
      className="view-section"
      style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0 }}
    >
      {(n > 2 || (editableTarget && k > 1)) && (
        <div className="view-toolbar" style={{ display: 'flex', gap: 8, fontSize: 12 }}>
          {n > 2 && (
            <>
              <label>
                horizontal{' '}
                <select
                  style={selectStyle}
                  value={i}
                  onChange={(e) => setUnits([Number(e.target.value), j])}
                >
                  {options.map((u) => (
                    <option key={u} value={u} disabled={u === j}>
                      φ{sub(u)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                vertical{' '}
                <select
                  style={selectStyle}
                  value={j}
                  onChange={(e) => setUnits([i, Number(e.target.value)])}
                >
                  {options.map((u) => (
                    <option key={u} value={u} disabled={u === i}>
                      φ{sub(u)}
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
          {editableTarget && k > 1 && (
            <label>
              target{' '}
              <select
                style={selectStyle}
                value={output}
                onChange={(e) => setOutput(Number(e.target.value))}
              >
                {Array.from({ length: k }, (_, o) => (
                  <option key={o} value={o}>
                    t{sub(o)}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
      )}
      <div
        ref={hostRef}
        className="view-body"
        style={{ flex: 1, minHeight: 0, position: 'relative', overflow: 'hidden' }}
      >
        <svg
          ref={svgRef}
          role="group"
          aria-label="Flow field of the free dynamics with nullclines, target set, free equilibrium, trajectory and control"
          style={{ position: 'absolute', inset: 0 }}
        />
      </div>
    </section>
  );
}

function blankModel(sim: SimView): PhaseModel {
  return {
    sim: { ...sim, latest: null },
    field: null,
    i: 0,
    j: 1,
    range: [-1, 1],
    output: 0,
    targetRange: [-1, 1],
    dragValue: null,
    editableTarget: false,
  };
}
