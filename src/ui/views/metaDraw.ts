/**
 * The meta-learning chapter's drawings (data in, SVG out).
 *
 * drawMetaFit: one task of the sinusoid family — its true curve (dashed), its K support points,
 * and the network's prediction at the slow weights ω (before adaptation), at the free
 * equilibrium w* (adapted to the support points) and at the controlled equilibrium (driven by
 * the least control ψ* to fit the query set too).
 *
 * drawMetaCurves: two panels against meta-updates — LCP's mean ‖ψ*‖ per update (log scale) and
 * the meta-test query MSE after adaptation of LCP, the implicit gradient and first order.
 */
import { line, scaleLinear, scaleLog, type ScaleContinuousNumeric } from 'd3';
import type { AnalysisSlot } from '../../state/analyses';
import type { MetaMethod } from '../../engine/meta/config';
import type { MetaView } from '../../worker/protocol';
import { OKABE_ITO, strokeScale } from '../theme';
import { drawLegendRow } from './legendRow';
import {
  drawAxis,
  emptyMessage,
  fmt,
  fontSize,
  INK,
  label,
  layer,
  paddedExtent,
  setAttrs,
  sizeSvg,
  textWidth,
  type Size,
} from './common';

/** What both views draw: the run's slot in the store (its request id aside). */
export type MetaModel = Omit<AnalysisSlot<MetaView>, 'id'>;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

type Scale = ScaleContinuousNumeric<number, number>;

/** Each rule's colour and dash (Okabe–Ito), the same in every view. */
export const META_STYLE: Record<MetaMethod, { colour: string; dash: string; label: string }> = {
  lcp: { colour: OKABE_ITO.blue, dash: '', label: 'LCP (λψ*)' },
  imaml: { colour: INK, dash: '6 3', label: 'implicit gradient' },
  fo: { colour: OKABE_ITO.orange, dash: '2 2', label: 'first order' },
};

/** The fit view's curves: key, legend text, colour, dash. */
const FIT_CURVES = [
  { key: 'truth', text: 'true curve', colour: INK, dash: '5 4', width: 1.5 },
  { key: 'omega', text: 'at ω (before)', colour: OKABE_ITO.green, dash: '2 3', width: 1.8 },
  { key: 'adapted', text: 'free w*', colour: OKABE_ITO.blue, dash: '', width: 2.2 },
  { key: 'controlled', text: 'controlled', colour: OKABE_ITO.vermillion, dash: '', width: 2.2 },
] as const;

type FitKey = (typeof FIT_CURVES)[number]['key'];

/** The words in place of the plots when there is nothing to draw yet. */
export function metaEmptyText(m: MetaModel): string {
  if (m.result?.demo) return '';
  if (m.status === 'running') return 'Meta-learning… (the first task is being adapted)';
  if (m.status === 'failed') return `No meta-learning: ${m.message ?? 'it failed'}`;
  return 'Train (in this view) to meta-learn ω: LCP, the implicit gradient and first order side by side';
}

