/**
 * The weights view's drawing (DESIGN.md §4): data in, SVG (and canvas) out. Heatmaps of a
 * parameter, its last update and the applied step, and the feedback weights, each with a
 * symmetric colour limit and legend; alignment numbers on top. Small matrices are SVG cells;
 * those of more than SVG_CELLS entries are painted on a canvas at the panel's size, and those
 * larger than CANVAS_THRESHOLD in either dimension one pixel per weight. Hovering any matrix
 * reads out (row, column, value), and a click on a large one opens a zoom on it (wheel zooms,
 * drag pans, arrow keys move, Escape closes). Weights are editable by hand: click
 * or Enter on a cell opens a numeric input → an `edit` command.
 */
import { color as d3color, format, scaleLinear, select } from 'd3';
import type { SimView } from '../../state/simView';
import type { Command, Matrix, ParamKey, WeightsSnapshot } from '../../worker/protocol';
import { diverging, OKABE_ITO, signedColor, strokeScale } from '../theme';
import { drawAxis, fontSize, setAttr, setAttrs, setText, SVG_NS, textWidth } from './common';
import { drawVectorEditors, htmlChild } from './vectorEditors';
import {
  alignmentText,
  CANVAS_THRESHOLD,
  weightsMetrics,
  type AlignmentItem,
  hasConnection,
  layoutPanels,
  SVG_CELLS,
  weightPanels,
  type MainParam,
  type Panel,
  type PanelBox,
} from './weightsModel';

export interface WeightsModel {
  sim: SimView;
  /** Which parameter the first three panels show. */
  matrix: MainParam;
  /** 'rbp' runs show −∇L in place of the LCP direction. */
  method?: 'lcp' | 'rbp';
}

const fmt = format('.3~g');
const fmtLimit = format('.2~g');

/** `text` shortened with an ellipsis to about `width` pixels at type size fs. */
function fit(text: string, width: number, fs: number): string {
  const max = Math.max(1, Math.floor(width / (0.58 * fs)));
  return text.length <= max ? text : text.slice(0, Math.max(1, max - 1)) + '…';
}

/** The LUT's index (0–255) of v on the signed scale with colour limit `limit`. */
const lutIndex = (v: number, limit: number) =>
  Math.round(((Math.max(-1, Math.min(1, limit > 0 ? v / limit : 0)) + 1) / 2) * 255);

/** 256 colours of the signed scale as CSS strings (for canvas fills). */
let lutCss: string[] | null = null;
function signedLutCss(): string[] {
  if (lutCss) return lutCss;
  const c = signedLut();
  lutCss = Array.from(
    { length: 256 },
    (_, q) => `rgb(${c[3 * q]},${c[3 * q + 1]},${c[3 * q + 2]})`,
  );
  return lutCss;
}

/** 256 colours of the signed scale as RGB triples (for canvas painting). */
let lut: Uint8ClampedArray | null = null;
function signedLut(): Uint8ClampedArray {
  if (lut) return lut;
  lut = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) {
    const c = d3color(diverging(q / 255))?.rgb();
    lut[3 * q] = c?.r ?? 0;
    lut[3 * q + 1] = c?.g ?? 0;
    lut[3 * q + 2] = c?.b ?? 0;
  }
  return lut;
}

interface WeightsUi {
  cursor: Map<string, [number, number]>;
  editing: { name: ParamKey; row: number; col: number; original: string } | null;
  send: (cmd: Command) => void;
  boxes: PanelBox[];
  offsetY: number;
  /** What the panels were last drawn from (they are skipped when unchanged). */
  drawn: { weights: WeightsSnapshot | null; key: string } | null;
  /** The zoom on a large matrix: its panel and the window shown (top-left cell, side). */
  zoom: Zoom | null;
  /** Draw again with the last arguments (zoom interactions). */
  redraw: () => void;
}

export interface Zoom {
  key: string;
  row: number;
  col: number;
  size: number;
  /** The cell under the keyboard cursor. */
  cursor: [number, number];
}

/** Fewest cells along a zoom window's shorter side. */
export const ZOOM_MIN = 4;
const uiState = new WeakMap<HTMLElement, WeightsUi>();

function svgChild<T extends SVGElement>(parent: Element, tag: string, cls: string): T {
  for (const c of Array.from(parent.children))
    if (c.localName === tag && c.getAttribute('class') === cls) return c as T;
  const el = parent.ownerDocument.createElementNS(SVG_NS, tag) as T;
  el.setAttribute('class', cls);
  parent.appendChild(el);
  return el;
}

