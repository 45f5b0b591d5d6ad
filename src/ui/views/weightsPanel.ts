/**
 * One panel of the weights view: its frame and cells (SVG) or canvas, and what it answers —
 * hover reads a weight out, a click or Enter edits it (a large matrix zooms in first), arrow
 * keys move the cursor of an editable one.
 */
import { select } from 'd3';
import { OKABE_ITO } from '../theme';
import { setAttr, setAttrs } from './common';
import { openCellEditor } from './weightsCellEditor';
import { drawHitArea, paintPanel } from './weightsCanvas';
import { isBig, panelGrid, SVG_CELLS, type PanelBox } from './weightsModel';
import type { ShowValue, WeightsUi } from './weightsState';
import { child, drawCells, drawLegend, drawPanelFrame } from './weightsSvg';
import { openZoom } from './weightsZoom';

/** Draw the panel `box` into its group `g` (canvases of painted ones go in `layer`). */
export function drawPanel(
  host: HTMLElement,
  g: SVGGElement,
  box: PanelBox,
  ui: WeightsUi,
  showValue: ShowValue,
  usedCanvases: Set<string>,
  layer: HTMLDivElement,
  fs: number,
): void {
  const { panel, x, y, cw, ch } = box;
  const m = panel.matrix;
  const { rows, cols, w, h } = panelGrid(box);
  const sel = select(g);
  const editable = panel.editable;
  const big = !!m && isBig(m);
  // Canvas or SVG cells: the canvas lies under the SVG, so the background stays transparent.
  const painted = !!m && (big || rows * cols > SVG_CELLS);
  drawPanelFrame(g, box, painted, fs);
  const limit = panel.limit;
  const cellsG = g.querySelector('g.cells') as SVGGElement;
  drawCells(cellsG, box, painted);
  if (painted && m) {
    usedCanvases.add(panel.key);
    paintPanel(host, layer, box, m, big, ui.offsetY);
  }
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
  drawHitArea(
    child(g, 'rect.hit'),
    box,
    painted,
    (row, col) => showValue(panel, row, col),
    activate,
  );
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
