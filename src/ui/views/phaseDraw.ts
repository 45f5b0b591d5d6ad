/**
 * The phase portrait's drawing (DESIGN.md §4, the paper's Figure 1, live): data in, SVG out. The
 * free dynamics' flow field on the plane (φ_i, φ_j) — for more than two units a 2-D slice
 * through the current state — with both nullclines, the target set, the free equilibrium, the
 * trajectory, the current state and the control; beside it a small y/t axis whose target handle
 * can be dragged (regression tasks). The flow field comes from the worker (never computed here).
 */
import {
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
import type { Readout } from '../../engine/kinds';
import type { SimView } from '../../state/simView';
import type { FlowField } from '../../worker/protocol';
import { OKABE_ITO, ROLE, strokeScale } from '../theme';
import { drawAxis, fmt, fontSize, halo, layer, squareAxes, textWidth } from './common';
import {
  contourLines,
  sub,
  targetLevel,
  trajectoryRuns,
  type LeastControlOverlay,
} from './phaseModel';

/** The target (ROLE.target, black) in the text colour, so that lecture mode's black page shows it. */
const TARGET_COLOR = 'currentColor';
/** Flow arrows are drawn about this far apart (px), on a subset of the grid. */
const ARROW_SPACING = 24;

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
  /** How outputs are read (config.readout): a separate population y = Dρ(φ) + d, or the last
   *  k hidden units (y ≡ φ_y). Decides what the target set and the control arrow mean. */
  readout?: Readout;
  /** The least-control overlay (phaseModel's leastControlOverlay), drawn when present. */
  leastControl?: LeastControlOverlay | null;
  /** Is the overlay asked for (the legend's toggle shows it)? Undefined: no toggle. */
  leastControlOn?: boolean;
}

export interface PhaseHandlers {
  /** The user moved the target handle to `value`; `final` at the end of a drag or key press. */
  onTarget?: (value: number, final: boolean) => void;
  /** The user moved the least-control probe to coordinate `s` along the target line. */
  onProbe?: (s: number, final: boolean) => void;
  /** The user clicked the legend's least-control toggle. */
  onToggleLeastControl?: () => void;
}

export interface PhaseLayout {
  x: ScaleLinear<number, number>;
  y: ScaleLinear<number, number>;
  side: number;
  target: ScaleLinear<number, number> | null;
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

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
  key: string;
  /** One or two lines. */
  lines: string[];
  color: string;
  kind: 'line' | 'dash' | 'dot' | 'ring' | 'band' | 'arrow' | 'text' | 'toggle';
  /** A toggle's state. */
  on?: boolean;
  dash?: string;
  /** The entry's definition (tooltip). */
  title?: string;
}

interface PhaseUi {
  target: ScaleLinear<number, number> | null;
  /** The least-control probe: the scale of its free axis, that axis and its coordinate now. */
  probe: { scale: ScaleLinear<number, number>; axis: 'x' | 'y'; s: number; span: number } | null;
  range: [number, number];
  value: number;
  handlers: PhaseHandlers;
  clipId: string;
}
const uiState = new WeakMap<SVGSVGElement, PhaseUi>();
let clipCounter = 0;

/** Margins around the square plot at type size fs (room for tick labels and axis names). */
const margins = (fs: number) => ({
  top: Math.round(1.5 * fs),
  right: Math.round(fs),
  bottom: Math.round(2.7 * fs),
  left: Math.round(3.4 * fs),
});
/** Characters per legend line at most (longer labels wrap to a second line). */
const LEGEND_CHARS = 13;
/** Lines of the legend: seven entries, the target set's two lines long. */
const FULL_LINES = [1, 1, 2, 1, 1, 1, 1];
/** Characters of a compact legend's labels at most (symbols only; names in the tooltips). */
const COMPACT_CHARS = 8;

/** Short legend labels (compact legend) by entry. */
const COMPACT: Record<string, (item: LegendItem, readout: Readout) => string> = {
  target: (item, readout) =>
    item.lines[0] === 'closest to t'
      ? '× ≈ t'
      : readout === 'units'
        ? item.lines[item.lines.length - 1]
        : 'Dρ+d = t',
  free: () => 'φ⁰',
  state: (item) => (item.lines[0].startsWith('controlled') ? 'φ*' : 'φ'),
  psi: (_, readout) => (readout === 'units' ? 'ψ*' : 'ψ'),
  levels: () => '½‖ψ‖²',
  'psi-lc': () => 'ψ*, ψ',
};