/** Open the numeric editor over cell (row, col) of `name`; Enter (or leaving it) sends the edit. */
export function openCellEditor(
  host: HTMLElement,
  cell: { name: ParamKey; row: number; col: number; value: number },
  at: { left: number; top: number; width: number; height: number },
): HTMLInputElement {
  const ui = uiState.get(host);
  const input = htmlChild<HTMLInputElement>(host, 'input', 'cell-editor');
  input.type = 'number';
  input.step = 'any';
  input.setAttribute('aria-label', `${cell.name}[${cell.row}, ${cell.col}]`);
  const w = Math.max(72, at.width);
  const h = Math.max(22, at.height);
  Object.assign(input.style, {
    position: 'absolute',
    left: `${Math.max(0, at.left + at.width / 2 - w / 2)}px`,
    top: `${Math.max(0, at.top + at.height / 2 - h / 2)}px`,
    width: `${w}px`,
    height: `${h}px`,
    display: 'block',
    zIndex: '2',
    font: 'inherit',
    fontSize: '12px',
    boxSizing: 'border-box',
  });
  const original = Number(cell.value.toPrecision(6)).toString();
  input.value = original;
  if (ui) ui.editing = { name: cell.name, row: cell.row, col: cell.col, original };
  if (!input.dataset.bound) {
    input.dataset.bound = '1';
    const close = (commit: boolean) => {
      const state = uiState.get(host);
      const edit = state?.editing;
      if (!state || !edit) return;
      state.editing = null;
      input.style.display = 'none';
      const value = Number(input.value);
      if (
        commit &&
        input.value.trim() !== '' &&
        Number.isFinite(value) &&
        input.value !== edit.original
      )
        state.send({
          type: 'edit',
          target: 'param',
          name: edit.name,
          row: edit.row,
          col: edit.col,
          value,
        });
      const panel = host.querySelector<SVGGElement>(`g.panel[data-panel="${edit.name}"]`);
      panel?.focus();
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        close(true);
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        close(false);
      }
    });
    input.addEventListener('blur', () => close(true));
  }
  input.focus();
  input.select?.();
  return input;
}

/**
 * Draw the weights view into `host` (an HTML element with position: relative) at width × height:
 * an SVG with the heatmaps (canvases on top of the big ones), a cell editor and the x/target
 * inputs. `send` receives the edit commands.
 */
