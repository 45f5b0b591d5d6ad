/**
 * The α limit's drawing (chapter 6): data in, SVG out. Top: the cosine of (α/k_i)·ΔW with −∇L
 * and their norm ratio against α (log axis), with the line 1 that both reach as α grows; bottom:
 * the output error ‖y* − t‖ / ‖y⁰ − t‖ (log axis), which falls to 0 as α → 0. A marker at the
 * chapter's α; points whose controlled solve did not settle are hollow, diverged ones a cross.
 */
import { line, scaleLinear, scaleLog, select } from 'd3';
import type { AlphaPoint, AlphaSweepResult } from '../../worker/protocol';
import type { AnalysisSlot } from '../../state/analyses';
import { OKABE_ITO, ROLE, strokeScale } from '../theme';
import {
  drawAxis,
  emptyMessage,
  fmt,
  fontSize,
  INK,
  label,
  layer,
  sizeSvg,
  textWidth,
  type Size,
} from './common';

/** What the view draws: the analysis's slot in the store (its request id aside). */
export type SweepModel = Omit<AnalysisSlot<AlphaSweepResult>, 'id'>;

export const SWEEP_COLOURS = {
  cosine: ROLE.phi,
  ratio: ROLE.psi,
  error: ROLE.y,
} as const;

/** The words under the plot when there is nothing to draw yet. */
export function sweepEmptyText(m: SweepModel): string {
  if (m.result) return '';
  if (m.status === 'running') return 'Sweeping α on the current sample…';
  if (m.status === 'failed') return `No sweep: ${m.message ?? 'it failed'}`;
  return 'Run: the LCP update at α from 10⁻³ to 10³, against the gradient';
}

type Series = { key: 'cosine' | 'normRatio' | 'outputError'; colour: string };