/** Width of the draggable target axis: the handle and tick labels up to "−1.5". */
const targetAxisWidth = (fs: number) => Math.round(fs + 16 + textWidth(4, fs));

/**
 * Where the plot, the target axis and the legend go in width × height: the legend beside the
 * plot or in rows under it, the target axis shown when there is room for it (the target stays
 * editable in the weights view), whichever leaves the largest square plot (an arrangement
 * without the target axis must win by a quarter).
 */
export function phaseLayout(
  width: number,
  height: number,
  fs: number,
  canTarget: boolean,
  slice: boolean,
  /** Legend entries of one line beyond the usual seven (an overlay's). */
  extraEntries = 0,
): {
  showTarget: boolean;
  legendRight: boolean;
  side: number;
  itemW: number;
  rowH: number;
  perRow: number;
  /** Symbols only (one short line each), the full names in the entries' tooltips. */
  compact: boolean;
} {
  const M = margins(fs);
  const fullRowH = Math.round(fs * 1.25);
  const innerH = height - M.top - M.bottom;
  let best = {
    showTarget: false,
    legendRight: true,
    side: -Infinity,
    perRow: 1,
    score: -Infinity,
    compact: false,
    itemW: 0,
    rowH: fullRowH,
  };
  for (const compact of [false, true])
    for (const showTarget of canTarget ? [true, false] : [false]) {
      const lines = [...FULL_LINES, ...Array.from({ length: extraEntries }, () => 1)];
      const LEGEND_LINES = compact ? lines.map(() => 1) : lines;
      // A compact legend is set tighter too.
      const rowH = compact ? Math.round(fs * 1.12) : fullRowH;
      const itemGap = compact ? 0 : 2;
      const itemW = Math.ceil(textWidth(compact ? COMPACT_CHARS : LEGEND_CHARS, fs) * 0.9) + 22;
      const innerW = width - M.left - M.right - (showTarget ? targetAxisWidth(fs) : 0);
      const rightLines = LEGEND_LINES.reduce((a, b) => a + b, 0) + (slice ? 2 : 0);
      // Beside the plot the legend runs from the top of the view: it must fit in its height.
      const legendH = rightLines * rowH + itemGap * LEGEND_LINES.length;
      const right = legendH <= height - 8 ? Math.min(innerW - itemW - 8, innerH) : -Infinity;
      const perRow = Math.max(1, Math.floor((width - 8) / itemW));
      let belowLines = slice ? 1 : 0;
      for (let q = 0; q < LEGEND_LINES.length; q += perRow)
        belowLines += Math.max(...LEGEND_LINES.slice(q, q + perRow));
      const below = Math.min(innerW, innerH - 6 - belowLines * rowH);
      for (const [legendRight, side] of [
        [true, right],
        [false, below],
      ] as const) {
        const score =
          side * (showTarget ? 1 : 0.8) * (legendRight ? 1 : 0.95) * (compact ? 0.85 : 1);
        if (score > best.score)
          best = {
            showTarget,
            legendRight,
            side,
            perRow: legendRight ? 1 : perRow,
            score,
            compact,
            itemW,
            rowH,
          };
      }
    }
  return {
    showTarget: best.showTarget,
    legendRight: best.legendRight,
    side: Math.max(20, Math.floor(best.side)),
    itemW: best.itemW,
    rowH: best.rowH,
    perRow: best.perRow,
    compact: best.compact,
  };
}

