/**
 * The weights view's SVG rendering of a panel: its frame (title, background, accessible name),
 * the cells of a small matrix, and the colour legend; and the SVG helpers the view's parts share.
 */
import { format, select } from 'd3';
import type { Matrix } from '../../worker/protocol';
import { diverging, signedColor } from '../theme';
import { setAttr, setAttrs, setStyle, setText, SVG_NS, textWidth } from './common';
import { hasConnection, panelGrid, type PanelBox } from './weightsModel';

/** Colour limits, two significant digits. */
const fmtLimit = format('.2~g');

/** `text` shortened with an ellipsis to about `width` pixels at type size fs. */
export function fit(text: string, width: number, fs: number): string {
  const max = Math.max(1, Math.floor(width / (0.58 * fs)));
  return text.length <= max ? text : text.slice(0, Math.max(1, max - 1)) + '…';
}

/** The child `<tag class="cls">` of `parent` (created on first use). */
export function svgChild<T extends SVGElement>(parent: Element, tag: string, cls: string): T {
  for (const c of Array.from(parent.children))
    if (c.localName === tag && c.getAttribute('class') === cls) return c as T;
  const el = parent.ownerDocument.createElementNS(SVG_NS, tag) as T;
  el.setAttribute('class', cls);
  parent.appendChild(el);
  return el;
}

/** The child of `g` matching `selector` (created with the panel). */
export function child(g: SVGGElement, selector: string): SVGElement {
  const el = g.querySelector<SVGElement>(selector);
  if (!el) throw new Error(`weights panel without ${selector}`);
  return el;
}

/** The panel's frame: accessible name, title, background (none under a canvas), empty text. */
export function drawPanelFrame(g: SVGGElement, box: PanelBox, painted: boolean, fs: number): void {
  const { panel, x, y } = box;
  const m = panel.matrix;
  const { rows, cols, w, h } = panelGrid(box);
  const editable = panel.editable;
  // Attributes and texts are written only when they change: every write re-styles the element,
  // and this runs on every new weights snapshot (twice a second while training).
  setAttrs(g, {
    tabindex: editable ? 0 : null,
    role: editable ? 'group' : 'img',
    'aria-roledescription': editable ? 'editable matrix' : null,
    'aria-label': m
      ? `${panel.title}: ${rows}×${cols}, colour limit ±${fmtLimit(panel.limit)}` +
        (editable ? '; arrow keys choose a weight, Enter edits it' : '')
      : `${panel.title}: no update yet`,
  });
  setStyle(g, { outline: 'none' });
  const titleEl = child(g, 'text.title');
  setAttrs(titleEl, { x, y: y - 3, fill: 'currentColor', 'font-weight': 600 });
  setText(titleEl, fit(panel.title, box.boxW, fs));
  const bg = child(g, 'rect.bg');
  setAttrs(bg, {
    x,
    y,
    width: w,
    height: h,
    fill: painted ? 'none' : '#fbfbfb',
  });
  setStyle(bg, { fill: painted ? 'none' : 'var(--panel, #fbfbfb)' });
  setAttrs(bg, { stroke: '#bbb', 'stroke-width': 0.5 });
  const emptyEl = child(g, 'text.empty');
  setAttrs(emptyEl, {
    x: x + 4,
    y: y + Math.round(fs * 1.4),
    fill: 'currentColor',
    'fill-opacity': 0.7,
  });
  setText(
    emptyEl,
    !m
      ? 'no update yet'
      : panel.mask && !hasConnection(panel.mask)
        ? 'no connections (masked)'
        : '',
  );
}

/** One SVG rect per weight of a small matrix (none when it is painted on a canvas). */
export function drawCells(cellsG: SVGGElement, box: PanelBox, painted: boolean): void {
  const { panel, x, y, cw, ch } = box;
  const m = panel.matrix;
  const { rows, cols } = panelGrid(box);
  const limit = panel.limit;
  const cellData = m && !painted ? Array.from({ length: rows * cols }, (_, q) => q) : [];
  select(cellsG)
    .selectAll<SVGRectElement, number>('rect.cell')
    .data(cellData)
    .join((enter) => enter.append('rect').attr('class', 'cell'))
    // Only what changed is written: thousands of cells re-set on every update re-styled the
    // whole view (long tasks while training).
    .each(function (q) {
      setAttr(this, 'x', (x + (q % cols) * cw).toFixed(2));
      setAttr(this, 'y', (y + Math.floor(q / cols) * ch).toFixed(2));
      setAttr(this, 'width', cw.toFixed(2));
      setAttr(this, 'height', ch.toFixed(2));
      setAttr(
        this,
        'fill',
        panel.mask && panel.mask[q] === 0 ? 'none' : signedColor(m?.data[q] ?? 0, limit),
      );
    });
}

export function drawLegend(
  legend: SVGGElement,
  box: { x: number; y: number; boxW: number },
  h: number,
  limit: number,
  m: Matrix | null,
  fs: number,
): void {
  const { x, y } = box;
  // Legend: the colour bar from −limit to +limit, its end labels when they fit.
  const lw = Math.max(40, Math.min(Math.max(110, 9 * fs), box.boxW - 4));
  const steps = 16;
  const barH = Math.max(6, Math.round(fs * 0.6));
  setAttrs(legend, { transform: `translate(${x},${y + h + 4})`, display: m ? null : 'none' });
  select(legend)
    .selectAll<SVGRectElement, number>('rect')
    .data(Array.from({ length: steps }, (_, q) => q))
    .join('rect')
    .each(function (q) {
      setAttrs(this, {
        x: ((q * lw) / steps).toFixed(2),
        y: 0,
        width: (lw / steps + 0.3).toFixed(2),
        height: barH,
        fill: diverging(q / (steps - 1)),
      });
    });
  const text = fmtLimit(limit);
  const wide = lw >= textWidth(2 * (text.length + 1) + 1, fs) + 2 * fs;
  const labels = !(limit > 0)
    ? [{ x: lw / 2, anchor: 'middle', text: 'all zero' }]
    : wide
      ? [
          { x: 0, anchor: 'start', text: `−${text}` },
          { x: lw / 2, anchor: 'middle', text: '0' },
          { x: lw, anchor: 'end', text: `+${text}` },
        ]
      : [{ x: lw / 2, anchor: 'middle', text: `±${text}` }];
  select(legend)
    .selectAll<SVGTextElement, (typeof labels)[number]>('text')
    .data(labels)
    .join('text')
    .each(function (d) {
      setAttrs(this, {
        class: 'tick-label',
        x: d.x,
        y: barH + Math.round(fs * 1.05),
        'text-anchor': d.anchor,
        fill: 'currentColor',
      });
      setText(this, d.text);
    });
}
