/**
 * Compare mode's drawing (data in, SVG out): one learning curve per method, overlaid on four
 * panels against the update count — the batch loss and accuracy at the free equilibrium, the
 * control ½‖ψ*‖² (log scale; the exact-gradient methods have none) and the cosine of each update
 * with −∇L. A method keeps one Okabe–Ito colour and one dash pattern everywhere, named in the
 * legend above the panels. Raw per-batch values are drawn faint, their running mean solid.
 */
import { line, scaleLinear, scaleLog, type ScaleContinuousNumeric } from 'd3';
import type { CompareMethod, ComparePoint, CompareResult } from '../../worker/protocol';
import type { AnalysisSlot } from '../../state/analyses';
import { METHOD_INFO } from '../../engine/compareMethods';
import { OKABE_ITO, strokeScale } from '../theme';
import { drawLegendRow } from './legendRow';
import type { DOMRectLike } from './sweepDraw';
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

/** What the view draws: the comparison's slot in the store (its request id aside). */
export type CompareModel = Omit<AnalysisSlot<CompareResult>, 'id'>;

/** Each method's colour (Okabe–Ito; RBP and BP never appear together) and dash pattern. */
export const METHOD_STYLE: Record<CompareMethod, { colour: string; dash: string }> = {
  'lcp-di': { colour: OKABE_ITO.blue, dash: '' },
  'lcp-kp': { colour: OKABE_ITO.skyBlue, dash: '6 3' },
  'lcp-lf': { colour: OKABE_ITO.green, dash: '2 2' },
  'lcp-lf-learned': { colour: OKABE_ITO.purple, dash: '8 3 2 3' },
  'lcp-ebd': { colour: OKABE_ITO.orange, dash: '4 4' },
  rbp: { colour: INK, dash: '' },
  bp: { colour: INK, dash: '' },
  ep: { colour: OKABE_ITO.vermillion, dash: '1 3' },
};

type PanelKey = 'loss' | 'accuracy' | 'control' | 'cosine';

interface Panel {
  key: PanelKey;
  title: string;
  value: (p: ComparePoint) => number;
  log?: boolean;
  /** The test split's value at an epoch's end (hollow markers), if the panel has one. */
  test?: (p: ComparePoint) => number;
  /** Fixed ends of the value axis, if any. */
  domain?: (values: number[]) => [number, number];
}

const num = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v);

const PANELS: Panel[] = [
  {
    key: 'loss',
    title: 'loss L (batch; ○ test)',
    value: (p) => p.loss,
    test: (p) => num(p.testLoss),
  },
  {
    key: 'accuracy',
    title: 'accuracy (batch; ○ test)',
    value: (p) => num(p.accuracy),
    test: (p) => num(p.testAccuracy),
    domain: (v) => [Math.max(0, Math.min(...v) - 0.05), 1],
  },
  { key: 'control', title: '½‖ψ*‖² (log)', value: (p) => p.control, log: true },
  {
    key: 'cosine',
    title: 'cos(Δθ, −∇L)',
    value: (p) => p.cosine,
    domain: (v) => [Math.min(0, Math.min(...v) - 0.05), 1.02],
  },
];

/** The words in place of the plot when there is nothing to draw yet. */
export function compareEmptyText(m: CompareModel): string {
  if (m.result && m.result.series.some((s) => s.points.length)) return '';
  if (m.status === 'running') return 'Training the methods side by side…';
  if (m.status === 'failed') return `No comparison: ${m.message ?? 'it failed'}`;
  return 'Choose methods and Run: each trains from the same seed, data, order and weights';
}

/** The mean of the last `window` values (NaN ones skipped) at every point. */
export function runningMean(values: number[], window: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    let s = 0;
    let c = 0;
    for (let j = Math.max(0, i - window + 1); j <= i; j++)
      if (Number.isFinite(values[j])) {
        s += values[j];
        c++;
      }
    out.push(c ? s / c : NaN);
  }
  return out;
}

