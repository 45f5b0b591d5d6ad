/**
 * A two-parameter sweep as a heat-map: the first parameter across, the second up, one cell per
 * pair, its colour the chosen metric's mean over the seeds (viridis, with a colour bar). A cell
 * where a run diverged or was refused is hatched and crossed; one not run yet is an empty frame.
 * Hovering a cell tells its numbers and reasons.
 */
import { scaleBand, scaleLinear, select } from 'd3';
import type { CellSummary } from '../../engine/sweepStats';
import { magnitude, OKABE_ITO, strokeScale } from '../theme';
import {
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
import { setTitle } from './sweepLineDraw';
import { cellMarked, cellTitle, type SweepPlotModel } from './sweepPlot';

const HATCH_ID = 'sweep-hatch';
const GRADIENT_ID = 'sweep-colours';

/** Colour of a mean within [lo, hi] (viridis: dark = low, yellow = high). */
export function heatColour(v: number, lo: number, hi: number): string {
  const f = hi > lo ? (v - lo) / (hi - lo) : 0.5;
  return magnitude(Math.min(1, Math.max(0, f)));
}

/** Draw the heat-map into `svg`; returns the grid's box (tests), or null when empty. */
export function drawSweepHeat(
  svg: SVGSVGElement,
  model: SweepPlotModel,
  size: Size,
): { x: number; y: number; width: number; height: number } | null {
  sizeSvg(svg, size);
  for (const g of Array.from(svg.querySelectorAll(':scope > g.sweep-line'))) g.remove();
  if (emptyMessage(svg, model.empty, size)) return null;
  const fs = fontSize();
  const sw = strokeScale();
  const [ax0, ax1] = model.axes;
  const left = Math.ceil(textWidth(6, fs)) + 10;
  const barW = Math.ceil(0.9 * fs);
  const right = barW + Math.ceil(textWidth(6, fs)) + 12;
  const top = Math.ceil(2.2 * fs);
  const bottom = Math.ceil(3.4 * fs);
  const box = {
    x: left,
    y: top,
    width: Math.max(40, size.width - left - right),
    height: Math.max(40, size.height - top - bottom),
  };
  const x = scaleBand<number>()
    .domain(ax0.values)
    .range([box.x, box.x + box.width])
    .paddingInner(0.04);
  const y = scaleBand<number>()
    .domain(ax1.values)
    .range([box.y + box.height, box.y])
    .paddingInner(0.04);
  const ran = model.cells.filter((c) => c.n > 0);
  const [lo, hi] = ran.length
    ? paddedExtent(
        ran.map((c) => c.mean),
        0,
      )
    : [0, 1];

  defs(svg, lo, hi);
  const g = layer(svg, 'g', 'sweep-heat');
  // Band axes: a label for every value that fits (every other one, … when crowded).
  const tickEvery = (count: number, room: number, chars: number) =>
    Math.max(1, Math.ceil((count * chars * 0.64 * fs) / Math.max(1, room)));
  const xEvery = tickEvery(ax0.values.length, box.width, 6);
  const yEvery = tickEvery(ax1.values.length, box.height, 2.2);
  const axX = select(layer(g, 'g', 'axis-x'))
    .attr('transform', `translate(0,${box.y + box.height})`)
    .attr('font-size', fs);
  axX
    .selectAll<SVGTextElement, number>('text')
    .data(ax0.values.filter((_, i) => i % xEvery === 0))
    .join('text')
    .attr('x', (v) => x(v)! + x.bandwidth() / 2)
    .attr('y', 1.2 * fs)
    .attr('text-anchor', 'middle')
    .attr('fill', INK)
    .text((v) => fmt(v));
  const axY = select(layer(g, 'g', 'axis-y')).attr('font-size', fs);
  axY
    .selectAll<SVGTextElement, number>('text')
    .data(ax1.values.filter((_, i) => i % yEvery === 0))
    .join('text')
    .attr('x', box.x - 4)
    .attr('y', (v) => y(v)! + y.bandwidth() / 2 + 0.35 * fs)
    .attr('text-anchor', 'end')
    .attr('fill', INK)
    .text((v) => fmt(v));

  const cellOf = (c: CellSummary) => ({ cx: x(c.values[0])!, cy: y(c.values[1])! });
  const cells = select(layer(g, 'g', 'cells'))
    .selectAll<SVGGElement, CellSummary>('g.cell')
    .data(model.cells)
    .join((enter) => {
      const cg = enter.append('g').attr('class', 'cell');
      cg.append('rect').attr('class', 'fill');
      cg.append('rect').attr('class', 'hatch');
      cg.append('text').attr('class', 'value');
      return cg;
    })
    .attr('data-state', (c) =>
      c.runs === 0 ? 'pending' : c.n === 0 ? 'diverged' : cellMarked(c) ? 'partial' : 'ok',
    )
    .each(function (c) {
      setTitle(this, cellTitle(model, c));
    });
  cells
    .select<SVGRectElement>('rect.fill')
    .attr('x', (c) => cellOf(c).cx)
    .attr('y', (c) => cellOf(c).cy)
    .attr('width', x.bandwidth())
    .attr('height', y.bandwidth())
    .attr('fill', (c) => (c.n > 0 ? heatColour(c.mean, lo, hi) : 'none'))
    .attr('stroke', (c) => (c.n > 0 ? 'none' : INK))
    .attr('stroke-opacity', 0.3)
    .attr('stroke-width', sw);
  cells
    .select<SVGRectElement>('rect.hatch')
    .attr('x', (c) => cellOf(c).cx)
    .attr('y', (c) => cellOf(c).cy)
    .attr('width', x.bandwidth())
    .attr('height', y.bandwidth())
    .attr('fill', `url(#${HATCH_ID})`)
    .attr('display', (c) => (cellMarked(c) ? null : 'none'));
  // The mean in the cell when it fits; a cross where nothing ran to the end.
  const fits = x.bandwidth() > textWidth(5, fs) && y.bandwidth() > 1.4 * fs;
  cells
    .select<SVGTextElement>('text.value')
    .attr('x', (c) => cellOf(c).cx + x.bandwidth() / 2)
    .attr('y', (c) => cellOf(c).cy + y.bandwidth() / 2 + 0.35 * fs)
    .attr('text-anchor', 'middle')
    .attr('font-size', fs)
    .attr('fill', (c) =>
      c.n === 0 ? OKABE_ITO.vermillion : (c.mean - lo) / (hi - lo || 1) > 0.6 ? '#000' : '#fff',
    )
    .attr('font-weight', (c) => (c.n === 0 ? 'bold' : null))
    .text((c) => (c.runs === 0 ? '' : c.n === 0 ? '×' : fits ? fmt(c.mean) : ''));

  // The colour bar, low at the bottom.
  const barX = box.x + box.width + 8;
  const bar = layer(g, 'rect', 'colour-bar');
  for (const [k, v] of Object.entries({
    x: barX,
    y: box.y,
    width: barW,
    height: box.height,
    fill: `url(#${GRADIENT_ID})`,
  }))
    bar.setAttribute(k, String(v));
  const scale = scaleLinear()
    .domain([lo, hi])
    .range([box.y + box.height, box.y]);
  const axBar = layer(g, 'g', 'axis-bar');
  axBar.setAttribute('transform', `translate(${barX + barW},0)`);
  drawAxis(axBar, scale, 'right', { fs, bounds: [box.y - fs, box.y + box.height + fs] });

  label(g, 'label-y', `${ax1.key}${ax1.log ? ' (log)' : ''} ↑`, 4, top - 0.6 * fs, { fill: INK });
  label(g, 'label-metric', model.metricLabel, size.width - 4, top - 0.6 * fs, {
    'text-anchor': 'end',
    fill: INK,
  });
  const axisName = `${ax0.key}${ax0.log ? ' (log)' : ''} →`;
  const long = `${axisName}   mean of ${model.seeds} seed${model.seeds === 1 ? '' : 's'}; hatched: a run diverged or was refused`;
  // The long label where it fits, the axis's name alone in a small cell.
  const fitsLong = textWidth(long.length, fs) * 0.8 <= size.width - 8;
  label(g, 'label-x', fitsLong ? long : axisName, 4, size.height - 0.5 * fs, { fill: INK });
  return box;
}

/** The hatch pattern and the colour bar's gradient (stops every tenth of viridis). */
function defs(svg: SVGSVGElement, lo: number, hi: number): void {
  const d = layer(svg, 'defs', 'sweep-defs');
  const pattern = layer(d, 'pattern', 'hatch');
  for (const [k, v] of Object.entries({
    id: HATCH_ID,
    width: 6,
    height: 6,
    patternUnits: 'userSpaceOnUse',
    patternTransform: 'rotate(45)',
  }))
    pattern.setAttribute(k, String(v));
  const stripe = layer(pattern, 'rect', 'stripe');
  for (const [k, v] of Object.entries({ width: 2, height: 6, fill: OKABE_ITO.vermillion }))
    stripe.setAttribute(k, String(v));
  const gradient = layer(d, 'linearGradient', 'colours');
  for (const [k, v] of Object.entries({ id: GRADIENT_ID, x1: 0, y1: 1, x2: 0, y2: 0 }))
    gradient.setAttribute(k, String(v));
  select(gradient)
    .selectAll('stop')
    .data(Array.from({ length: 11 }, (_, i) => i / 10))
    .join('stop')
    .attr('offset', (f) => f)
    .attr('stop-color', (f) => heatColour(lo + f * (hi - lo), lo, hi));
}
