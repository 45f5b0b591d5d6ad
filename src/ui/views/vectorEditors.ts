/**
 * The weights view's inputs for x and (regression) the target: one field per entry for short
 * vectors, an index and a value for long ones (MNIST's 784 pixels). Edits become commands.
 */
import { select } from 'd3';
import type { SimView } from '../../state/simView';
import type { Command } from '../../worker/protocol';

export function htmlChild<T extends HTMLElement>(parent: HTMLElement, tag: string, cls: string): T {
  for (const c of Array.from(parent.children))
    if (c.localName === tag && c.classList.contains(cls)) return c as T;
  const el = parent.ownerDocument.createElement(tag) as T;
  el.className = cls;
  parent.appendChild(el);
  return el;
}

/** Inputs for x and (regression) the target, at most eight entries each. */
export function drawVectorEditors(
  host: HTMLElement,
  sim: SimView,
  width: number,
  height: number,
  send: (cmd: Command) => void,
  EDITORS_H = 26,
): void {
  const div = htmlChild<HTMLDivElement>(host, 'div', 'vector-editors');
  Object.assign(div.style, {
    position: 'absolute',
    left: '0',
    top: `${Math.max(0, height - EDITORS_H)}px`,
    width: `${width}px`,
    height: `${EDITORS_H}px`,
    display: 'flex',
    gap: '12px',
    alignItems: 'center',
    overflow: 'hidden',
    whiteSpace: 'nowrap',
  });
  const s = sim.latest;
  const classification = sim.task?.classification ?? false;
  const groups: { target: 'input' | 'target'; symbol: string; values: Float32Array }[] = [];
  if (s) {
    groups.push({ target: 'input', symbol: 'x', values: s.x });
    if (!classification) groups.push({ target: 'target', symbol: 't', values: s.target });
  }
  const doc = host.ownerDocument;
  // Short vectors: one input per entry. Long ones (MNIST's 784 pixels): an index and a value.
  const entries = groups.reduce((a, g) => a + (g.values.length > 8 ? 2 : g.values.length), 0);
  const labelW =
    groups.reduce((a, g) => a + (g.values.length > 8 ? 40 : 16), 0) + 12 * groups.length;
  const inputW = Math.max(38, Math.min(64, (width - labelW) / Math.max(1, entries) - 3));
  select(div)
    .selectAll<HTMLSpanElement, (typeof groups)[number]>('span.vector')
    .data(groups, (d) => d.target)
    .join((enter) =>
      enter
        .append('span')
        .attr('class', 'vector')
        .style('display', 'inline-flex')
        .style('gap', '3px')
        .style('align-items', 'center'),
    )
    .each((group, q, nodes) => {
      const span = nodes[q];
      const len = group.values.length;
      const long = len > 8;
      const name = group.target === 'input' ? 'input' : 'target';
      select(span)
        .selectAll<HTMLSpanElement, number>('span.label')
        .data([0])
        .join('span')
        .attr('class', 'label')
        .text(long ? `${group.symbol}[` : group.symbol);
      // The entry a long vector's value input edits (kept on the span).
      const picked = Math.max(0, Math.min(len - 1, Number(span.dataset.index ?? 0) || 0));
      select(span)
        .selectAll<HTMLInputElement, number>('input.index')
        .data(long ? [picked] : [])
        .join((enter) =>
          enter
            .append('input')
            .attr('class', 'index')
            .attr('type', 'number')
            .attr('step', 1)
            .attr('min', 0)
            .style('font', 'inherit'),
        )
        .attr('max', len - 1)
        .attr('aria-label', `which ${name} entry ${group.symbol}[i] to edit`)
        .style('width', `${Math.floor(inputW)}px`)
        .each(function (v) {
          if (doc.activeElement !== this) this.value = String(v);
        })
        .on('change', function () {
          const v = Math.round(Number(this.value));
          if (!Number.isFinite(v)) return;
          span.dataset.index = String(Math.max(0, Math.min(len - 1, v)));
          const value = span.querySelector<HTMLInputElement>('input.value');
          if (value) {
            const k = Number(span.dataset.index);
            value.dataset.index = String(k);
            value.setAttribute('aria-label', `${name} ${group.symbol}[${k}]`);
            value.value = Number(group.values[k].toPrecision(4)).toString();
          }
        });
      select(span)
        .selectAll<HTMLSpanElement, number>('span.equals')
        .data(long ? [0] : [])
        .join('span')
        .attr('class', 'equals')
        .text('] =');
      select(span)
        .selectAll<HTMLInputElement, number>('input.value')
        .data(long ? [picked] : Array.from({ length: len }, (_, k) => k))
        .join((enter) =>
          enter
            .append('input')
            .attr('class', 'value')
            .attr('type', 'number')
            .attr('step', 0.1)
            .style('font', 'inherit'),
        )
        .style('width', `${Math.floor(inputW)}px`)
        .attr('aria-label', (k) => `${name} ${group.symbol}[${k}]`)
        .attr('data-index', (k) => k)
        .each(function (k) {
          // Keep what the user is typing; otherwise show the engine's value.
          if (doc.activeElement !== this)
            this.value = Number(group.values[k].toPrecision(4)).toString();
        })
        .on('change', function () {
          const value = Number(this.value);
          const index = Number(this.dataset.index);
          if (this.value.trim() === '' || !Number.isFinite(value)) return;
          send({ type: 'edit', target: group.target, index, value });
        });
    });
  if (s && classification) {
    const label = s.target.indexOf(Math.max(...s.target));
    select(div)
      .selectAll<HTMLSpanElement, number>('span.class-label')
      .data([label])
      .join('span')
      .attr('class', 'class-label')
      .text((c) => `class ${c}`);
  } else select(div).selectAll('span.class-label').remove();
}