/** A legend entry: the method's label and, when it stopped early, why. */
export function legendText(method: CompareMethod, status: string): string {
  const name = METHOD_INFO[method].label;
  return status === 'diverged' ? `${name} (diverged)` : name;
}

type Scale = ScaleContinuousNumeric<number, number>;

/** Draw the comparison into `svg` at `size`. Returns the panels' boxes (tests), or null. */
export function drawCompare(
  svg: SVGSVGElement,
  model: CompareModel,
  size: Size,
): Record<PanelKey, DOMRectLike> | null {
  sizeSvg(svg, size);
  if (emptyMessage(svg, compareEmptyText(model), size)) return null;
  const result = model.result!;
  const fs = fontSize();
  const { width, height } = size;
  const g = layer(svg, 'g', 'compare');
  const legendBottom = drawLegend(g, result, width, fs);
  // Two columns down to a phone's width: four stacked panels would each be a sliver.
  const cols = width >= 330 ? 2 : 1;
  const rows = Math.ceil(PANELS.length / cols);
  const gapX = Math.ceil(1.5 * fs);
  const gapY = Math.ceil(3.2 * fs);
  const left = Math.ceil(textWidth(5, fs)) + 6;
  const top = legendBottom + Math.ceil(1.8 * fs);
  const bottom = Math.ceil(1.6 * fs);
  const cellW = (width - left - (cols - 1) * (gapX + left) - 6) / cols;
  const cellH = Math.max(30, (height - top - bottom - (rows - 1) * gapY) / rows);
  const maxUpdate = Math.max(
    1,
    ...result.series.map((s) => s.points[s.points.length - 1]?.update ?? 0),
  );
  const x0 = Math.min(...result.series.map((s) => s.points[0]?.update ?? 1));
  const boxes = {} as Record<PanelKey, DOMRectLike>;
  PANELS.forEach((panel, q) => {
    const col = q % cols;
    const row = Math.floor(q / cols);
    const box = {
      x: left + col * (cellW + gapX + left),
      y: top + row * (cellH + gapY),
      width: Math.max(20, cellW),
      height: cellH,
    };
    boxes[panel.key] = box;
    const pg = layer(g, 'g', `panel panel-${panel.key}`);
    drawPanel(pg, panel, result, box, [x0, Math.max(x0 + 1, maxUpdate)], fs);
  });
  return boxes;
}

/** The legend (swatch + label per method, wrapped to the width); returns its bottom y. */
function drawLegend(g: SVGGElement, result: CompareResult, width: number, fs: number): number {
  const bottom = drawLegendRow(
    g,
    result.series.map((s) => ({
      key: s.method,
      text: legendText(s.method, s.status),
      ...METHOD_STYLE[s.method],
      title: s.message ?? undefined,
    })),
    width,
    fs,
  );
  layer(g, 'g', 'legend').setAttribute('aria-label', 'Legend');
  return bottom;
}