/** Draw the task view: support points, the true curve and the three predictions. */
export function drawMetaFit(svg: SVGSVGElement, model: MetaModel, size: Size): Box | null {
  sizeSvg(svg, size);
  if (emptyMessage(svg, metaEmptyText(model), size)) return null;
  const view = model.result!;
  const demo = view.demo!;
  const fs = fontSize();
  const sw = strokeScale();
  const { width, height } = size;
  const g = layer(svg, 'g', 'meta-fit');
  const legendBottom = drawLegendRow(
    g,
    [
      ...FIT_CURVES.map((c) => ({ key: c.key, text: c.text, colour: c.colour, dash: c.dash })),
      {
        key: 'support',
        text: `${demo.supportX.length} support points`,
        colour: INK,
        dash: '',
        dot: true,
      },
    ],
    width,
    fs,
  );
  const left = Math.ceil(textWidth(4, fs)) + 8;
  const top = legendBottom + Math.ceil(1.4 * fs);
  const bottom = Math.ceil(3.4 * fs);
  const box: Box = {
    x: left,
    y: top,
    width: Math.max(20, width - left - 8),
    height: Math.max(20, height - top - bottom),
  };
  const x = scaleLinear()
    .domain([demo.x[0], demo.x[demo.x.length - 1]])
    .range([box.x, box.x + box.width]);
  const [lo, hi] = paddedExtent([
    ...demo.truth,
    ...demo.supportY,
    ...demo.adapted,
    ...demo.controlled,
    ...demo.omega,
  ]);
  const y = scaleLinear()
    .domain([lo, hi])
    .range([box.y + box.height, box.y]);
  const ax = layer(g, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${box.y + box.height})`);
  drawAxis(ax, x, 'bottom', { fs });
  const ay = layer(g, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${box.x},0)`);
  drawAxis(ay, y, 'left', { fs });
  const curves = layer(g, 'g', 'curves');
  const path = line<number>()
    .x((_, i) => x(demo.x[i]))
    .y((v) => y(v));
  for (const c of FIT_CURVES) {
    const p = layer(curves, 'path', `curve curve-${c.key}`);
    setAttrs(p, {
      d: path(demo[c.key as FitKey]) ?? '',
      fill: 'none',
      stroke: c.colour,
      'stroke-width': c.width * sw,
      'stroke-dasharray': c.dash || null,
    });
  }
  const dots = layer(g, 'g', 'support');
  while (dots.children.length > demo.supportX.length) dots.lastChild!.remove();
  demo.supportX.forEach((sx, i) => {
    const c =
      (dots.children[i] as SVGCircleElement | undefined) ?? layer(dots, 'circle', `point p${i}`);
    setAttrs(c, {
      cx: x(sx),
      cy: y(demo.supportY[i]),
      r: 3.5 * sw,
      fill: INK,
      stroke: 'var(--bg, #fff)',
      'stroke-width': sw,
    });
  });
  // Under the x axis (the input x): this task and its numbers, shorter where they do not fit.
  const long = `input x; A = ${fmt(demo.amplitude)}, phase ${fmt(demo.phase)}: query MSE at w* ${fmt(demo.queryLoss)}, ‖ψ*‖ ${fmt(demo.psiNorm)}`;
  const short = `x; query MSE at w* ${fmt(demo.queryLoss)}, ‖ψ*‖ ${fmt(demo.psiNorm)}`;
  const note = textWidth(long.length, fs) * 0.9 <= width - 8 ? long : short;
  label(g, 'fit-note', note, 4, height - 0.5 * fs, { fill: INK, 'fill-opacity': 0.8 });
  return box;
}

/** Draw the curves view: ‖ψ*‖ over meta-training and the three rules' meta-test loss. */
export function drawMetaCurves(svg: SVGSVGElement, model: MetaModel, size: Size): Box[] | null {
  sizeSvg(svg, size);
  if (emptyMessage(svg, metaEmptyText(model), size)) return null;
  const view = model.result!;
  const fs = fontSize();
  const { width, height } = size;
  const g = layer(svg, 'g', 'meta-curves');
  const legendBottom = drawLegendRow(
    g,
    view.series.map((s) => ({
      key: s.method,
      ...META_STYLE[s.method],
      text: META_STYLE[s.method].label,
    })),
    width,
    fs,
  );
  const cols = width >= 420 ? 2 : 1;
  const rows = cols === 2 ? 1 : 2;
  const left = Math.ceil(textWidth(5, fs)) + 6;
  const gapX = Math.ceil(1.5 * fs);
  const gapY = Math.ceil(3.4 * fs);
  const top = legendBottom + Math.ceil(2 * fs);
  const bottom = Math.ceil(1.8 * fs);
  const cellW = (width - left - (cols - 1) * (gapX + left) - 8) / cols;
  const cellH = Math.max(30, (height - top - bottom - (rows - 1) * gapY) / rows);
  const boxes: Box[] = [0, 1].map((q) => ({
    x: left + (q % cols) * (cellW + gapX + left),
    y: top + Math.floor(q / cols) * (cellH + gapY),
    width: Math.max(20, cellW),
    height: cellH,
  }));
  // The axis reaches every point drawn: ‖ψ*‖ is recorded per LCP update, which can run ahead
  // of the count of finished meta-updates while the rules train interleaved.
  const maxUpdate = Math.max(
    1,
    view.updates,
    view.psi.length,
    ...view.series.flatMap((s) => s.test.map((t) => t.updates)),
  );
  // ‖ψ*‖ per LCP update.
  const psi = view.psi.map((v, i) => [i + 1, v] as [number, number]).filter(([, v]) => v > 0);
  panel(
    layer(g, 'g', 'panel panel-psi'),
    '‖ψ*‖ (LCP, log)',
    boxes[0],
    maxUpdate,
    [{ key: 'lcp', points: psi, colour: META_STYLE.lcp.colour, dash: '', markers: false }],
    true,
    fs,
  );
  panel(
    layer(g, 'g', 'panel panel-test'),
    'meta-test MSE',
    boxes[1],
    maxUpdate,
    view.series.map((s) => ({
      key: s.method,
      points: s.test.map((t) => [t.updates, t.loss] as [number, number]),
      colour: META_STYLE[s.method].colour,
      dash: META_STYLE[s.method].dash,
      markers: true,
    })),
    false,
    fs,
  );
  return boxes;
}