/** The legend's text for the target set and the control, by readout (what they really are). */
export function phaseLabels(
  readout: Readout,
  n: number,
  k: number,
): { target: string[]; targetTitle: string; control: string[]; controlTitle: string } {
  if (readout === 'units') {
    const outs = Array.from({ length: k }, (_, o) => `φ${sub(n - k + o)}`).join(', ');
    return {
      target: ['target set', `${k > 1 ? `(${outs})` : outs} = t`],
      targetTitle: `Target set: the states whose output units (${outs}) equal the target t. The controlled equilibrium lands on it as α → 0.`,
      control: ['ψ*: φ⁰ → φ*'],
      controlTitle:
        'The least control ψ* moves the network from its free equilibrium φ⁰ to the controlled one φ*, on the target set.',
    };
  }
  return {
    target: ['readout alone', 'reaches t'],
    targetTitle:
      'The states where the readout alone reaches the target: Dρ(φ) + d = t. The output units also receive their own control u, so the controlled state need not lie on this set.',
    control: ['control ψ'],
    controlTitle:
      'The control ψ on the hidden units (drawn from the current state); the output units get u, shown beside it.',
  };
}

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
      probe: null,
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
    .attr('font-size', fontSize())
    .attr('font-family', null);
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
  const fs = fontSize();
  const MARGIN = margins(fs);
  const readout = model.readout ?? 'separate';
  const labels = phaseLabels(readout, s.n, s.k);
  const canTarget = model.editableTarget && s.k > 0 && model.output < s.k;
  const lc = model.leastControl ?? null;
  const { showTarget, legendRight, side, itemW, rowH, perRow, compact } = phaseLayout(
    width,
    height,
    fs,
    canTarget,
    s.n > 2,
    lc || model.leastControlOn !== undefined ? 1 : 0,
  );
  const tw = showTarget ? targetAxisWidth(fs) : 0;
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
  drawLeastControl(layer(clippedEl, 'g', 'least-control'), lc, [i, j], x, y, sw, fs, ui);

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
    .attr('r', 5 * Math.sqrt(sw))
    .style('fill', 'var(--bg, #fff)')
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
  const hasFree = !!s.freePhi && Number.isFinite(s.freePhi[i]) && Number.isFinite(s.freePhi[j]);
  // Output units inside the network: the least control is the move from the free to the
  // controlled equilibrium. A separate readout: ψ as a vector at the current state.
  // Only once settled: before that the state is on its way, not at φ*.
  const fromFree = readout === 'units' && hasFree && s.control && s.metrics.settled;
  const arrow: [number, number, number, number] | null = fromFree
    ? [x(s.freePhi![i]), y(s.freePhi![j]), px, py]
    : s.control && psiLen > 1e-6 && Number.isFinite(psiLen)
      ? [px, py, x(s.phi[i] + s.psi[i]), y(s.phi[j] + s.psi[j])]
      : null;
  // With the least-control overlay, ψ is drawn as a vector at φ* and at the dragged point: the
  // move φ⁰ → φ* would be a third arrow meaning something else.
  const showPsi = !lc?.star && !!arrow && Math.hypot(arrow[2] - arrow[0], arrow[3] - arrow[1]) > 1;
  select(layer(clippedEl, 'path', 'psi-arrow'))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 2.2 * sw)
    .attr('stroke-linecap', 'round')
    .attr('d', showPsi && arrow ? arrowPath(...arrow, 7 * Math.sqrt(sw)) : '');
  const psiLabel = select(layer(clippedEl, 'text', 'psi-label'))
    .attr('x', f1((arrow ? (arrow[0] + arrow[2]) / 2 : px) + 5))
    .attr('y', f1((arrow ? (arrow[1] + arrow[3]) / 2 : py) - 5))
    .attr('fill', ROLE.psi)
    .attr('font-weight', 600)
    .attr('display', showPsi ? null : 'none')
    .text(s.metrics.settled ? 'ψ*' : 'ψ');
  const psiNode = psiLabel.node();
  if (psiNode) halo(psiNode);
  select(layer(clippedEl, 'circle', 'state'))
    .attr('cx', f1(px))
    .attr('cy', f1(py))
    .attr('r', 4.5 * Math.sqrt(sw))
    .attr('fill', ROLE.phi)
    .style('stroke', 'var(--bg, #fff)')
    .attr('stroke-width', 1.2);

  // Axes.
  squareAxes(plotEl, x, y, {
    left: MARGIN.left,
    top: MARGIN.top,
    side,
    fs,
    xLabel: `φ${sub(i)}`,
    yLabel: `φ${sub(j)}`,
    yLabelY: MARGIN.top - Math.round(fs * 0.35),
  });

  // Target axis with its draggable handle.
  let target: ScaleLinear<number, number> | null = null;
  const tg = select(layer(plotEl, 'g', 'target-axis')).attr('display', showTarget ? null : 'none');
  if (showTarget) {
    const o = model.output;
    const ax = MARGIN.left + side + MARGIN.right + 10;
    target = scaleLinear()
      .domain(model.targetRange)
      .range([MARGIN.top + side, MARGIN.top])
      .clamp(true);
    const tVal = model.dragValue ?? s.target[o];
    ui.target = target;
    ui.range = model.targetRange;
    ui.value = tVal;
    drawTargetAxis(tg, ui, ax, target, tVal, s.y[o], o, sw, fs);
  } else ui.target = null;

  // Legend: what each mark is; for a separate readout, u beside ψ.
  const items: LegendItem[] = [
    { key: 'nc-i', lines: [`φ̇${sub(i)} = 0`], color: OKABE_ITO.blue, kind: 'dash', dash: '7 3' },
    { key: 'nc-j', lines: [`φ̇${sub(j)} = 0`], color: OKABE_ITO.green, kind: 'dash', dash: '2 2' },
    {
      key: 'target',
      lines: hasTargetSet || !field ? labels.target : ['closest to t'],
      color: TARGET_COLOR,
      kind: 'band',
      title:
        hasTargetSet || !field
          ? labels.targetTitle
          : 'The target set misses this slice: × marks where the output comes closest to t.',
    },
    { key: 'free', lines: ['free eq. φ⁰'], color: ROLE.free, kind: 'ring' },
    {
      key: 'state',
      lines: [s.control && s.metrics.settled ? 'controlled φ*' : 'state φ'],
      color: ROLE.phi,
      kind: 'dot',
    },
  ];
  if (showPsi)
    items.push({
      key: 'psi',
      lines: labels.control,
      color: ROLE.psi,
      kind: 'arrow',
      title: labels.controlTitle,
    });
  if (lc?.star)
    items.push({
      key: 'psi-lc',
      lines: ['ψ* at φ*, ψ at ○'],
      color: ROLE.psi,
      kind: 'arrow',
      title:
        'ψ(φ) drawn at φ* (solid) and at the dragged point ○ (dashed): the control that holds each state still against the free flow, ψ(φ) = φ − Wρ(φ) − Ux − b (its components in this plane).',
    });
  if (lc || model.leastControlOn !== undefined)
    items.push({
      key: 'levels',
      lines: [readout === 'units' ? '½‖ψ(φ)‖² levels' : '½‖ψ(φ)‖² (hidden)'],
      color: ROLE.psi,
      kind: 'toggle',
      on: !!lc,
      title:
        (lc ? '(click to hide) ' : '(click to show) ') +
        (readout === 'units'
          ? 'Level curves of ½‖ψ(φ)‖²: every state φ is an equilibrium under exactly one control, ψ(φ) = φ − Wρ(φ) − Ux − b. The least control ψ* = ψ(φ*) sits where the lowest level curve touches the target line (solid); drag the hollow point along the line to see the control any other point would need.'
          : 'Level curves of ½‖ψ(φ)‖², ψ(φ) = φ − Wρ(φ) − Ux − b: the control on the hidden units that would hold φ still. With a separate readout the output units get their own control u, so the least control is not the lowest point of these curves on the target set; set readout to "units" for the paper’s Figure 1.') +
        (lc?.source === 'slice' && s.n > 2
          ? ' In this slice the other units are held at their current φ.'
          : ''),
    });
  if (readout === 'separate' && s.control && s.k > 0) {
    const uText = s.k === 1 ? `u = ${fmt(s.u[0])}` : `‖u‖ = ${fmt(Math.hypot(...Array.from(s.u)))}`;
    items.push({
      key: 'u',
      lines: [uText],
      color: ROLE.u,
      kind: 'text',
      title:
        'The output control u: with a separate readout the output units receive u directly (τ_y ẏ = −y + Dρ(φ) + d + u), so part of the control is spent on y, outside this plane.',
    });
  }
  if (compact)
    for (const item of items) {
      item.title = item.title ?? item.lines.join(' ');
      item.lines = [COMPACT[item.key]?.(item, readout) ?? item.lines[0]];
    }
  const lx = legendRight ? MARGIN.left + side + MARGIN.right + tw + 8 : 8;
  // Row offsets: an entry takes as many lines as its label; a row of entries below the plot
  // takes as many as its tallest.
  const offsets: [number, number][] = [];
  let rowTop = 0;
  for (let q = 0; q < items.length; q += perRow) {
    const row = items.slice(q, q + perRow);
    row.forEach((_, c) => offsets.push([c * itemW, rowTop]));
    rowTop +=
      Math.max(...row.map((d) => d.lines.length)) * rowH + (legendRight && !compact ? 2 : 0);
  }
  // Beside the plot the legend starts level with it, higher when it would run off the bottom.
  const ly = legendRight
    ? Math.max(4, Math.min(MARGIN.top, height - 4 - rowTop)) + rowH / 2
    : MARGIN.top + side + MARGIN.bottom + rowH / 2;
  const legend = select(layer(plotEl, 'g', 'legend'));
  const entries = legend
    .selectAll<SVGGElement, LegendItem>('g.entry')
    .data(items, (d) => d.key)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'entry');
      g.append('path').attr('class', 'swatch');
      g.append('text').attr('fill', 'currentColor');
      g.append('title');
      return g;
    })
    .attr('data-key', (d) => d.key)
    .attr('transform', (_, q) => `translate(${lx + offsets[q][0]},${ly + offsets[q][1]})`);
  // For more than two units the portrait is a slice: say so under the legend.
  const sliceLines =
    s.n > 2
      ? legendRight
        ? ['slice: other units', 'held at current φ']
        : ['slice: other units held at their current φ']
      : [];
  select(layer(plotEl, 'text', 'slice-note'))
    .attr('x', lx)
    .attr('y', ly + rowTop + fs * 0.35)
    .attr('fill', 'currentColor')
    .attr('fill-opacity', 0.75)
    .attr('font-size', fs)
    .selectAll('tspan')
    .data(sliceLines)
    .join('tspan')
    .attr('x', lx)
    .attr('dy', (_, q) => (q ? rowH : 0))
    .text((d) => d);
  entries.select('title').text((d) => d.title ?? d.lines.join(' '));
  entries
    .select('text')
    .attr('x', (d) => (d.kind === 'text' ? 0 : 20))
    .attr('y', fs * 0.35)
    .attr('font-size', fs)
    .attr('fill', (d) => (d.kind === 'text' ? d.color : 'currentColor'))
    .attr('font-weight', (d) => (d.kind === 'text' ? 600 : null))
    .each(function (d) {
      select(this)
        .selectAll('tspan')
        .data(d.lines)
        .join('tspan')
        .attr('x', d.kind === 'text' ? 0 : 20)
        .attr('dy', (_, q) => (q ? rowH : 0))
        .text((t) => t);
    });
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
        case 'text':
          return '';
        case 'toggle':
          return `M1,-6h12v12h-12z${d.on ? 'M4,0l2.5,3l4,-6' : ''}`;
        default:
          return 'M0,0h16';
      }
    })
    .attr('fill', (d) => (d.kind === 'dot' ? d.color : d.kind === 'band' ? d.color : 'none'))
    .attr('fill-opacity', (d) => (d.kind === 'band' ? 0.42 : 1))
    .attr('stroke-linejoin', (d) => (d.kind === 'toggle' ? 'round' : null))
    .style('stroke', (d) => (d.kind === 'dot' ? 'var(--bg, #fff)' : d.color))
    .attr('stroke-width', (d) => (d.kind === 'ring' ? 2.5 : 1.8) * sw)
    .attr('stroke-dasharray', (d) => d.dash ?? null);

  // The least-control entry is the overlay's switch.
  const toggle = entries.filter((d) => d.kind === 'toggle');
  toggle
    .attr('data-testid', 'phase-least-control')
    .attr('role', 'switch')
    .attr('tabindex', 0)
    .attr('aria-checked', (d) => String(!!d.on))
    .attr('aria-label', 'least-control overlay: level curves of ½‖ψ(φ)‖²')
    .style('cursor', 'pointer')
    .style('outline', 'none')
    .on('click', () => ui.handlers.onToggleLeastControl?.())
    .on('keydown', (ev: KeyboardEvent) => {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      ui.handlers.onToggleLeastControl?.();
    });
  toggle.select('text').attr('fill-opacity', (d) => (d.on ? 1 : 0.7));

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
  fs: number,
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
  const ticks = layer(el, 'g', 'target-ticks');
  ticks.setAttribute('transform', `translate(${ax},0)`);
  drawAxis(ticks, scale, 'right', { fs });
  select(layer(el, 'text', 'target-title'))
    .attr('x', ax)
    .attr('y', top - Math.round(fs * 0.35))
    .attr('text-anchor', 'middle')
    .attr('fill', 'currentColor')
    .attr('font-size', fs)
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