export function drawWeights(
  host: HTMLElement,
  model: WeightsModel,
  width: number,
  height: number,
  send: (cmd: Command) => void,
): void {
  let ui = uiState.get(host);
  if (!ui) {
    ui = {
      cursor: new Map(),
      editing: null,
      send,
      boxes: [],
      offsetY: 0,
      drawn: null,
      zoom: null,
      redraw: () => undefined,
    };
    uiState.set(host, ui);
  }
  ui.send = send;
  const state = ui;
  ui.redraw = () => {
    state.drawn = null;
    drawWeights(host, model, width, height, send);
  };
  const sim = model.sim;
  const fs = fontSize();
  const metrics = weightsMetrics(fs);
  const svgH = Math.max(0, height - metrics.editorsH);
  // Canvases (big matrices) lie under the SVG, whose cursor, focus ring and hit areas stay on top.
  const layer = htmlChild<HTMLDivElement>(host, 'div', 'canvas-layer');
  Object.assign(layer.style, { position: 'absolute', left: '0', top: '0', pointerEvents: 'none' });
  const svgEl = svgChild<SVGSVGElement>(host, 'svg', 'weights-svg');
  select(svgEl)
    .attr('width', width)
    .attr('height', svgH)
    .attr('viewBox', `0 0 ${width} ${svgH}`)
    .attr('font-size', fs)
    .attr('font-family', null)
    .style('position', 'absolute')
    .style('left', '0')
    .style('top', '0');

  const panels = weightPanels(sim, model.matrix, model.method);
  select(svgChild<SVGTextElement>(svgEl, 'text', 'message'))
    .attr('x', width / 2)
    .attr('y', svgH / 2)
    .attr('text-anchor', 'middle')
    .attr('fill', 'currentColor')
    .text(panels.length ? '' : 'Waiting for the engine…');

  // Alignment numbers on top, as many to a line as fit; each has its definition as tooltip.
  const items = alignmentText(sim, model.matrix);
  const placed: { item: AlignmentItem; x: number; line: number }[] = [];
  let line = 0;
  let at = 0;
  for (const item of items) {
    const w = textWidth(item.text.length, fs) * 0.85;
    if (at > 0 && at + w > width) {
      line++;
      at = 0;
    }
    placed.push({ item, x: at, line });
    at += w + 1.5 * fs;
  }
  const lineH = Math.round(fs * 1.25);
  const fullTop = Math.max(metrics.titleH, (items.length ? line + 1 : 0) * lineH + 4);
  // No room for the matrices under the alignment lines (lecture type in a small view): the
  // numbers move to the read-out line (until a hover replaces them) and the matrices keep it.
  const cramped = svgH - fullTop - metrics.readoutH < 4 * fs;
  const topH = cramped ? 4 : fullTop;
  select(svgChild<SVGGElement>(svgEl, 'g', 'alignment'))
    .selectAll<SVGTextElement, (typeof placed)[number]>('text')
    .data(cramped ? [] : placed)
    .join((enter) => enter.append('text').call((t) => t.append('title')))
    .attr('x', (d) => d.x)
    .attr('y', (d) => fs + d.line * lineH)
    .attr('fill', 'currentColor')
    .attr('fill-opacity', (d) => (d.item.muted ? 0.55 : null))
    .attr('data-muted', (d) => (d.item.muted ? '1' : null))
    .each(function (d) {
      const first = this.firstChild;
      if (first && first.nodeType === Node.TEXT_NODE) first.textContent = d.item.text;
      else this.insertBefore(this.ownerDocument.createTextNode(d.item.text), first);
    })
    .select('title')
    .text((d) => d.item.title);

  drawVectorEditors(host, sim, width, height, send, metrics.editorsH);
  const zoomed = ui.zoom && panels.find((p) => p.key === ui.zoom?.key && p.matrix);
  if (ui.zoom && !zoomed) ui.zoom = null;
  const key = `${model.matrix}|${model.method}|${width}x${height}|${fs}|${strokeScale()}|${topH}|${JSON.stringify(ui.zoom)}`;
  if (ui.drawn && ui.drawn.weights === sim.weights && ui.drawn.key === key) return;
  ui.drawn = { weights: sim.weights, key };

  const areaH = svgH - topH - metrics.readoutH;
  const readout = select(svgChild<SVGTextElement>(svgEl, 'text', 'readout'))
    .attr('x', 0)
    .attr('y', svgH - Math.round(fs * 0.35))
    .attr('fill', 'currentColor');
  if (cramped) readout.text(items.map((a) => a.text).join('   '));
  const showValue = (p: Panel, row: number, col: number) => {
    const v = p.matrix ? p.matrix.data[row * p.matrix.cols + col] : NaN;
    const big = !!p.matrix && isBig(p.matrix);
    const hint = p.editable ? '  (click or Enter to edit)' : '';
    readout.text(
      `${p.key}[${row}, ${col}] = ${fmt(v)}${ui.zoom ? hint : big ? '  (click to zoom)' : hint}`,
    );
  };
  ui.offsetY = topH;
  const area = select(svgChild<SVGGElement>(svgEl, 'g', 'panels')).attr(
    'transform',
    `translate(0,${topH})`,
  );
  const zoomG = svgChild<SVGGElement>(svgEl, 'g', 'zoom');
  zoomG.setAttribute('transform', `translate(0,${topH})`);
  const usedCanvases = new Set<string>();
  if (zoomed && ui.zoom) {
    area.attr('display', 'none');
    zoomG.removeAttribute('display');
    drawZoom(host, zoomG, zoomed, ui, { width, height: areaH, fs }, showValue, usedCanvases, layer);
  } else {
    area.attr('display', null);
    zoomG.setAttribute('display', 'none');
    htmlChild<HTMLButtonElement>(host, 'button', 'zoom-close').style.display = 'none';
    const boxes = layoutPanels(panels, width, areaH, fs);
    ui.boxes = boxes;
    area
      .selectAll<SVGGElement, PanelBox>('g.panel')
      .data(boxes, (b) => b.panel.key)
      .join((enter) =>
        enter
          .append('g')
          .attr('class', 'panel')
          .each((_, q, nodes) => {
            const g = nodes[q];
            for (const [tag, cls] of [
              ['rect', 'bg'],
              ['g', 'cells'],
              ['rect', 'hit'],
              ['rect', 'cursor'],
              ['rect', 'focus-ring'],
              ['text', 'title'],
              ['text', 'empty'],
              ['g', 'legend'],
            ])
              svgChild(g, tag, cls);
          }),
      )
      .attr('data-panel', (b) => b.panel.key)
      .each(function (box) {
        drawPanel(host, this, box, ui, showValue, usedCanvases, layer, fs);
      });
  }
  // Drop canvases of panels no longer painted on one.
  for (const c of Array.from(layer.querySelectorAll<HTMLCanvasElement>('canvas')))
    if (!usedCanvases.has(c.dataset.panel ?? '')) c.remove();
}

const isBig = (m: Matrix) => m.rows > CANVAS_THRESHOLD || m.cols > CANVAS_THRESHOLD;

