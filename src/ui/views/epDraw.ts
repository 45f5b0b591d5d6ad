/**
 * "One phase, not two" (chapter 12): data in, SVG out. Left (top when narrow): equilibrium
 * propagation's free phase then its nudged phase, and below it LCP's single controlled phase, on
 * one time axis — the output (thick) against its target (dashed) and a few hidden units (thin).
 * Right (bottom): the cosine of EP's update with −∇L against β (log axis, β shrinking to the
 * right), with LCP's cosines as horizontal lines (weak control, α = 1000; the chapter's α).
 */
import { line, scaleLinear, scaleLog, select } from 'd3';
import type { EpPoint, EpResult, Trace } from '../../worker/protocol';
import type { AnalysisSlot } from '../../state/analyses';
import { OKABE_ITO, ROLE, strokeScale } from '../theme';
import {
  categorical,
  drawAxis,
  emptyMessage,
  fmt,
  fontSize,
  INK,
  label,
  layer,
  paddedExtent,
  sizeSvg,
  textWidth,
  type Size,
} from './common';

/** What the view draws: the analysis's slot in the store (its request id aside). */
export type EpModel = Omit<AnalysisSlot<EpResult>, 'id'>;

export const EP_COLOURS = {
  output: ROLE.y,
  target: INK,
  ep: OKABE_ITO.vermillion,
  lcp: OKABE_ITO.blue,
  lcpChapter: OKABE_ITO.skyBlue,
} as const;

export function epEmptyText(m: EpModel): string {
  if (m.result) return '';
  if (m.status === 'running') return 'Running EP’s two phases and LCP’s one…';
  if (m.status === 'failed') return `No comparison: ${m.message ?? 'it failed'}`;
  return 'Run: EP’s free and nudged phases beside LCP’s one controlled phase';
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where the three plots go: side by side when wide, stacked when narrow. */
export function epLayout(size: Size, fs: number): { ep: Box; lcp: Box; cos: Box } {
  const { width, height } = size;
  const left = Math.ceil(textWidth(5, fs)) + 10;
  const titleH = Math.ceil(1.9 * fs);
  const axisH = Math.ceil(2.6 * fs);
  const wide = width >= 560;
  if (wide) {
    const split = Math.round(width * 0.58);
    const tracesH = height - axisH;
    const each = (tracesH - 2 * titleH) / 2;
    return {
      ep: { x: left, y: titleH, width: split - left - fs, height: each },
      lcp: { x: left, y: 2 * titleH + each, width: split - left - fs, height: each },
      cos: {
        x: split + left,
        y: titleH,
        width: width - split - left - 1.6 * fs,
        height: height - titleH - axisH,
      },
    };
  }
  const each = (height - 3 * titleH - 2 * axisH) / 3;
  return {
    ep: { x: left, y: titleH, width: width - left - fs, height: each },
    lcp: { x: left, y: 2 * titleH + each, width: width - left - fs, height: each },
    cos: {
      x: left,
      y: 3 * titleH + 2 * each + axisH,
      width: width - left - 1.6 * fs,
      height: each,
    },
  };
}

function setAll(el: Element, attrs: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
}

/** One trajectory plot: the output and units of each trace, the target line, phase labels. */
function drawTraces(
  g: SVGGElement,
  box: Box,
  traces: { trace: Trace; dash: string }[],
  r: EpResult,
  tMax: number,
  fs: number,
  withXAxis: boolean,
): void {
  const sw = strokeScale();
  const values = [r.target];
  for (const { trace } of traces) values.push(...trace.output, ...trace.units.flat());
  const x = scaleLinear()
    .domain([0, tMax])
    .range([box.x, box.x + box.width]);
  const y = scaleLinear()
    .domain(paddedExtent(values))
    .range([box.y + box.height, box.y]);
  const ay = layer(g, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${box.x},0)`);
  drawAxis(ay, y, 'left', { fs, bounds: [box.y - fs, box.y + box.height], room: box.x - 6 });
  const ax = layer(g, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${box.y + box.height})`);
  drawAxis(ax, x, 'bottom', { fs, bounds: [2, box.x + box.width + fs] });
  if (!withXAxis) select(ax).selectAll('.tick text').remove();
  const target = layer(g, 'line', 'target');
  setAll(target, {
    x1: box.x,
    x2: box.x + box.width,
    y1: y(r.target),
    y2: y(r.target),
    stroke: EP_COLOURS.target,
    'stroke-dasharray': '5 4',
    'stroke-opacity': 0.6,
    'stroke-width': sw,
  });
  label(
    g,
    'target-label',
    `target t = ${fmt(r.target)}`,
    box.x + box.width,
    y(r.target) - 0.35 * fs,
    {
      'text-anchor': 'end',
      fill: INK,
    },
  );
  traces.forEach(({ trace, dash }, q) => {
    const tg = layer(g, 'g', `trace trace-${q}`);
    const pathOf = (vals: number[]) =>
      line<number>()
        .x((_, i) => x(trace.t[i]))
        .y((v) => y(v))(vals) ?? '';
    trace.units.forEach((u, k) => {
      const p = layer(tg, 'path', `unit unit-${k}`);
      setAll(p, {
        d: pathOf(u),
        fill: 'none',
        stroke: categorical(k + 1),
        'stroke-opacity': 0.75,
        'stroke-width': sw,
        'stroke-dasharray': dash,
      });
    });
    const out = layer(tg, 'path', 'output');
    setAll(out, {
      d: pathOf(trace.output),
      fill: 'none',
      stroke: EP_COLOURS.output,
      'stroke-width': 2.5 * sw,
      'stroke-dasharray': dash,
    });
  });
}

