/**
 * A one-parameter sweep: the chosen metric's mean over the seeds against the parameter (log axis
 * for geometric ranges), a band of ± one standard deviation or min–max around it, and a cross
 * under every value where a run diverged (a ⊘ where the configuration was refused); hovering a
 * point or a mark tells its numbers and reasons.
 */
import { area, line, scaleLinear, scaleLog, select } from 'd3';
import type { CellSummary } from '../../engine/sweepStats';
import { OKABE_ITO, ROLE, strokeScale } from '../theme';
import {
  drawAxis,
  emptyMessage,
  fontSize,
  INK,
  label,
  layer,
  paddedExtent,
  sizeSvg,
  textWidth,
  type Size,
} from './common';
import { cellMarked, cellTitle, type SweepPlotModel } from './sweepPlot';

export const LINE_COLOUR = ROLE.phi;
export const DIVERGED_COLOUR = OKABE_ITO.vermillion;

/** The band's bounds of a cell: mean ± sd or [min, max]. */
function bandOf(c: CellSummary, band: SweepPlotModel['band']): [number, number] {
  return band === 'sd' ? [c.mean - c.sd, c.mean + c.sd] : [c.min, c.max];
}

/** Draw the line plot into `svg`; returns the plot box (tests), or null when empty. */
export function drawSweepLine(
  svg: SVGSVGElement,
  model: SweepPlotModel,
  size: Size,
): { x: number; y: number; width: number; height: number } | null {
  sizeSvg(svg, size);
  for (const g of Array.from(svg.querySelectorAll(':scope > g.sweep-heat'))) g.remove();
  if (emptyMessage(svg, model.empty, size)) return null;
  const fs = fontSize();
  const sw = strokeScale();
  const axis = model.axes[0];
  const left = Math.ceil(textWidth(6, fs)) + 10;
  const right = Math.ceil(textWidth(3, fs));
  const top = Math.ceil(2.2 * fs);
  // Tick labels, then the axis's name, then the legend.
  const bottom = Math.ceil(4.9 * fs);
  const box = {
    x: left,
    y: top,
    width: Math.max(40, size.width - left - right),
    height: Math.max(40, size.height - top - bottom),
  };
  const [vLo, vHi] = [Math.min(...axis.values), Math.max(...axis.values)];
  const x = (
    axis.log ? scaleLog().domain([vLo, vHi]) : scaleLinear().domain(paddedExtent([vLo, vHi], 0))
  ).range([box.x, box.x + box.width]);
  if (vLo === vHi) x.domain(axis.log ? [vLo / 2, vHi * 2] : [vLo - 1, vHi + 1]);
  const ran = model.cells.filter((c) => c.n > 0);
  const y = scaleLinear()
    .domain(paddedExtent(ran.flatMap((c) => [c.mean, ...bandOf(c, model.band)])))
    .range([box.y + box.height, box.y]);

  const g = layer(svg, 'g', 'sweep-line');
  const ax = layer(g, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${box.y + box.height})`);
  drawAxis(ax, x, 'bottom', { fs, bounds: [2, size.width - 2] });
  const ay = layer(g, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${box.x},0)`);
  drawAxis(ay, y, 'left', { fs, bounds: [box.y - fs, box.y + box.height], room: left - 6 });

  const band = layer(g, 'path', 'band');
  band.setAttribute(
    'd',
    area<CellSummary>()
      .defined((c) => c.n > 0)
      .x((c) => x(c.values[0]))
      .y0((c) => y(bandOf(c, model.band)[0]))
      .y1((c) => y(bandOf(c, model.band)[1]))(model.cells) ?? '',
  );
  band.setAttribute('fill', LINE_COLOUR);
  band.setAttribute('fill-opacity', '0.2');
  const mean = layer(g, 'path', 'mean');
  mean.setAttribute(
    'd',
    line<CellSummary>()
      .defined((c) => c.n > 0)
      .x((c) => x(c.values[0]))
      .y((c) => y(c.mean))(model.cells) ?? '',
  );
  mean.setAttribute('fill', 'none');
  mean.setAttribute('stroke', LINE_COLOUR);
  mean.setAttribute('stroke-width', String(2 * sw));

  // Points: filled when every seed ran to the end, hollow when some did not.
  select(layer(g, 'g', 'points'))
    .selectAll<SVGCircleElement, CellSummary>('circle')
    .data(ran)
    .join('circle')
    .attr('class', (c) => (cellMarked(c) ? 'point partial' : 'point'))
    .attr('cx', (c) => x(c.values[0]))
    .attr('cy', (c) => y(c.mean))
    .attr('r', 3.2 * sw)
    .attr('fill', (c) => (cellMarked(c) ? 'var(--bg, #fff)' : LINE_COLOUR))
    .attr('stroke', LINE_COLOUR)
    .attr('stroke-width', sw)
    .each(function (c) {
      setTitle(this, cellTitle(model, c));
    });

  // Divergence (×) and refusal (⊘) marks on the plot's floor, the reasons on hover.
  select(layer(g, 'g', 'marks'))
    .selectAll<SVGTextElement, CellSummary>('text')
    .data(model.cells.filter(cellMarked))
    .join('text')
    .attr('class', (c) => (c.diverged ? 'mark diverged' : 'mark failed'))
    .attr('x', (c) => x(c.values[0]))
    .attr('y', box.y + box.height - 0.35 * fs)
    .attr('text-anchor', 'middle')
    .attr('font-size', 1.3 * fs)
    .attr('font-weight', 'bold')
    .attr('fill', (c) => (c.diverged ? DIVERGED_COLOUR : INK))
    .text((c) => (c.diverged ? '×' : '⊘'))
    .each(function (c) {
      setTitle(this, cellTitle(model, c));
    });

  label(g, 'label-y', model.metricLabel, box.x, top - 0.6 * fs, { fill: INK });
  label(
    g,
    'label-x',
    `${axis.key}${axis.log ? ' (log)' : ''}`,
    box.x + box.width,
    size.height - 1.7 * fs,
    {
      'text-anchor': 'end',
      fill: INK,
    },
  );
  const bandWords = model.band === 'sd' ? '±1 sd' : 'min–max';
  const seeds = `${model.seeds} seed${model.seeds === 1 ? '' : 's'}`;
  // The long legend where it fits, a short one in a small cell.
  const legends = [
    `● mean of ${seeds}, band ${bandWords}; × diverged, ⊘ refused`,
    `● mean, band ${bandWords}; × diverged`,
  ];
  const legend = legends.find((t) => textWidth(t.length, fs) * 0.8 <= size.width - 8) ?? legends[1];
  label(g, 'legend', legend, 4, size.height - 0.5 * fs, { fill: INK, 'fill-opacity': 0.85 });
  return box;
}

/** An SVG `<title>` child: the browser shows it on hover (and screen readers read it). */
export function setTitle(el: Element, text: string): void {
  let t = el.querySelector(':scope > title');
  if (!t) {
    t = el.ownerDocument.createElementNS('http://www.w3.org/2000/svg', 'title');
    el.appendChild(t);
  }
  if (t.textContent !== text) t.textContent = text;
}