/** Open the zoom on `panel` centred on (row, col). */
function openZoom(ui: WeightsUi, panel: Panel, row: number, col: number): void {
  const m = panel.matrix;
  if (!m) return;
  // Size 0: the drawing picks a window whose cells are legible in the room it has, centred on
  // the clicked cell.
  ui.zoom = { key: panel.key, row, col, size: 0, cursor: [row, col] };
  ui.redraw();
}

/** Smallest zoomed cell (px) at type size fs: a cell one can point at and see the colour of. */
const legibleCell = (fs: number) => Math.max(10, Math.round(fs * 1.1));

/** Keep the window inside the matrix (whole cells) and the cursor inside the matrix. */
export function clampZoom(z: Zoom, m: { rows: number; cols: number }): Zoom {
  // 0 = not chosen yet (the drawing picks it).
  const size =
    z.size <= 0 ? 0 : Math.max(ZOOM_MIN, Math.min(Math.round(z.size), Math.max(m.rows, m.cols)));
  const clamp = (v: number, n: number) =>
    Math.max(0, Math.min(Math.round(v), Math.max(0, n - size)));
  return {
    key: z.key,
    size,
    row: clamp(z.row, m.rows),
    col: clamp(z.col, m.cols),
    cursor: [
      Math.max(0, Math.min(m.rows - 1, z.cursor[0])),
      Math.max(0, Math.min(m.cols - 1, z.cursor[1])),
    ],
  };
}

/**
 * The zoom on one large matrix: a window of size × size cells painted on a canvas (pixelated,
 * one block per weight), row and column indices as axes, the colour legend, and a hit area:
 * hover reads the value out, the wheel zooms about the pointer, a drag pans, a click selects
 * (and edits an editable matrix); the keyboard moves (arrows), zooms (+ −) and closes (Escape).
 */
