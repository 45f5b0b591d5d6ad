/**
 * The weights view's canvas rendering: matrices too large for SVG cells painted on canvases under
 * the SVG (one pixel per weight, scaled up, or one block per weight at the panel's size), and the
 * transparent SVG hit area over them that answers hover and clicks.
 */
import { color as d3color, select } from 'd3';
import type { Matrix } from '../../worker/protocol';
import { diverging } from '../theme';
import { setAttr, setAttrs, setStyle, softContext } from './common';
import { cancelDraw, requestDraw } from './frameBudget';
import { panelGrid, type PanelBox } from './weightsModel';

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

/** The canvas of panel `key` in `layer` (created on first use). */
export function panelCanvas(
  host: HTMLElement,
  layer: HTMLDivElement,
  key: string,
): HTMLCanvasElement {
  let canvas = Array.from(layer.querySelectorAll('canvas')).find((c) => c.dataset.panel === key);
  if (!canvas) {
    canvas = host.ownerDocument.createElement('canvas');
    canvas.dataset.panel = key;
    layer.appendChild(canvas);
  }
  return canvas;
}

/**
 * Paint the matrix of `box` on its canvas: a big matrix one canvas pixel per weight, scaled up
 * (CSS), over the panel; a medium one at the panel's size (device pixels), one block per weight.
 */
export function paintPanel(
  host: HTMLElement,
  layer: HTMLDivElement,
  box: PanelBox,
  m: Matrix,
  big: boolean,
  offsetY: number,
): void {
  const { panel, x, y } = box;
  const { rows, cols, w, h } = panelGrid(box);
  const limit = panel.limit;
  const canvas = panelCanvas(host, layer, panel.key);
  const dpr = typeof devicePixelRatio === 'number' && devicePixelRatio > 0 ? devicePixelRatio : 1;
  const [pw, ph] = big ? [cols, rows] : [Math.round(w * dpr), Math.round(h * dpr)];
  if (canvas.width !== pw) canvas.width = pw;
  if (canvas.height !== ph) canvas.height = ph;
  setStyle(canvas, {
    position: 'absolute',
    left: `${x}px`,
    top: `${y + offsetY}px`,
    width: `${w}px`,
    height: `${h}px`,
    imageRendering: big ? 'pixelated' : '',
  });
  if (!big) {
    paintCells(canvas, m, limit, panel.mask);
    return;
  }
  // A big matrix's pixels in a frame step of their own: an MNIST net's panels painted together,
  // after the panels' model, were a long task at every weights snapshot. The old pixels stay
  // until then; a newer paint of the canvas replaces this one in the queue.
  const waiting = pendingPaints.get(canvas);
  if (waiting !== undefined) cancelDraw(waiting);
  pendingPaints.set(
    canvas,
    requestDraw(() => {
      pendingPaints.delete(canvas);
      paintCanvas(canvas, m, limit, panel.mask);
    }),
  );
}

/** The queued paint of each big matrix's canvas (its frame-queue id). */
const pendingPaints = new WeakMap<HTMLCanvasElement, number>();

/** The cell of a rows × cols grid under the pointer of `ev` on its target, or null outside it. */
export function cellUnder(ev: MouseEvent, rows: number, cols: number): [number, number] | null {
  const r = (ev.currentTarget as SVGRectElement).getBoundingClientRect();
  const fx = r.width > 0 ? (ev.clientX - r.left) / r.width : NaN;
  const fy = r.height > 0 ? (ev.clientY - r.top) / r.height : NaN;
  if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return null;
  return [Math.floor(fy * rows), Math.floor(fx * cols)];
}

/**
 * One transparent hit area over a painted panel (the canvas ignores pointer events): hover shows
 * the value, a click activates the cell. Hidden over SVG cells, which answer for themselves.
 */
export function drawHitArea(
  hitEl: SVGElement,
  box: PanelBox,
  painted: boolean,
  onHover: (row: number, col: number) => void,
  onClick: (row: number, col: number) => void,
): void {
  const { panel, x, y } = box;
  const { rows, cols, w, h } = panelGrid(box);
  setAttrs(hitEl, {
    x,
    y,
    width: w,
    height: h,
    fill: 'transparent',
  });
  setStyle(hitEl, { cursor: panel.editable ? 'pointer' : 'crosshair' });
  setAttr(hitEl, 'display', painted ? null : 'none');
  select(hitEl)
    .on('mousemove', (ev: MouseEvent) => {
      const rc = cellUnder(ev, rows, cols);
      if (rc) onHover(rc[0], rc[1]);
    })
    .on('click', (ev: MouseEvent) => {
      const rc = cellUnder(ev, rows, cols);
      if (rc) onClick(rc[0], rc[1]);
    });
}

/**
 * A medium matrix on a canvas of the panel's size in device pixels: one filled block per weight,
 * on whole-pixel boundaries (no seams), masked and non-finite entries left transparent.
 */
export function paintCells(
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

export function paintCanvas(
  canvas: HTMLCanvasElement,
  m: Matrix,
  limit: number,
  mask: Float32Array | null,
) {
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