function panel(
  pg: SVGGElement,
  title: string,
  box: Box,
  maxUpdate: number,
  series: {
    key: string;
    points: [number, number][];
    colour: string;
    dash: string;
    markers: boolean;
  }[],
  log: boolean,
  fs: number,
): void {
  const sw = strokeScale();
  const t = label(pg, 'panel-title', title, box.x, box.y - 0.6 * fs);
  t.setAttribute('fill', INK);
  t.setAttribute('font-weight', '600');
  const x = scaleLinear()
    .domain([0, maxUpdate])
    .range([box.x, box.x + box.width]);
  const ax = layer(pg, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${box.y + box.height})`);
  drawAxis(ax, x, 'bottom', { fs, bounds: [box.x - 2 * fs, box.x + box.width + 2 * fs] });
  const values = series
    .flatMap((s) => s.points.map((p) => p[1]))
    .filter((v) => Number.isFinite(v) && (!log || v > 0));
  const note = layer(pg, 'text', 'panel-note');
  note.textContent = '';
  if (!values.length) {
    for (const el of Array.from(pg.querySelectorAll('.series, .axis-y'))) el.remove();
    note.textContent = 'no meta-update yet';
    setAttrs(note, {
      x: box.x + box.width / 2,
      y: box.y + box.height / 2,
      'text-anchor': 'middle',
      'font-size': fs,
      fill: INK,
      'fill-opacity': 0.7,
    });
    return;
  }
  let y: Scale;
  if (log) {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    y = scaleLog()
      .domain([lo / 1.3, hi * 1.3])
      .range([box.y + box.height, box.y]);
  } else {
    const [lo, hi] = paddedExtent([0, ...values]);
    y = scaleLinear()
      .domain([Math.max(0, lo), hi])
      .range([box.y + box.height, box.y]);
  }
  const ay = layer(pg, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${box.x},0)`);
  drawAxis(ay, y, 'left', { fs });
  const path = line<[number, number]>()
    .x((p) => x(p[0]))
    .y((p) => y(p[1]));
  for (const s of series) {
    const sg = layer(pg, 'g', `series series-${s.key}`);
    const p = layer(sg, 'path', 'line');
    setAttrs(p, {
      d: path(s.points) ?? '',
      fill: 'none',
      stroke: s.colour,
      'stroke-width': 2 * sw,
      'stroke-dasharray': s.dash || null,
    });
    const marks = layer(sg, 'g', 'markers');
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    if (s.markers)
      for (const [u, v] of s.points) {
        const c = layer(marks, 'circle', `m${u}`);
        setAttrs(c, { cx: x(u), cy: y(v), r: 2.5 * sw, fill: s.colour });
      }
    const last = s.points[s.points.length - 1];
    const value = layer(sg, 'text', 'last-value');
    value.textContent = last ? fmt(last[1]) : '';
  }
}