function drawPanel(
  pg: SVGGElement,
  panel: Panel,
  result: CompareResult,
  box: DOMRectLike,
  xDomain: [number, number],
  fs: number,
): void {
  const sw = strokeScale();
  const series = result.series.map((s) => ({
    s,
    values: s.points.map(panel.value),
    updates: s.points.map((p) => p.update),
  }));
  const usable = (v: number) => Number.isFinite(v) && (!panel.log || v > 0);
  const tests = (d: (typeof series)[number]) =>
    panel.test
      ? d.s.points
          .map((p) => [p.update, panel.test!(p)] as [number, number])
          .filter((t) => usable(t[1]))
      : [];
  const all = series.flatMap((d) => [...d.values.filter(usable), ...tests(d).map((t) => t[1])]);
  const title = label(pg, 'panel-title', panel.title, box.x, box.y - 0.6 * fs);
  title.setAttribute('fill', INK);
  title.setAttribute('font-weight', '600');
  const x = scaleLinear()
    .domain(xDomain)
    .range([box.x, box.x + box.width]);
  const ax = layer(pg, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${box.y + box.height})`);
  drawAxis(ax, x, 'bottom', { fs, bounds: [box.x - 2 * fs, box.x + box.width + 2 * fs] });
  const note = layer(pg, 'text', 'panel-note');
  note.textContent = '';
  if (!all.length) {
    for (const el of Array.from(pg.querySelectorAll('.series, .axis-y'))) el.remove();
    note.textContent =
      panel.key === 'accuracy'
        ? 'no accuracy (regression task)'
        : panel.key === 'control'
          ? 'no control yet'
          : 'not measured';
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
  if (panel.log) {
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    y = scaleLog()
      .domain([lo / 1.5, hi * 1.5])
      .range([box.y + box.height, box.y]);
  } else {
    const [lo, hi] = panel.domain ? panel.domain(all) : paddedExtent(all);
    y = scaleLinear()
      .domain([lo, hi])
      .range([box.y + box.height, box.y]);
  }
  const ay = layer(pg, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${box.x},0)`);
  drawAxis(ay, y, 'left', { fs, bounds: [box.y - fs, box.y + box.height + fs] });
  // Methods of an earlier result that this one lacks leave no curve behind.
  const shown = new Set(series.map((d) => `series-${d.s.method}`));
  for (const el of Array.from(pg.querySelectorAll(':scope > g.series')))
    if (![...el.classList].some((c) => shown.has(c))) el.remove();
  const window = Math.max(
    1,
    Math.min(20, Math.round(Math.max(...series.map((d) => d.values.length)) / 15)),
  );
  for (const d of series) {
    const { colour, dash } = METHOD_STYLE[d.s.method];
    const sg = layer(pg, 'g', `series series-${d.s.method}`);
    // Only measured values, joined across the updates without one (the cosine of a large net is
    // measured every tenth update; the exact-gradient methods have no control to log).
    const pts = d.values
      .map((v, i) => [d.updates[i], v] as [number, number])
      .filter((p) => usable(p[1]));
    const path = line<[number, number]>()
      .x((p) => x(p[0]))
      .y((p) => y(p[1]));
    const raw = layer(sg, 'path', 'raw');
    setAttrs(raw, {
      d: window > 1 && pts.length ? (path(pts) ?? '') : '',
      fill: 'none',
      stroke: colour,
      'stroke-opacity': 0.25,
      'stroke-width': sw,
    });
    const smooth = runningMean(
      pts.map((p) => p[1]),
      window,
    );
    const mean = layer(sg, 'path', 'mean');
    setAttrs(mean, {
      d: pts.length ? (path(smooth.map((v, i) => [pts[i][0], v])) ?? '') : '',
      fill: 'none',
      stroke: colour,
      'stroke-width': 2 * sw,
      'stroke-dasharray': dash || null,
      'data-last': fmt(smooth[smooth.length - 1]),
    });
    const marks = layer(sg, 'g', 'test');
    while (marks.firstChild) marks.removeChild(marks.firstChild);
    for (const [u, v] of tests(d)) {
      const c = layer(marks, 'circle', `test-${u}`);
      setAttrs(c, {
        cx: x(u),
        cy: y(v),
        r: 3 * sw,
        fill: 'var(--bg, #fff)',
        stroke: colour,
        'stroke-width': 1.5 * sw,
      });
    }
  }
}

/** The status line: progress while it runs, else what the curves are (or why there are none). */
export function compareStatusText(
  m: CompareModel,
  progress: { done: number; total: number; stage: string } | null,
): string {
  if (m.status === 'running')
    return progress && progress.total > 0
      ? `${progress.done} of ${progress.total} updates (${progress.stage})`
      : 'Starting…';
  const diverged = m.result?.series.filter((s) => s.message) ?? [];
  const why = diverged.map((s) => `${METHOD_INFO[s.method].label} ${s.message}`).join('; ');
  if (m.status === 'failed')
    return m.message === 'stopped' && m.result ? `Stopped. ${why}` : `Failed: ${m.message ?? ''}`;
  if (m.status === 'done' && m.result)
    return `${m.result.updates} updates per method from one seed. ${why}`.trim();
  return 'Same seed, data, sample order and initial weights for every method';
}