function drawZoom(
  host: HTMLElement,
  g: SVGGElement,
  panel: Panel,
  ui: WeightsUi,
  box: { width: number; height: number; fs: number },
  showValue: (p: Panel, row: number, col: number) => void,
  usedCanvases: Set<string>,
  layer: HTMLDivElement,
): void {
  const m = panel.matrix;
  const z0 = ui.zoom;
  if (!m || !z0) return;
  const { fs } = box;
  const left = Math.round(fs * 3);
  const top = Math.round(fs * 1.5);
  const bottom = Math.round(fs * 1.8);
  const legendH = Math.round(fs * 2.2);
  const availW = Math.max(1, box.width - left - 8);
  const availH = Math.max(1, box.height - top - bottom - legendH);
  // The window: `size` cells along the shorter side of the room (legible cells when the zoom
  // opens), as many along the longer side as fit, inside the matrix.
  const opening = z0.size <= 0;
  const size = opening
    ? Math.min(
        Math.max(m.rows, m.cols),
        Math.max(ZOOM_MIN, Math.floor(Math.min(availW, availH) / legibleCell(fs))),
      )
    : z0.size;
  const cell = Math.max(1, Math.floor(Math.min(availW, availH) / size));
  const rows = Math.max(1, Math.min(m.rows, Math.floor(availH / cell)));
  const cols = Math.max(1, Math.min(m.cols, Math.floor(availW / cell)));
  const z = clampZoom(
    opening
      ? {
          ...z0,
          size,
          row: z0.cursor[0] - Math.floor(rows / 2),
          col: z0.cursor[1] - Math.floor(cols / 2),
        }
      : z0,
    m,
  );
  // Whole windows inside the matrix along each axis.
  z.row = Math.max(0, Math.min(z.row, m.rows - rows));
  z.col = Math.max(0, Math.min(z.col, m.cols - cols));
  ui.zoom = z;
  // A zoom just opened reads out the cell it was opened on.
  if (opening) showValue(panel, z.cursor[0], z.cursor[1]);
  const w = cell * cols;
  const h = cell * rows;
  select(g)
    .attr('tabindex', 0)
    .attr('role', 'group')
    .attr('data-panel', panel.key)
    .attr(
      'aria-label',
      `${panel.title}, zoomed: rows ${z.row}–${z.row + rows - 1}, columns ${z.col}–${z.col + cols - 1} of ${m.rows}×${m.cols}; arrow keys move, + and − zoom, Escape returns` +
        (panel.editable ? ', Enter edits' : ''),
    )
    .style('outline', 'none');
  select(svgChild<SVGTextElement>(g, 'text', 'title'))
    .attr('x', left)
    .attr('y', top - Math.round(fs * 0.4))
    .attr('fill', 'currentColor')
    .attr('font-weight', 600)
    .text(
      fit(
        `${panel.title}: rows ${z.row}–${z.row + rows - 1}, cols ${z.col}–${z.col + cols - 1} of ${m.rows}×${m.cols}`,
        box.width - left - textWidth(6, fs),
        fs,
      ),
    );
  // Row and column indices at the cells' centres.
  const xs = scaleLinear()
    .domain([z.col - 0.5, z.col + cols - 0.5])
    .range([left, left + w]);
  const ys = scaleLinear()
    .domain([z.row - 0.5, z.row + rows - 0.5])
    .range([top, top + h]);
  const whole = (sc: typeof xs) => sc.ticks(12).filter(Number.isInteger);
  const ax = svgChild<SVGGElement>(g, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${top + h})`);
  drawAxis(ax, xs, 'bottom', { fs, values: whole(xs) });
  const ay = svgChild<SVGGElement>(g, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${left},0)`);
  drawAxis(ay, ys, 'left', { fs, values: whole(ys) });

  // The window's weights, one canvas pixel each, scaled up without smoothing.
  usedCanvases.add(`zoom:${panel.key}`);
  let canvas = Array.from(layer.querySelectorAll('canvas')).find(
    (c) => c.dataset.panel === `zoom:${panel.key}`,
  );
  if (!canvas) {
    canvas = host.ownerDocument.createElement('canvas');
    canvas.dataset.panel = `zoom:${panel.key}`;
    layer.appendChild(canvas);
  }
  canvas.width = cols;
  canvas.height = rows;
  Object.assign(canvas.style, {
    position: 'absolute',
    left: `${left}px`,
    top: `${top + ui.offsetY}px`,
    width: `${w}px`,
    height: `${h}px`,
    imageRendering: 'pixelated',
  });
  const sub = new Float32Array(rows * cols);
  const subMask = panel.mask ? new Float32Array(rows * cols) : null;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const q = (z.row + r) * m.cols + z.col + c;
      sub[r * cols + c] = m.data[q];
      if (subMask && panel.mask) subMask[r * cols + c] = panel.mask[q];
    }
  paintCanvas(canvas, { rows, cols, data: sub }, panel.limit, subMask);

  const cursorRect = select(svgChild<SVGRectElement>(g, 'rect', 'cursor'))
    .attr('fill', 'none')
    .attr('stroke', OKABE_ITO.black)
    .style('stroke', 'currentColor')
    .attr('stroke-width', 2)
    .attr('pointer-events', 'none');
  const placeCursor = () => {
    const zz = ui.zoom;
    if (!zz) return;
    const [r, c] = zz.cursor;
    const inside = r >= zz.row && r < zz.row + rows && c >= zz.col && c < zz.col + cols;
    cursorRect
      .attr('display', inside ? null : 'none')
      .attr('x', left + (c - zz.col) * cell - 1)
      .attr('y', top + (r - zz.row) * cell - 1)
      .attr('width', cell + 2)
      .attr('height', cell + 2);
  };
  placeCursor();

  const move = (next: Partial<Zoom>) => {
    const zz = ui.zoom;
    if (!zz) return;
    ui.zoom = clampZoom({ ...zz, ...next }, m);
    ui.redraw();
  };
  const edit = (r: number, c: number) => {
    if (!panel.editable) return;
    openCellEditor(
      host,
      { name: panel.name, row: r, col: c, value: m.data[r * m.cols + c] },
      {
        left: left + (c - z.col) * cell,
        top: top + ui.offsetY + (r - z.row) * cell,
        width: cell,
        height: cell,
      },
    );
  };
  const cellAt = (ev: MouseEvent): [number, number] | null => {
    const rect = (ev.currentTarget as SVGRectElement).getBoundingClientRect();
    const fx = rect.width > 0 ? (ev.clientX - rect.left) / rect.width : NaN;
    const fy = rect.height > 0 ? (ev.clientY - rect.top) / rect.height : NaN;
    if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return null;
    return [z.row + Math.floor(fy * rows), z.col + Math.floor(fx * cols)];
  };
  let dragFrom: { x: number; y: number; row: number; col: number; moved: boolean } | null = null;
  select(svgChild<SVGRectElement>(g, 'rect', 'hit'))
    .attr('x', left)
    .attr('y', top)
    .attr('width', w)
    .attr('height', h)
    .attr('fill', 'transparent')
    .style('cursor', 'grab')
    .on('mousemove', (ev: MouseEvent) => {
      const rc = cellAt(ev);
      if (rc) showValue(panel, rc[0], rc[1]);
      if (dragFrom && ev.buttons & 1) {
        const dc = Math.round((dragFrom.x - ev.clientX) / cell);
        const dr = Math.round((dragFrom.y - ev.clientY) / cell);
        if (dc || dr) {
          dragFrom.moved = true;
          move({ row: dragFrom.row + dr, col: dragFrom.col + dc });
        }
      }
    })
    .on('mousedown', (ev: MouseEvent) => {
      dragFrom = { x: ev.clientX, y: ev.clientY, row: z.row, col: z.col, moved: false };
    })
    .on('mouseup', (ev: MouseEvent) => {
      const wasDrag = dragFrom?.moved;
      dragFrom = null;
      if (wasDrag) return;
      const rc = cellAt(ev);
      if (!rc) return;
      ui.zoom = { ...(ui.zoom ?? z), cursor: rc };
      placeCursor();
      showValue(panel, rc[0], rc[1]);
      edit(rc[0], rc[1]);
    })
    .on('wheel', (ev: WheelEvent) => {
      ev.preventDefault();
      const rc = cellAt(ev) ?? [z.row + rows / 2, z.col + cols / 2];
      const size = Math.round(z.size * (ev.deltaY > 0 ? 1.5 : 1 / 1.5));
      // Zoom about the cell under the pointer: it stays where it is.
      const fr = (rc[0] - z.row) / rows;
      const fc = (rc[1] - z.col) / cols;
      move({ size, row: rc[0] - fr * size, col: rc[1] - fc * size });
    });
  select(g).on('keydown', (ev: KeyboardEvent) => {
    const zz = ui.zoom;
    if (!zz || ev.target !== g) return;
    const [r, c] = zz.cursor;
    const steps: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    };
    if (ev.key in steps) {
      ev.preventDefault();
      const [dr, dc] = steps[ev.key];
      const cursor: [number, number] = [r + dr, c + dc];
      // Keep the cursor in the window: pan when it leaves.
      const row =
        cursor[0] < zz.row ? cursor[0] : cursor[0] >= zz.row + rows ? cursor[0] - rows + 1 : zz.row;
      const col =
        cursor[1] < zz.col ? cursor[1] : cursor[1] >= zz.col + cols ? cursor[1] - cols + 1 : zz.col;
      move({ cursor, row, col });
      showValue(
        panel,
        Math.max(0, Math.min(m.rows - 1, cursor[0])),
        Math.max(0, Math.min(m.cols - 1, cursor[1])),
      );
    } else if (ev.key === '+' || ev.key === '=' || ev.key === '-') {
      ev.preventDefault();
      const size = Math.round(zz.size * (ev.key === '-' ? 1.5 : 1 / 1.5));
      move({ size, row: r - size / 2, col: c - size / 2 });
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      closeZoom(host, ui);
    } else if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      edit(r, c);
    }
  });
  drawLegend(
    svgChild<SVGGElement>(g, 'g', 'legend'),
    { x: left, y: top, boxW: Math.min(w, 12 * fs) },
    h + bottom - 4,
    panel.limit,
    m,
    fs,
  );
  // A button back to all panels (HTML: reachable with Tab, labelled for screen readers).
  const close = htmlChild<HTMLButtonElement>(host, 'button', 'zoom-close');
  close.type = 'button';
  close.textContent = '× all panels';
  close.setAttribute('aria-label', `Close the zoom on ${panel.title}`);
  Object.assign(close.style, {
    display: 'block',
    position: 'absolute',
    right: '2px',
    top: `${ui.offsetY}px`,
    font: 'inherit',
    fontSize: `${fs}px`,
    padding: '0 0.3em',
    zIndex: '2',
  });
  close.onclick = () => closeZoom(host, ui);
}

