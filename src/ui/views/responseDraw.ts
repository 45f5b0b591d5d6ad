/**
 * The network's response to a drawn digit (pure drawing: data in, SVG out): the class
 * probabilities softmax(y⁰) at the free equilibrium beside softmax(y*) at the controlled one
 * (driven toward the chosen class), and the control ½‖ψ*‖² that took.
 */
import { scaleBand, scaleLinear, select } from 'd3';
import type { DigitResponse } from '../../worker/protocol';
import { emptyMessage, fmt, fontSize, INK, label, layer, sizeSvg, type Size } from './common';
import { OKABE_ITO, ROLE } from '../theme';

/** What the view says before there is a response (or why there is none). */
export function responseEmptyText(status: 'idle' | 'waiting' | 'failed', message = ''): string {
  if (status === 'waiting') return 'Settling on your digit…';
  if (status === 'failed') return `No response: ${message}`;
  return 'Draw a digit on the pad.';
}

interface Panel {
  cls: string;
  title: string;
  probs: number[];
  /** The bar to mark (the prediction, or the target), and its colour. */
  marked: number;
  color: string;
}

/** Draw `response` into `svg` at `size`; `empty` is shown instead when there is none. */
export function drawResponse(
  svg: SVGSVGElement,
  response: DigitResponse | null,
  size: Size,
  empty = responseEmptyText('idle'),
): void {
  sizeSvg(svg, size);
  if (emptyMessage(svg, response ? '' : empty, size) || !response) return;
  const fs = fontSize();
  const g = layer(svg, 'g', 'response');
  const panels: Panel[] = [
    {
      cls: 'free',
      title: `free: predicts ${response.prediction}`,
      probs: response.freeProbs,
      marked: response.prediction,
      color: ROLE.free,
    },
    {
      cls: 'controlled',
      title: response.controlledProbs
        ? `controlled toward ${response.target}`
        : `controlled: ${response.controlError ?? 'none'}`,
      probs: response.controlledProbs ?? [],
      marked: response.target,
      color: ROLE.y,
    },
  ];
  const footer = Math.round(1.6 * fs);
  const side = size.width >= 2.2 * size.height;
  const pw = side ? (size.width - 8) / 2 : size.width - 4;
  const ph = side ? size.height - footer : (size.height - footer) / 2;
  panels.forEach((panel, q) => {
    const pg = layer(g, 'g', `panel-${panel.cls}`);
    const ox = side ? 2 + q * (pw + 4) : 2;
    const oy = side ? 0 : q * ph;
    pg.setAttribute('transform', `translate(${ox},${oy})`);
    const top = Math.round(1.5 * fs);
    const bottom = Math.round(1.4 * fs);
    const x = scaleBand<number>()
      .domain(Array.from({ length: 10 }, (_, i) => i))
      .range([2, pw - 2])
      .padding(0.15);
    const y = scaleLinear()
      .domain([0, 1])
      .range([Math.max(top + 4, ph - bottom), top]);
    label(pg, 'panel-title', panel.title, 2, Math.round(1.1 * fs), { fill: INK });
    select(pg)
      .selectAll<SVGRectElement, number>('rect.bar')
      .data(panel.probs)
      .join('rect')
      .attr('class', 'bar')
      .attr('x', (_, i) => x(i) ?? 0)
      .attr('width', x.bandwidth())
      .attr('y', (p) => y(p))
      .attr('height', (p) => Math.max(0, y(0) - y(p)))
      .attr('fill', (_, i) => (i === panel.marked ? panel.color : '#bbb'))
      .attr('stroke', (_, i) => (i === panel.marked ? OKABE_ITO.black : 'none'));
    select(pg)
      .selectAll<SVGTextElement, number>('text.class')
      .data(panel.probs.length ? panel.probs : [])
      .join('text')
      .attr('class', 'class')
      .attr('x', (_, i) => (x(i) ?? 0) + x.bandwidth() / 2)
      .attr('y', y(0) + fs)
      .attr('text-anchor', 'middle')
      .attr('font-size', fs)
      .attr('font-weight', (_, i) => (i === panel.marked ? 700 : 400))
      .attr('fill', INK)
      .text((_, i) => String(i));
  });
  // Probabilities to three digits: weak control (large α) moves them only a little.
  const psi = response.controlledProbs ? fmt(response.controlPsi) : '—';
  const before = fmt(response.freeProbs[response.target]);
  const after = response.controlledProbs ? fmt(response.controlledProbs[response.target]) : '—';
  label(
    g,
    'control',
    `½‖ψ*‖² = ${psi}  ·  p(${response.target}): ${before} free → ${after} controlled`,
    2,
    size.height - Math.round(0.4 * fs),
    { fill: INK },
  );
}