/** Whether W is symmetric, in words (the view's status line says it: EP's limit depends on it). */
export function symmetryText(r: EpResult): string {
  return r.asymmetry < 1e-6
    ? 'W is symmetric'
    : `W is not symmetric (‖W − Wᵀ‖ / 2‖W‖ = ${fmt(r.asymmetry, 2)})`;
}

/** Draw the comparison into `svg` at `size`. */
export function drawEp(svg: SVGSVGElement, model: EpModel, size: Size): void {
  sizeSvg(svg, size);
  if (emptyMessage(svg, epEmptyText(model), size)) return;
  const r = model.result!;
  const fs = fontSize();
  const sw = strokeScale();
  const L = epLayout(size, fs);
  const g = layer(svg, 'g', 'ep');
  const tEnd = (t: Trace) => t.t[t.t.length - 1] ?? 0;
  const tMax = Math.max(tEnd(r.nudged), tEnd(r.controlled), 1e-9);

  // EP: free then nudged.
  const gEp = layer(g, 'g', 'plot-ep');
  drawTraces(
    gEp,
    L.ep,
    [
      { trace: r.free, dash: '' },
      { trace: r.nudged, dash: '6 3' },
    ],
    r,
    tMax,
    fs,
    false,
  );
  const switchX = L.ep.x + (tEnd(r.free) / tMax) * L.ep.width;
  const sw1 = layer(gEp, 'line', 'phase-switch');
  setAll(sw1, {
    x1: switchX,
    x2: switchX,
    y1: L.ep.y,
    y2: L.ep.y + L.ep.height,
    stroke: EP_COLOURS.ep,
    'stroke-width': 1.5 * sw,
  });
  label(gEp, 'title', 'Equilibrium propagation: two phases', L.ep.x, L.ep.y - 0.5 * fs, {
    fill: INK,
    'font-weight': 600,
  });
  label(gEp, 'phase-free', '① free', L.ep.x + 3, L.ep.y + 1.1 * fs, { fill: INK });
  label(gEp, 'phase-nudged', `② nudged, β = ${fmt(r.shownBeta)}`, switchX + 3, L.ep.y + 1.1 * fs, {
    fill: EP_COLOURS.ep,
  });

  // LCP: one controlled phase.
  const gLcp = layer(g, 'g', 'plot-lcp');
  drawTraces(gLcp, L.lcp, [{ trace: r.controlled, dash: '' }], r, tMax, fs, true);
  label(
    gLcp,
    'title',
    `LCP: one controlled phase (α = ${fmt(r.lcp.alpha)})`,
    L.lcp.x,
    L.lcp.y - 0.5 * fs,
    { fill: INK, 'font-weight': 600 },
  );
  label(gLcp, 'label-x', 'time (τ)', L.lcp.x + L.lcp.width, L.lcp.y + L.lcp.height + 2.3 * fs, {
    'text-anchor': 'end',
    fill: INK,
  });
  label(
    gLcp,
    'legend',
    `thick: output · dashed: target · thin: units ${r.unitIndices.map((u) => u + 1).join(', ')}`,
    L.lcp.x,
    L.lcp.y + L.lcp.height + 2.3 * fs,
    { fill: INK, 'fill-opacity': 0.8 },
  );

  // Cosines against β.
  const gCos = layer(g, 'g', 'plot-cos');
  const box = L.cos;
  const betas = r.points.map((p) => Math.abs(p.beta));
  const x = scaleLog()
    .domain([Math.max(...betas), Math.min(...betas)])
    .range([box.x, box.x + box.width]);
  const cosines = [...r.points.map((p) => p.cosine), r.lcp.cosine, r.lcpLimit.cosine].filter(
    Number.isFinite,
  );
  const lo = Math.max(-1.02, Math.min(0.9, ...cosines) - 0.05);
  const y = scaleLinear()
    .domain([lo, 1.02])
    .range([box.y + box.height, box.y]);
  const ax = layer(gCos, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${box.y + box.height})`);
  drawAxis(ax, x, 'bottom', { fs, bounds: [box.x - 0.6 * box.x, box.x + box.width + 1.6 * fs] });
  const ay = layer(gCos, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${box.x},0)`);
  drawAxis(ay, y, 'left', {
    fs,
    bounds: [box.y - fs, box.y + box.height],
    room: box.x - 6,
    max: Math.max(2, Math.floor(box.height / (2.5 * fs))),
  });
  label(gCos, 'title', 'Each update: cosine with −∇L', box.x, box.y - 0.5 * fs, {
    fill: INK,
    'font-weight': 600,
  });
  label(gCos, 'label-x', 'β (log), smaller →', box.x + box.width, box.y + box.height + 2.3 * fs, {
    'text-anchor': 'end',
    fill: INK,
  });
  const hline = (
    cls: string,
    value: number,
    colour: string,
    text: string,
    dash: string,
    below: boolean,
  ) => {
    const lg = layer(gCos, 'g', cls);
    if (!Number.isFinite(value)) {
      lg.remove();
      return;
    }
    setAll(layer(lg, 'line', 'level'), {
      x1: box.x,
      x2: box.x + box.width,
      y1: y(value),
      y2: y(value),
      stroke: colour,
      'stroke-width': 2 * sw,
      'stroke-dasharray': dash,
    });
    label(lg, 'level-label', text, box.x + box.width, y(value) + (below ? 1.1 * fs : -0.35 * fs), {
      'text-anchor': 'end',
      fill: colour,
    });
  };
  const limitBelow = r.lcp.cosine > r.lcpLimit.cosine;
  hline(
    'lcp-limit',
    r.lcpLimit.cosine,
    EP_COLOURS.lcp,
    `LCP, weak control α = ${fmt(r.lcpLimit.alpha)}: ${fmt(r.lcpLimit.cosine, 4)}`,
    '',
    limitBelow,
  );
  hline(
    'lcp-chapter',
    r.lcp.cosine,
    EP_COLOURS.lcpChapter,
    `LCP at the chapter's α = ${fmt(r.lcp.alpha)}: ${fmt(r.lcp.cosine, 3)}`,
    '6 3',
    !limitBelow,
  );
  const epg = layer(gCos, 'g', 'ep-series');
  setAll(layer(epg, 'path', 'line'), {
    d:
      line<EpPoint>()
        .defined((p) => Number.isFinite(p.cosine))
        .x((p) => x(Math.abs(p.beta)))
        .y((p) => y(p.cosine))(r.points) ?? '',
    fill: 'none',
    stroke: EP_COLOURS.ep,
    'stroke-width': 2 * sw,
  });
  select(epg)
    .selectAll<SVGCircleElement, EpPoint>('circle')
    .data(r.points.filter((p) => Number.isFinite(p.cosine)))
    .join('circle')
    .attr('cx', (p) => x(Math.abs(p.beta)))
    .attr('cy', (p) => y(p.cosine))
    .attr('r', 2.6 * sw)
    .attr('fill', (p) => (p.settled ? EP_COLOURS.ep : 'var(--bg, #fff)'))
    .attr('stroke', EP_COLOURS.ep);
  // EP's value at its smallest β (the right end), where its limit shows.
  const last = r.points
    .filter((p) => Number.isFinite(p.cosine))
    .reduce<EpPoint | null>((a, p) => (!a || Math.abs(p.beta) < Math.abs(a.beta) ? p : a), null);
  if (last)
    label(
      epg,
      'ep-label',
      `EP: ${fmt(last.cosine, 4)}`,
      x(Math.abs(last.beta)) - 4,
      y(last.cosine) + (last.cosine > r.lcpLimit.cosine - 0.05 ? 1.3 * fs : -0.5 * fs),
      { 'text-anchor': 'end', fill: EP_COLOURS.ep },
    );
}