function closeZoom(host: HTMLElement, ui: WeightsUi): void {
  const key = ui.zoom?.key;
  ui.zoom = null;
  ui.redraw();
  host.querySelector<SVGGElement>(`g.panel[data-panel="${key}"]`)?.focus();
}

function drawPanel(
  host: HTMLElement,
  g: SVGGElement,
  box: PanelBox,
  ui: WeightsUi,
  showValue: (p: Panel, row: number, col: number) => void,
  usedCanvases: Set<string>,
  layer: HTMLDivElement,
  fs: number,
): void {
  const { panel, x, y, cw, ch } = box;
  const m = panel.matrix;
  const rows = m?.rows ?? 1;
  const cols = m?.cols ?? 1;
  const w = cw * cols;
  const h = ch * rows;
  const sel = select(g);
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
  const big = !!m && isBig(m);
  // Canvas or SVG cells: the canvas lies under the SVG, so the background stays transparent.
  const painted = !!m && (big || rows * cols > SVG_CELLS);
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
  const limit = panel.limit;
  const cellsG = g.querySelector('g.cells') as SVGGElement;
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

  // Big matrices: one canvas pixel per weight, scaled up (CSS), over the panel. Medium ones: a
  // canvas at the panel's size (device pixels), one block per weight.
  if (painted && m) {
    usedCanvases.add(panel.key);
    let canvas = Array.from(layer.querySelectorAll('canvas')).find(
      (c) => c.dataset.panel === panel.key,
    );
    if (!canvas) {
      canvas = host.ownerDocument.createElement('canvas');
      canvas.dataset.panel = panel.key;
      layer.appendChild(canvas);
    }
    const dpr = typeof devicePixelRatio === 'number' && devicePixelRatio > 0 ? devicePixelRatio : 1;
    const [pw, ph] = big ? [cols, rows] : [Math.round(w * dpr), Math.round(h * dpr)];
    if (canvas.width !== pw) canvas.width = pw;
    if (canvas.height !== ph) canvas.height = ph;
    setStyle(canvas, {
      position: 'absolute',
      left: `${x}px`,
      top: `${y + ui.offsetY}px`,
      width: `${w}px`,
      height: `${h}px`,
      imageRendering: big ? 'pixelated' : '',
    });
    if (big) paintCanvas(canvas, m, limit, panel.mask);
    else paintCells(canvas, m, limit, panel.mask);
  }

  // One transparent hit area: hover shows the value, a click edits it.
  const cellAt = (ev: MouseEvent): [number, number] | null => {
    const r = (ev.currentTarget as SVGRectElement).getBoundingClientRect();
    const fx = r.width > 0 ? (ev.clientX - r.left) / r.width : NaN;
    const fy = r.height > 0 ? (ev.clientY - r.top) / r.height : NaN;
    if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return null;
    return [Math.floor(fy * rows), Math.floor(fx * cols)];
  };
  const hitEl = child(g, 'rect.hit');
  setAttrs(hitEl, {
    x,
    y,
    width: w,
    height: h,
    fill: 'transparent',
  });
  setStyle(hitEl, { cursor: editable ? 'pointer' : 'crosshair' });
  setAttr(hitEl, 'display', painted ? null : 'none');
  const hit = select(hitEl);
  // Painted matrices: the canvas ignores pointer events, so this hit area over it answers them.
  hit
    .on('mousemove', (ev: MouseEvent) => {
      const rc = cellAt(ev);
      if (rc) showValue(panel, rc[0], rc[1]);
    })
    .on('click', (ev: MouseEvent) => {
      const rc = cellAt(ev);
      if (rc) activate(rc[0], rc[1]);
    });
  // SVG cells (small matrices) answer clicks themselves: exact even without layout boxes.
  select(cellsG)
    .on('mouseover', (ev: MouseEvent) => {
      const q = Number(select(ev.target as SVGRectElement).datum());
      if (Number.isInteger(q)) showValue(panel, Math.floor(q / cols), q % cols);
    })
    .on('click', (ev: MouseEvent) => {
      const q = Number(select(ev.target as SVGRectElement).datum());
      if (Number.isInteger(q)) activate(Math.floor(q / cols), q % cols);
    });
  const activate = (row: number, col: number) => {
    if (!m) return;
    // A large matrix's cells are a pixel or two: a click or Enter zooms in first.
    if (big) {
      ui.cursor.set(panel.key, [row, col]);
      openZoom(ui, panel, row, col);
      return;
    }
    ui.cursor.set(panel.key, [row, col]);
    drawCursor(true);
    showValue(panel, row, col);
    if (!editable) return;
    openCellEditor(
      host,
      { name: panel.name, row, col, value: m.data[row * cols + col] },
      { left: x + col * cw, top: y + ui.offsetY + row * ch, width: cw, height: ch },
    );
  };

  const cursorEl = child(g, 'rect.cursor');
  setAttrs(cursorEl, {
    fill: 'none',
    stroke: OKABE_ITO.black,
    'stroke-width': 2,
    'pointer-events': 'none',
  });
  const ringEl = child(g, 'rect.focus-ring');
  setAttrs(ringEl, {
    x: x - 3,
    y: y - 3,
    width: w + 6,
    height: h + 6,
    fill: 'none',
    stroke: OKABE_ITO.orange,
    'stroke-width': 2,
    'pointer-events': 'none',
  });
  const ring = select(ringEl);
  const focused = () => g.ownerDocument.activeElement === g;
  const drawCursor = (show: boolean) => {
    const rc = ui.cursor.get(panel.key);
    if (!rc || !m || !show) {
      setAttr(cursorEl, 'display', 'none');
      return;
    }
    const [row, col] = [Math.min(rc[0], rows - 1), Math.min(rc[1], cols - 1)];
    setAttrs(cursorEl, {
      display: null,
      x: x + col * cw - 1,
      y: y + row * ch - 1,
      width: cw + 2,
      height: ch + 2,
    });
  };
  setAttr(ringEl, 'display', focused() ? null : 'none');
  drawCursor(focused());

  // Only editable panels take focus (Chromium makes SVG elements with focus listeners focusable).
  if (!editable) {
    sel.on('focus', null).on('blur', null).on('keydown', null);
    return drawLegend(
      g.querySelector('g.legend') as SVGGElement,
      box,
      h,
      limit,
      box.legend ? m : null,
      fs,
    );
  }
  sel
    .on('focus', () => {
      if (!ui.cursor.has(panel.key)) ui.cursor.set(panel.key, [0, 0]);
      ring.attr('display', null);
      drawCursor(true);
      const rc = ui.cursor.get(panel.key);
      if (rc) showValue(panel, rc[0], rc[1]);
    })
    .on('blur', () => {
      ring.attr('display', 'none');
      drawCursor(false);
    })
    .on('keydown', (ev: KeyboardEvent) => {
      if (!m || ev.target !== g) return;
      const [row, col] = ui.cursor.get(panel.key) ?? [0, 0];
      const page = Math.max(1, Math.round(rows / 8));
      const moves: Record<string, [number, number]> = {
        ArrowUp: [-1, 0],
        ArrowDown: [1, 0],
        ArrowLeft: [0, -1],
        ArrowRight: [0, 1],
        PageUp: [-page, 0],
        PageDown: [page, 0],
      };
      if (ev.key in moves) {
        ev.preventDefault();
        const [dr, dc] = moves[ev.key];
        const next: [number, number] = [
          Math.max(0, Math.min(rows - 1, row + dr)),
          Math.max(0, Math.min(cols - 1, col + dc)),
        ];
        ui.cursor.set(panel.key, next);
        drawCursor(true);
        showValue(panel, next[0], next[1]);
      } else if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        activate(row, col);
      }
    });

  drawLegend(g.querySelector('g.legend') as SVGGElement, box, h, limit, box.legend ? m : null, fs);
}