/**
 * The least-control overlay (issue 11, chapter 3): level curves of ½‖ψ(φ)‖², the one through φ*
 * (tangent to the target line there) solid, φ* with ψ* = ψ(φ*) as an arrow, and a point the user
 * drags along the line with the control it would need. ψ is drawn as the vector from φ to φ + ψ
 * (its components in this plane): the push that holds φ against the free flow.
 */
function drawLeastControl(
  g: SVGGElement,
  lc: LeastControlOverlay | null,
  /** The plane's units (indices into ψ). */
  axes: [number, number],
  x: ScaleLinear<number, number>,
  y: ScaleLinear<number, number>,
  sw: number,
  fs: number,
  ui: PhaseUi,
): void {
  select(g).attr('display', lc ? null : 'none');
  if (!lc) {
    ui.probe = null;
    return;
  }
  const [lo, hi] = lc.range;
  const g2p = (v: number) => lo + (v / (lc.size - 1)) * (hi - lo);
  const gen = line<[number, number]>()
    .x((p) => x(g2p(p[0])))
    .y((p) => y(g2p(p[1])));
  const path = (level: number) =>
    contourLines(lc.values, lc.size, level)
      .map((pts) => gen(pts) ?? '')
      .join('');
  // An opaque mix of ψ's colour and the background rather than a translucent stroke: blending
  // this long path cost a software-composited page two thirds of its frames while training.
  select(layer(g, 'path', 'lc-levels'))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .style('stroke', `color-mix(in srgb, ${ROLE.psi} 45%, var(--bg, #fff))`)
    .attr('stroke-width', 1 * sw)
    .attr('d', lc.levels.map(path).join(''));
  const star = lc.star;
  select(layer(g, 'path', 'lc-star-level'))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 1.8 * sw)
    .attr('d', star && star.half > 0 ? path(star.half) : '');
  const arrowOf = (p: { phi: [number, number]; psi: Float64Array }, which: [number, number]) => {
    const [a, b] = p.phi;
    return arrowPath(x(a), y(b), x(a + p.psi[which[0]]), y(b + p.psi[which[1]]), 6 * Math.sqrt(sw));
  };
  select(layer(g, 'path', 'lc-star-arrow'))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 2.2 * sw)
    .attr('stroke-linecap', 'round')
    .attr('d', star ? arrowOf(star, axes) : '');
  select(layer(g, 'path', 'lc-star'))
    .attr('d', star ? diamond(x(star.phi[0]), y(star.phi[1]), 6 * Math.sqrt(sw)) : '')
    .attr('fill', ROLE.psi)
    .style('stroke', 'var(--bg, #fff)')
    .attr('stroke-width', 1.2);
  // Short labels at the marks (on the side of the line with more room); the numbers in the
  // plot's top-left corner, where they never run out of the plot.
  const [x0, x1] = x.range();
  const [y1, y0] = y.range();
  const markLabel = (cls: string, text: string, at: [number, number] | null) => {
    const el = select(layer(g, 'text', cls))
      .attr('display', at ? null : 'none')
      .attr('fill', ROLE.psi)
      .attr('font-weight', 600)
      .attr('font-size', fs)
      .text(text);
    if (at) {
      const right = at[0] < (x0 + x1) / 2;
      const below = at[1] < (y0 + y1) / 2;
      el.attr('x', f1(at[0] + (right ? 8 : -8)))
        .attr('y', f1(at[1] + (below ? fs * 1.15 : -fs * 0.45)))
        .attr('text-anchor', right ? 'start' : 'end');
    }
    halo(el.node() as SVGTextElement);
  };
  markLabel('lc-star-label', 'φ*', star ? [x(star.phi[0]), y(star.phi[1])] : null);
  const probe = lc.probe;
  const ratio = star && probe && star.half > 0 ? probe.half / star.half : NaN;
  const lines = [
    star ? `½‖ψ*‖² = ${fmt(star.half)} at φ*` : '',
    probe
      ? `½‖ψ‖² = ${fmt(probe.half)} at ○${Number.isFinite(ratio) && ratio >= 1.005 ? ` (${fmt(ratio, 2)}×)` : ''}`
      : '',
  ].filter(Boolean);
  // In a small plot the numbers would cover it: shortened, or left to the tooltip.
  const room = x1 - x0 - 8;
  const widest = (l: string[]) => Math.max(0, ...l.map((t) => textWidth(t.length, fs) * 0.85));
  let shown = lines;
  if (widest(shown) > room) shown = lines.map((t) => t.replace(/ at (φ\*|○)/, ''));
  if (widest(shown) > room || y1 - y0 < 8 * fs) shown = [];
  const readout = select(layer(g, 'text', 'lc-readout'))
    .attr('x', f1(x0 + 4))
    .attr('y', f1(y0 + fs * 1.05))
    .attr('fill', ROLE.psi)
    .attr('font-size', fs);
  readout
    .selectAll('tspan')
    .data(shown)
    .join('tspan')
    .attr('x', f1(x0 + 4))
    .attr('dy', (_, q) => (q ? fs * 1.2 : 0))
    .text((d) => d);
  halo(readout.node() as SVGTextElement);

  // The probe: a hollow point on the line, dragged along it, with the control it would need.
  const handle = select(layer(g, 'g', 'lc-probe')).attr('display', probe ? null : 'none');
  if (!probe || !lc.line) {
    ui.probe = null;
    return;
  }
  const alongX = lc.line.fixed === 'j';
  ui.probe = { scale: alongX ? x : y, axis: alongX ? 'x' : 'y', s: probe.s, span: hi - lo };
  const px = x(probe.phi[0]);
  const py = y(probe.phi[1]);
  const hEl = handle.node() as SVGGElement;
  select(layer(hEl, 'path', 'lc-probe-arrow'))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 1.6 * sw)
    .attr('stroke-dasharray', '5 2')
    .attr('d', arrowOf(probe, axes));
  select(layer(hEl, 'circle', 'lc-probe-dot'))
    .attr('cx', f1(px))
    .attr('cy', f1(py))
    .attr('r', 6 * Math.sqrt(sw))
    .style('fill', 'var(--bg, #fff)')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 2.2 * sw)
    .style('cursor', alongX ? 'ew-resize' : 'ns-resize');
  handle
    .attr('tabindex', 0)
    .attr('role', 'slider')
    .attr(
      'aria-label',
      'a point on the target line: drag it (or use the arrow keys) to see the control it would need',
    )
    .attr('aria-valuenow', Math.round(probe.s * 1000) / 1000)
    .style('outline', 'none');
  if (!handle.property('__probeBound')) {
    handle.property('__probeBound', true);
    const toS = (ev: { x: number; y: number }) => {
      const p = ui.probe;
      return p ? p.scale.invert(p.axis === 'x' ? ev.x : ev.y) : 0;
    };
    handle.call(
      drag<SVGGElement, unknown>()
        .container(g)
        .on('start drag', (ev: { x: number; y: number }) => ui.handlers.onProbe?.(toS(ev), false))
        .on('end', (ev: { x: number; y: number }) => ui.handlers.onProbe?.(toS(ev), true)),
    );
    handle.on('keydown', (ev: KeyboardEvent) => {
      const p = ui.probe;
      const dir = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[ev.key];
      if (!p || dir === undefined) return;
      ev.preventDefault();
      ui.handlers.onProbe?.(p.s + dir * 0.02 * p.span * (ev.shiftKey ? 5 : 1), true);
    });
  }
}

/** A diamond of half-size h at (cx, cy). */
function diamond(cx: number, cy: number, h: number): string {
  return `M${f1(cx)},${f1(cy - h)}L${f1(cx + h)},${f1(cy)}L${f1(cx)},${f1(cy + h)}L${f1(cx - h)},${f1(cy)}Z`;
}