/** Draw the sweep into `svg` at `size`. Returns the plot's inner boxes (tests), or null. */
export function drawSweep(
  svg: SVGSVGElement,
  model: SweepModel,
  size: Size,
): { top: DOMRectLike; bottom: DOMRectLike } | null {
  sizeSvg(svg, size);
  if (emptyMessage(svg, sweepEmptyText(model), size)) return null;
  const r = model.result!;
  const fs = fontSize();
  const sw = strokeScale();
  const { width, height } = size;
  const left = Math.ceil(textWidth(5, fs)) + 10;
  // Room for half of the last α label ("1000") right of the plot.
  const right = Math.ceil(textWidth(2.5, fs)) + 4;
  const top = Math.ceil(2.8 * fs);
  const bottom = Math.ceil(2.9 * fs);
  const gap = Math.ceil(2.6 * fs);
  const plotH = Math.max(40, height - top - bottom - gap);
  const h1 = Math.round(plotH * 0.6);
  const h2 = plotH - h1;
  const x0 = left;
  const x1 = Math.max(left + 40, width - right);
  const topBox = { x: x0, y: top, width: x1 - x0, height: h1 };
  const bottomBox = { x: x0, y: top + h1 + gap, width: x1 - x0, height: h2 };

  const alphas = r.points.map((p) => p.alpha);
  const lo = Math.min(...alphas, r.alpha);
  const hi = Math.max(...alphas, r.alpha);
  const x = scaleLog().domain([lo, hi]).range([x0, x1]);

  const finite = (v: number) => Number.isFinite(v);
  const upper = Math.min(
    3,
    Math.max(1.1, ...r.points.map((p) => p.normRatio).filter(finite)) * 1.04,
  );
  const lower = Math.max(
    -1.05,
    Math.min(0, ...r.points.map((p) => p.cosine).filter(finite)) - 0.05,
  );
  const y1 = scaleLinear()
    .domain([lower, upper])
    .range([topBox.y + h1, topBox.y]);
  const errors = r.points.map((p) => p.outputError).filter((v) => v > 0 && finite(v));
  const eLo = errors.length ? Math.min(...errors) : 1e-3;
  const eHi = errors.length ? Math.max(...errors) : 1;
  const y2 = scaleLog()
    .domain([Math.min(eLo / 1.5, 0.5), Math.max(eHi * 1.5, 1.5)])
    .range([bottomBox.y + h2, bottomBox.y])
    .clamp(true);

  const g = layer(svg, 'g', 'sweep');
  // Axes.
  const ax = layer(g, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${bottomBox.y + h2})`);
  // The end labels may use the margins (the first power of ten sits on the left edge).
  const xBounds: [number, number] = [2, width - 2];
  drawAxis(ax, x, 'bottom', { fs, bounds: xBounds });
  const axTop = layer(g, 'g', 'axis-x-top');
  axTop.setAttribute('transform', `translate(0,${topBox.y + h1})`);
  drawAxis(axTop, x, 'bottom', { fs, bounds: xBounds });
  select(axTop).selectAll('.tick text').remove();
  const ay1 = layer(g, 'g', 'axis-y1');
  ay1.setAttribute('transform', `translate(${x0},0)`);
  drawAxis(ay1, y1, 'left', { fs, bounds: [topBox.y - fs, topBox.y + h1], room: left - 6 });
  const ay2 = layer(g, 'g', 'axis-y2');
  ay2.setAttribute('transform', `translate(${x0},0)`);
  drawAxis(ay2, y2, 'left', { fs, bounds: [bottomBox.y - fs, bottomBox.y + h2], room: left - 6 });

  // The gradient's line (1) and the chapter's α.
  const one = layer(g, 'line', 'one');
  for (const [k, v] of Object.entries({
    x1: x0,
    x2: x1,
    y1: y1(1),
    y2: y1(1),
    stroke: INK,
    'stroke-opacity': 0.45,
    'stroke-dasharray': '4 3',
    'stroke-width': sw,
  }))
    one.setAttribute(k, String(v));
  label(g, 'one-label', '1 = the gradient', x0 + 4, y1(1) - 0.35 * fs, { fill: INK });
  const mark = layer(g, 'g', 'chapter-alpha');
  const mx = x(r.alpha);
  const markLine = layer(mark, 'line', 'marker');
  for (const [k, v] of Object.entries({
    x1: mx,
    x2: mx,
    y1: topBox.y,
    y2: bottomBox.y + h2,
    stroke: OKABE_ITO.purple,
    'stroke-width': 1.5 * sw,
  }))
    markLine.setAttribute(k, String(v));
  const markText = `chapter's α = ${fmt(r.alpha)}`;
  const tw = textWidth(markText.length, fs);
  label(
    mark,
    'marker-label',
    markText,
    Math.min(Math.max(mx, x0 + tw / 2), x1 - tw / 2),
    top - 0.45 * fs,
    {
      'text-anchor': 'middle',
      fill: OKABE_ITO.purple,
    },
  );

  // Series.
  const topSeries: Series[] = [
    { key: 'cosine', colour: SWEEP_COLOURS.cosine },
    { key: 'normRatio', colour: SWEEP_COLOURS.ratio },
  ];
  const bottomSeries: Series = { key: 'outputError', colour: SWEEP_COLOURS.error };
  const drawSeries = (s: Series, y: (v: number) => number, ok: (v: number) => boolean) => {
    const sg = layer(g, 'g', `series series-${s.key}`);
    const path = layer(sg, 'path', 'line');
    const d =
      line<AlphaPoint>()
        .defined((p) => ok(p[s.key]))
        .x((p) => x(p.alpha))
        .y((p) => y(p[s.key]))(r.points) ?? '';
    path.setAttribute('d', d);
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', s.colour);
    path.setAttribute('stroke-width', String(2 * sw));
    const dots = select(sg)
      .selectAll<SVGCircleElement, AlphaPoint>('circle')
      .data(r.points.filter((p) => ok(p[s.key])))
      .join('circle')
      .attr('cx', (p) => x(p.alpha))
      .attr('cy', (p) => y(p[s.key]))
      .attr('r', 2.6 * sw)
      .attr('stroke', s.colour)
      .attr('stroke-width', sw)
      .attr('fill', (p) => (p.settled ? s.colour : 'var(--bg, #fff)'));
    dots.attr('class', (p) => (p.settled ? 'settled' : 'unsettled'));
  };
  for (const s of topSeries) drawSeries(s, y1, finite);
  drawSeries(bottomSeries, y2, (v) => finite(v) && v > 0);

  // Diverged α: a cross on the top panel's floor.
  select(g)
    .selectAll<SVGTextElement, AlphaPoint>('text.diverged')
    .data(r.points.filter((p) => p.diverged))
    .join('text')
    .attr('class', 'diverged')
    .attr('x', (p) => x(p.alpha))
    .attr('y', topBox.y + h1 - 0.3 * fs)
    .attr('text-anchor', 'middle')
    .attr('font-size', fs)
    .attr('fill', OKABE_ITO.vermillion)
    .text('×');

  // Legends in plain words.
  label(g, 'legend-top', '', x0, top - 1.6 * fs, { fill: INK });
  const legend = layer(g, 'text', 'legend-top');
  legend.textContent = '';
  const spans: [string, string][] = [
    ['● cosine of (α/kᵢ)·ΔW with −∇L', SWEEP_COLOURS.cosine],
    ['   ● their norm ratio', SWEEP_COLOURS.ratio],
  ];
  for (const [text, colour] of spans) {
    const t = layer(legend, 'tspan', `legend-${colour.slice(1)}`);
    t.textContent = text;
    t.setAttribute('fill', colour);
  }
  label(
    g,
    'legend-bottom',
    '● output error ‖y* − t‖ / ‖y⁰ − t‖ (log)',
    x0,
    bottomBox.y - 0.45 * fs,
    { fill: SWEEP_COLOURS.error },
  );
  label(
    g,
    'label-x',
    'α (log) — strong control ←   → weak nudge',
    x1,
    bottomBox.y + h2 + 2.4 * fs,
    { 'text-anchor': 'end', fill: INK },
  );
  const unsettled = r.points.filter((p) => !p.settled).length;
  label(
    g,
    'note',
    unsettled ? `○ not settled, × diverged (${unsettled} of ${r.points.length})` : '',
    x0,
    bottomBox.y + h2 + 2.4 * fs,
    { fill: INK, 'fill-opacity': 0.8 },
  );
  return { top: topBox, bottom: bottomBox };
}

/** A rectangle (x, y, width, height) in SVG pixels. */
export interface DOMRectLike {
  x: number;
  y: number;
  width: number;
  height: number;
}
