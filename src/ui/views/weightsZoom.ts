/**
 * The weights view's zoom on one large matrix (its cells are a pixel or two in the panels): a
 * window of it painted a block per weight, with indices, legend and the mouse and keys to move.
 */
import { scaleLinear, select } from 'd3';
import { OKABE_ITO } from '../theme';
import { drawAxis, textWidth } from './common';
import { htmlChild } from './vectorEditors';
import { openCellEditor } from './weightsCellEditor';
import { cellUnder, paintCanvas, panelCanvas } from './weightsCanvas';
import type { Panel } from './weightsModel';
import type { ShowValue, WeightsUi, Zoom } from './weightsState';
import { drawLegend, fit, svgChild } from './weightsSvg';

/** Fewest cells along a zoom window's shorter side. */
export const ZOOM_MIN = 4;

/** Open the zoom on `panel` centred on (row, col). */
export function openZoom(ui: WeightsUi, panel: Panel, row: number, col: number): void {
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
 * The zoom window in a room of box.width × box.height: its margins, the cell size, how many rows
 * and columns show, and the zoom kept inside the matrix. A zoom just opened (size 0) gets
 * `size` cells along the room's shorter side, legible ones, centred on its cursor.
 */
function zoomWindow(
  z0: Zoom,
  m: { rows: number; cols: number },
  box: { width: number; height: number; fs: number },
): {
  left: number;
  top: number;
  bottom: number;
  cell: number;
  rows: number;
  cols: number;
  z: Zoom;
  opening: boolean;
} {
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
  return { left, top, bottom, cell, rows, cols, z, opening };
}

/**
 * The zoom on one large matrix: a window of size × size cells painted on a canvas (pixelated,
 * one block per weight), row and column indices as axes, the colour legend, and a hit area:
 * hover reads the value out, the wheel zooms about the pointer, a drag pans, a click selects
 * (and edits an editable matrix); the keyboard moves (arrows), zooms (+ −) and closes (Escape).
 */
export function drawZoom(
  host: HTMLElement,
  g: SVGGElement,
  panel: Panel,
  ui: WeightsUi,
  box: { width: number; height: number; fs: number },
  showValue: ShowValue,
  usedCanvases: Set<string>,
  layer: HTMLDivElement,
): void {
  const m = panel.matrix;
  const z0 = ui.zoom;
  if (!m || !z0) return;
  const { fs } = box;
  const { left, top, bottom, cell, rows, cols, z, opening } = zoomWindow(z0, m, box);
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
  const canvas = panelCanvas(host, layer, `zoom:${panel.key}`);
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
    const rc = cellUnder(ev, rows, cols);
    return rc ? [z.row + rc[0], z.col + rc[1]] : null;
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