function drawLegend(
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

/** The child of `g` matching `selector` (created with the panel). */
function child(g: SVGGElement, selector: string): SVGElement {
  const el = g.querySelector<SVGElement>(selector);
  if (!el) throw new Error(`weights panel without ${selector}`);
  return el;
}

/** Set inline styles that differ (a write of the same value still dirties the style). */
function setStyle(el: HTMLElement | SVGElement, styles: Record<string, string>): void {
  const style = el.style as unknown as Record<string, string>;
  for (const [k, v] of Object.entries(styles)) if (style[k] !== v) style[k] = v;
}

/** A software 2D context (see paintCanvas), or null (none, or jsdom). */
function softContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  try {
    return canvas.getContext('2d', { willReadFrequently: true });
  } catch {
    return null;
  }
}

/**
 * A medium matrix on a canvas of the panel's size in device pixels: one filled block per weight,
 * on whole-pixel boundaries (no seams), masked and non-finite entries left transparent.
 */
function paintCells(
  canvas: HTMLCanvasElement,
  m: Matrix,
  limit: number,
  mask: Float32Array | null,
): void {
  const ctx = softContext(canvas);
  if (!ctx) return;
  const colours = signedLutCss();
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const xs = Array.from({ length: m.cols + 1 }, (_, c) => Math.round((c * W) / m.cols));
  let fill = -1;
  for (let r = 0; r < m.rows; r++) {
    const y0 = Math.round((r * H) / m.rows);
    const y1 = Math.round(((r + 1) * H) / m.rows);
    for (let c = 0; c < m.cols; c++) {
      const q = r * m.cols + c;
      const v = m.data[q];
      if ((mask && mask[q] === 0) || !Number.isFinite(v)) continue;
      const idx = lutIndex(v, limit);
      if (idx !== fill) {
        ctx.fillStyle = colours[idx];
        fill = idx;
      }
      ctx.fillRect(xs[c], y0, xs[c + 1] - xs[c], y1 - y0);
    }
  }
}

function paintCanvas(
  canvas: HTMLCanvasElement,
  m: Matrix,
  limit: number,
  mask: Float32Array | null,
) {
  // A software canvas: a GPU-backed one on a software GL (SwiftShader, small machines) held the
  // page's frames back for seconds after each redraw while the engine trained.
  const ctx = softContext(canvas);
  if (!ctx) return;
  const img = ctx.createImageData(m.cols, m.rows);
  const colours = signedLut();
  for (let q = 0; q < m.data.length; q++) {
    const o = 4 * q;
    if (mask && mask[q] === 0) {
      img.data[o + 3] = 0;
      continue;
    }
    const c = lutIndex(m.data[q], limit);
    img.data[o] = colours[3 * c];
    img.data[o + 1] = colours[3 * c + 1];
    img.data[o + 2] = colours[3 * c + 2];
    img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
