/**
 * The test set's confusion matrix after an epoch (pure drawing: data in, SVG out): a k×k grid,
 * true class down, predicted class across, each cell shaded by the share of its row (its true
 * class) and labelled with its count where it fits. The diagonal is what the network gets right.
 */
import { select } from 'd3';
import type { TestEvaluation } from '../../worker/protocol';
import { emptyMessage, fontSize, INK, label, layer, sizeSvg, type Size } from './common';
import { OKABE_ITO } from '../theme';

/** What the view says before the first epoch has ended. */
export const CONFUSION_EMPTY = 'Confusion matrix: when an epoch ends.';

/** Share of the row → fill: white for none, blue for all (the diagonal), vermillion off it. */
function cellFill(share: number, diagonal: boolean): string {
  const t = Math.max(0, Math.min(1, share));
  const [r, g, b] = diagonal ? [0, 114, 178] : [213, 94, 0];
  const mix = (c: number) => Math.round(255 + (c - 255) * Math.sqrt(t));
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

interface Cell {
  t: number;
  p: number;
  count: number;
  share: number;
}

/** Draw `evaluation`'s confusion matrix into `svg` at `size` (or the empty message). */
export function drawConfusion(
  svg: SVGSVGElement,
  evaluation: TestEvaluation | null,
  size: Size,
): void {
  sizeSvg(svg, size);
  if (emptyMessage(svg, evaluation ? '' : CONFUSION_EMPTY, size) || !evaluation) return;
  const { k, confusion } = evaluation;
  const fs = fontSize();
  const top = Math.round(2.6 * fs);
  const left = Math.round(3 * fs);
  const bottom = Math.round(0.6 * fs);
  const side = Math.max(k * 6, Math.min(size.width - left - 4, size.height - top - bottom));
  const pitch = side / k;
  const g = layer(svg, 'g', 'confusion');
  const rowTotals = Array.from({ length: k }, (_, t) =>
    confusion.slice(t * k, (t + 1) * k).reduce((a, b) => a + b, 0),
  );
  const cells: Cell[] = [];
  for (let t = 0; t < k; t++)
    for (let p = 0; p < k; p++) {
      const count = confusion[t * k + p];
      cells.push({ t, p, count, share: rowTotals[t] ? count / rowTotals[t] : 0 });
    }
  const showCounts = pitch >= 2.4 * fs * 0.62 + 2;
  const joined = select(g)
    .selectAll<SVGGElement, Cell>('g.cell')
    .data(cells, (c) => `${c.t}:${c.p}`)
    .join((enter) => {
      const e = enter.append('g').attr('class', 'cell');
      e.append('rect');
      e.append('text');
      e.append('title');
      return e;
    })
    .attr('transform', (c) => `translate(${left + c.p * pitch},${top + c.t * pitch})`);
  joined
    .select('rect')
    .attr('width', Math.max(1, pitch - 1))
    .attr('height', Math.max(1, pitch - 1))
    .attr('fill', (c) => cellFill(c.share, c.t === c.p))
    .attr('stroke', (c) => (c.t === c.p ? OKABE_ITO.blue : '#ddd'))
    .attr('stroke-width', 0.5);
  joined
    .select('text')
    .attr('x', pitch / 2)
    .attr('y', pitch / 2)
    .attr('dy', '0.35em')
    .attr('text-anchor', 'middle')
    .attr('font-size', Math.max(6, Math.min(fs, Math.floor(pitch / 2.2))))
    .attr('fill', (c) => (c.share > 0.45 ? 'white' : '#222'))
    .text((c) => (showCounts && c.count > 0 ? String(c.count) : ''));
  joined
    .select('title')
    .text((c) => `true ${c.t}, predicted ${c.p}: ${c.count} (${(c.share * 100).toFixed(1)}%)`);
  // Class labels: predicted across the top, true down the left.
  const heads = Array.from({ length: k }, (_, i) => i);
  select(layer(g, 'g', 'cols'))
    .selectAll('text')
    .data(heads)
    .join('text')
    .attr('x', (i) => left + (i + 0.5) * pitch)
    .attr('y', top - 0.4 * fs)
    .attr('text-anchor', 'middle')
    .attr('font-size', fs)
    .attr('fill', INK)
    .text((i) => String(i));
  select(layer(g, 'g', 'rows'))
    .selectAll('text')
    .data(heads)
    .join('text')
    .attr('x', left - 0.5 * fs)
    .attr('y', (i) => top + (i + 0.5) * pitch)
    .attr('dy', '0.35em')
    .attr('text-anchor', 'end')
    .attr('font-size', fs)
    .attr('fill', INK)
    .text((i) => String(i));
  const right = evaluation.accuracy * 100;
  label(
    g,
    'title',
    `predicted →   (test, epoch ${evaluation.epoch}: ${right.toFixed(1)}% right)`,
    left,
    Math.round(1.1 * fs),
    {
      fill: INK,
    },
  );
  label(g, 'axis-true', 'true ↓', 2, top - 0.4 * fs, { fill: INK });
}
