/**
 * Weights (DESIGN.md §4): heatmaps of a parameter (W by default), its last LCP update direction
 * and the step the optimiser applied, and the feedback weights (Q, or B and F) when present, each
 * with a symmetric colour limit and legend; alignment numbers; weights, the input x and the target
 * editable by hand (click or Enter on a cell opens a numeric input → an `edit` command).
 * Matrices larger than 64 in either dimension are painted on a canvas, one pixel per weight.
 */
import { cancelDraw, requestDraw } from './frameBudget';
import { useEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { color as d3color, format, select } from 'd3';
import { engine } from '../../state/engine';
import { useApp } from '../../state/store';
import { simView, type SimView } from '../../state/simView';
import type { Command, Matrix, ParamKey, WeightsSnapshot } from '../../worker/protocol';
import { diverging, OKABE_ITO, signedColor, strokeScale } from '../theme';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Above this many rows or columns a matrix is painted on a canvas. */
export const CANVAS_THRESHOLD = 64;
/** Weights redraw at most this often (ms) while training. */
export const WEIGHTS_INTERVAL = 100;

export const MAIN_PARAMS = ['W', 'U', 'b', 'D', 'd'] as const;
export type MainParam = (typeof MAIN_PARAMS)[number];

export interface WeightsModel {
  sim: SimView;
  /** Which parameter the first three panels show. */
  matrix: MainParam;
  /** 'rbp' runs show −∇L in place of the LCP direction. */
  method?: 'lcp' | 'rbp';
}

export interface Panel {
  key: string;
  /** The parameter shown (for edits and read-outs). */
  name: ParamKey;
  title: string;
  kind: 'param' | 'update' | 'step';
  matrix: Matrix | null;
  editable: boolean;
  /** Symmetric colour limit (see colourLimit; 0 when all zero). */
  limit: number;
  /** 0/1 mask (W and its updates in layered nets). */
  mask: Float32Array | null;
}

const fmt = format('.3~g');
const fmtLimit = format('.2~g');

/**
 * Symmetric colour limit of a matrix: max |v| for small ones; for more than 256 entries the
 * 99.5th percentile of |v| over kept connections (from a histogram), so that one outlier (a
 * hand-edited weight, say) does not wash out the rest. Values beyond it saturate.
 */
export function colourLimit(m: Matrix | null, mask: Float32Array | null = null): number {
  if (!m) return 0;
  const d = m.data;
  let max = 0;
  let count = 0;
  for (let q = 0; q < d.length; q++) {
    if (mask && mask[q] === 0) continue;
    const a = Math.abs(d[q]);
    if (a > max) max = a;
    count++;
  }
  if (count <= 256 || !(max > 0) || !Number.isFinite(max)) return Number.isFinite(max) ? max : 0;
  const bins = 2048;
  const hist = new Uint32Array(bins);
  for (let q = 0; q < d.length; q++) {
    if (mask && mask[q] === 0) continue;
    const a = Math.abs(d[q]);
    if (a === a) hist[Math.min(bins - 1, Math.floor((a / max) * bins))]++;
  }
  let below = 0;
  for (let b = 0; b < bins; b++) {
    below += hist[b];
    if (below >= 0.995 * count) return ((b + 1) / bins) * max;
  }
  return max;
}

const connected = new WeakMap<Float32Array, boolean>();
/** Does a 0/1 mask keep any connection? (cached: masks only change on reset) */
export function hasConnection(mask: Float32Array): boolean {
  let v = connected.get(mask);
  if (v === undefined) {
    v = mask.some((e) => e !== 0);
    connected.set(mask, v);
  }
  return v;
}

/** The panels shown for `matrix`: the parameter, its LCP update, the applied step, feedback. */
export function weightPanels(
  sim: SimView,
  matrix: MainParam,
  method: 'lcp' | 'rbp' = 'lcp',
): Panel[] {
  const w = sim.weights;
  if (!w) return [];
  const mask = matrix === 'W' ? w.maskW : null;
  const panel = (
    key: string,
    name: ParamKey,
    title: string,
    kind: Panel['kind'],
    m: Matrix | null | undefined,
    pMask: Float32Array | null,
  ): Panel => ({
    key,
    name,
    title,
    kind,
    matrix: m ?? null,
    editable: kind === 'param' && !!m,
    limit: colourLimit(m ?? null, pMask && m && pMask.length === m.data.length ? pMask : null),
    mask: pMask && m && pMask.length === m.data.length ? pMask : null,
  });
  const update = method === 'rbp' ? `−∇${matrix}L (RBP)` : `Δ${matrix} (LCP)`;
  const panels = [
    panel(matrix, matrix, matrix, 'param', w.params[matrix], mask),
    panel(`Δ${matrix}`, matrix, update, 'update', w.lastUpdate?.[matrix], mask),
    panel(
      `step ${matrix}`,
      matrix,
      `${matrix}: applied step`,
      'step',
      w.appliedStep?.[matrix],
      mask,
    ),
  ];
  if (w.params.Q) panels.push(panel('Q', 'Q', 'Q (ψ = Qu)', 'param', w.params.Q, null));
  if (w.params.B) panels.push(panel('B', 'B', 'B (→ Wᵀ)', 'param', w.params.B, null));
  if (w.params.F) panels.push(panel('F', 'F', 'F (→ Dᵀ)', 'param', w.params.F, null));
  return panels;
}

function cosine(a: Float32Array, b: Float32Array, transposeB?: { rows: number; cols: number }) {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let q = 0; q < a.length; q++) {
    const bv = transposeB
      ? b[(q % transposeB.rows) * transposeB.cols + Math.floor(q / transposeB.rows)]
      : b[q];
    ab += a[q] * bv;
    aa += a[q] * a[q];
    bb += bv * bv;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN;
}

/**
 * Alignment numbers: the update's cosine with −∇L (from the engine's metrics), the applied step
 * against the LCP direction, and for learned feedback the angles of B with Wᵀ and F with Dᵀ.
 */
export function alignmentText(sim: SimView, matrix: MainParam): string[] {
  const out: string[] = [];
  const s = sim.latest;
  if (s && Number.isFinite(s.metrics.cosine))
    out.push(`cos(Δθ, −∇L) = ${s.metrics.cosine.toFixed(3)}`);
  const w = sim.weights;
  const up = w?.lastUpdate?.[matrix];
  const st = w?.appliedStep?.[matrix];
  if (up && st && up.data.length === st.data.length) {
    const c = cosine(st.data, up.data);
    if (Number.isFinite(c)) out.push(`cos(step, Δ${matrix}) = ${c.toFixed(3)}`);
  }
  const angle = (a: Matrix | undefined, b: Matrix | undefined, label: string) => {
    if (!a || !b || a.rows !== b.cols || a.cols !== b.rows) return;
    const c = cosine(a.data, b.data, { rows: a.rows, cols: a.cols });
    if (Number.isFinite(c))
      out.push(
        `∠(${label}) = ${((Math.acos(Math.max(-1, Math.min(1, c))) * 180) / Math.PI).toFixed(1)}°`,
      );
  };
  angle(w?.params.B, w?.params.W, 'B, Wᵀ');
  angle(w?.params.F, w?.params.D, 'F, Dᵀ');
  return out;
}

interface PanelBox {
  panel: Panel;
  x: number;
  y: number;
  cw: number;
  ch: number;
  /** Width of the panel's grid cell (title and legend fit in it). */
  boxW: number;
}

/** `text` shortened with an ellipsis to about `width` pixels (≈ 6 px a character). */
function fit(text: string, width: number): string {
  const max = Math.max(1, Math.floor(width / 6));
  return text.length <= max ? text : text.slice(0, Math.max(1, max - 1)) + '…';
}

const TITLE_H = 14;
const LEGEND_H = 22;
const GAP = 10;
const TOP_H = 14;
const READOUT_H = 14;
const EDITORS_H = 26;
const MIN_BOX_W = 76;

/** Cell sizes of a rows×cols matrix in a box: square where possible, thin vectors kept visible. */
function cellSize(rows: number, cols: number, boxW: number, boxH: number): [number, number] {
  const cw = boxW / cols;
  const ch = boxH / rows;
  const s = Math.min(cw, ch);
  return [Math.min(cw, Math.max(s, 14 / cols)), Math.min(ch, Math.max(s, 14 / rows))];
}

/** Place the panels on a grid (columns chosen to maximise the drawn area). */
export function layoutPanels(panels: Panel[], width: number, height: number): PanelBox[] {
  if (!panels.length) return [];
  let best: PanelBox[] = [];
  let bestScore = -1;
  for (let nc = 1; nc <= panels.length; nc++) {
    const nr = Math.ceil(panels.length / nc);
    const boxW = (width - (nc - 1) * GAP) / nc;
    const boxH = (height - nr * (TITLE_H + LEGEND_H) - (nr - 1) * GAP) / nr;
    // Leave room for each panel's title and legend (unless nothing else fits).
    if (boxW < 8 || boxH < 8 || (nc > 1 && boxW < MIN_BOX_W)) continue;
    let score = 0;
    const boxes = panels.map((panel, q) => {
      const rows = panel.matrix?.rows ?? 1;
      const cols = panel.matrix?.cols ?? 1;
      const [cw, ch] = panel.matrix ? cellSize(rows, cols, boxW, boxH) : [boxW, boxH];
      score += Math.min(cw * cols * ch * rows, boxW * boxH);
      return {
        panel,
        x: (q % nc) * (boxW + GAP),
        y: Math.floor(q / nc) * (boxH + TITLE_H + LEGEND_H + GAP) + TITLE_H,
        cw: panel.matrix ? cw : Math.min(boxW, 80) / cols,
        ch: panel.matrix ? ch : Math.min(boxH, 40) / rows,
        boxW,
      };
    });
    if (score > bestScore) {
      bestScore = score;
      best = boxes;
    }
  }
  return best;
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
}
const uiState = new WeakMap<HTMLElement, WeightsUi>();

function htmlChild<T extends HTMLElement>(parent: HTMLElement, tag: string, cls: string): T {
  for (const c of Array.from(parent.children))
    if (c.localName === tag && c.classList.contains(cls)) return c as T;
  const el = parent.ownerDocument.createElement(tag) as T;
  el.className = cls;
  parent.appendChild(el);
  return el;
}

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
    ui = { cursor: new Map(), editing: null, send, boxes: [], offsetY: 0, drawn: null };
    uiState.set(host, ui);
  }
  ui.send = send;
  const sim = model.sim;
  const svgH = Math.max(0, height - EDITORS_H);
  // Canvases (big matrices) lie under the SVG, whose cursor, focus ring and hit areas stay on top.
  const layer = htmlChild<HTMLDivElement>(host, 'div', 'canvas-layer');
  Object.assign(layer.style, { position: 'absolute', left: '0', top: '0', pointerEvents: 'none' });
  const svgEl = svgChild<SVGSVGElement>(host, 'svg', 'weights-svg');
  select(svgEl)
    .attr('width', width)
    .attr('height', svgH)
    .attr('viewBox', `0 0 ${width} ${svgH}`)
    .attr('font-size', strokeScale() > 1 ? 14 : 10)
    .attr('font-family', 'system-ui, sans-serif')
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

  // Alignment numbers on top, on as many lines as they need.
  const fs = strokeScale() > 1 ? 14 : 10;
  const lines: string[] = [];
  for (const item of alignmentText(sim, model.matrix)) {
    const last = lines.length - 1;
    const joined = last >= 0 ? `${lines[last]}   ·   ${item}` : item;
    if (last >= 0 && joined.length * 0.6 * fs <= width) lines[last] = joined;
    else lines.push(item);
  }
  const topH = Math.max(TOP_H, lines.length * (fs + 2) + 4);
  select(svgChild<SVGTextElement>(svgEl, 'text', 'alignment'))
    .attr('fill', 'currentColor')
    .selectAll<SVGTSpanElement, string>('tspan')
    .data(lines)
    .join('tspan')
    .attr('x', 0)
    .attr('y', (_, q) => fs + q * (fs + 2))
    .text((d) => d);

  drawVectorEditors(host, sim, width, height, send);
  const key = `${model.matrix}|${model.method}|${width}x${height}|${strokeScale()}|${topH}`;
  if (ui.drawn && ui.drawn.weights === sim.weights && ui.drawn.key === key) return;
  ui.drawn = { weights: sim.weights, key };

  const areaH = svgH - topH - READOUT_H;
  const boxes = layoutPanels(panels, width, areaH);
  ui.boxes = boxes;
  ui.offsetY = topH;
  const readout = select(svgChild<SVGTextElement>(svgEl, 'text', 'readout'))
    .attr('x', 0)
    .attr('y', svgH - 3)
    .attr('fill', 'currentColor');
  const showValue = (p: Panel, row: number, col: number) => {
    const v = p.matrix ? p.matrix.data[row * p.matrix.cols + col] : NaN;
    readout.text(
      `${p.key}[${row}, ${col}] = ${fmt(v)}${p.editable ? '  (click or Enter to edit)' : ''}`,
    );
  };

  const area = select(svgChild<SVGGElement>(svgEl, 'g', 'panels')).attr(
    'transform',
    `translate(0,${topH})`,
  );
  const usedCanvases = new Set<string>();
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
      drawPanel(host, this, box, ui, showValue, usedCanvases, layer);
    });
  // Drop canvases of panels no longer painted on one.
  for (const c of Array.from(layer.querySelectorAll<HTMLCanvasElement>('canvas')))
    if (!usedCanvases.has(c.dataset.panel ?? '')) c.remove();
}

function drawPanel(
  host: HTMLElement,
  g: SVGGElement,
  box: PanelBox,
  ui: WeightsUi,
  showValue: (p: Panel, row: number, col: number) => void,
  usedCanvases: Set<string>,
  layer: HTMLDivElement,
): void {
  const { panel, x, y, cw, ch } = box;
  const m = panel.matrix;
  const rows = m?.rows ?? 1;
  const cols = m?.cols ?? 1;
  const w = cw * cols;
  const h = ch * rows;
  const sel = select(g);
  const editable = panel.editable;
  sel
    .attr('tabindex', editable ? 0 : null)
    .attr('role', editable ? 'group' : 'img')
    .attr('aria-roledescription', editable ? 'editable matrix' : null)
    .attr(
      'aria-label',
      m
        ? `${panel.title}: ${rows}×${cols}, colour limit ±${fmtLimit(panel.limit)}` +
            (editable ? '; arrow keys choose a weight, Enter edits it' : '')
        : `${panel.title}: no update yet`,
    )
    .style('outline', 'none');
  select(g.querySelector('text.title'))
    .attr('x', x)
    .attr('y', y - 3)
    .attr('fill', 'currentColor')
    .attr('font-weight', 600)
    .text(fit(panel.title, box.boxW));
  const big = !!m && (rows > CANVAS_THRESHOLD || cols > CANVAS_THRESHOLD);
  select(g.querySelector('rect.bg'))
    .attr('x', x)
    .attr('y', y)
    .attr('width', w)
    .attr('height', h)
    .attr('fill', big ? 'none' : '#fbfbfb')
    .style('fill', big ? 'none' : 'var(--panel, #fbfbfb)')
    .attr('stroke', '#bbb')
    .attr('stroke-width', 0.5);
  select(g.querySelector('text.empty'))
    .attr('x', x + 4)
    .attr('y', y + 14)
    .attr('fill', 'currentColor')
    .attr('fill-opacity', 0.7)
    .text(
      !m
        ? 'no update yet'
        : panel.mask && !hasConnection(panel.mask)
          ? 'no connections (masked)'
          : '',
    );
  const limit = panel.limit;
  const cellsG = g.querySelector('g.cells') as SVGGElement;
  const cellData = m && !big ? Array.from({ length: rows * cols }, (_, q) => q) : [];
  select(cellsG)
    .selectAll<SVGRectElement, number>('rect.cell')
    .data(cellData)
    .join('rect')
    .attr('class', 'cell')
    .attr('x', (q) => (x + (q % cols) * cw).toFixed(2))
    .attr('y', (q) => (y + Math.floor(q / cols) * ch).toFixed(2))
    .attr('width', cw.toFixed(2))
    .attr('height', ch.toFixed(2))
    .attr('fill', (q) =>
      panel.mask && panel.mask[q] === 0 ? 'none' : signedColor(m?.data[q] ?? 0, limit),
    );

  // Big matrices: one canvas pixel per weight, scaled up (CSS), over the panel.
  if (big && m) {
    usedCanvases.add(panel.key);
    let canvas = Array.from(layer.querySelectorAll('canvas')).find(
      (c) => c.dataset.panel === panel.key,
    );
    if (!canvas) {
      canvas = host.ownerDocument.createElement('canvas');
      canvas.dataset.panel = panel.key;
      layer.appendChild(canvas);
    }
    canvas.width = cols;
    canvas.height = rows;
    Object.assign(canvas.style, {
      position: 'absolute',
      left: `${x}px`,
      top: `${y + ui.offsetY}px`,
      width: `${w}px`,
      height: `${h}px`,
      imageRendering: 'pixelated',
    });
    paintCanvas(canvas, m, limit, panel.mask);
  }

  // One transparent hit area: hover shows the value, a click edits it.
  const cellAt = (ev: MouseEvent): [number, number] | null => {
    const r = (ev.currentTarget as SVGRectElement).getBoundingClientRect();
    const fx = r.width > 0 ? (ev.clientX - r.left) / r.width : NaN;
    const fy = r.height > 0 ? (ev.clientY - r.top) / r.height : NaN;
    if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return null;
    return [Math.floor(fy * rows), Math.floor(fx * cols)];
  };
  const hit = select(g.querySelector('rect.hit') as SVGRectElement)
    .attr('x', x)
    .attr('y', y)
    .attr('width', w)
    .attr('height', h)
    .attr('fill', 'transparent')
    .style('cursor', editable ? 'pointer' : 'crosshair')
    .attr('display', big ? null : 'none');
  // Big matrices: the canvas ignores pointer events, so this hit area under it answers them.
  hit
    .on('mousemove', (ev: MouseEvent) => {
      const rc = cellAt(ev);
      if (rc) showValue(panel, rc[0], rc[1]);
    })
    .on('click', (ev: MouseEvent) => {
      const rc = cellAt(ev);
      if (rc) activate(rc[0], rc[1]);
    });
  // Cells themselves (small matrices) also answer clicks: exact even without layout boxes.
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

  const cursorRect = select(g.querySelector('rect.cursor') as SVGRectElement)
    .attr('fill', 'none')
    .attr('stroke', OKABE_ITO.black)
    .attr('stroke-width', 2)
    .attr('pointer-events', 'none');
  const ring = select(g.querySelector('rect.focus-ring') as SVGRectElement)
    .attr('x', x - 3)
    .attr('y', y - 3)
    .attr('width', w + 6)
    .attr('height', h + 6)
    .attr('fill', 'none')
    .attr('stroke', OKABE_ITO.orange)
    .attr('stroke-width', 2)
    .attr('pointer-events', 'none');
  const focused = () => g.ownerDocument.activeElement === g;
  const drawCursor = (show: boolean) => {
    const rc = ui.cursor.get(panel.key);
    if (!rc || !m || !show) {
      cursorRect.attr('display', 'none');
      return;
    }
    const [row, col] = [Math.min(rc[0], rows - 1), Math.min(rc[1], cols - 1)];
    cursorRect
      .attr('display', null)
      .attr('x', x + col * cw - 1)
      .attr('y', y + row * ch - 1)
      .attr('width', cw + 2)
      .attr('height', ch + 2);
  };
  ring.attr('display', focused() ? null : 'none');
  drawCursor(focused());

  // Only editable panels take focus (Chromium makes SVG elements with focus listeners focusable).
  if (!editable) {
    sel.on('focus', null).on('blur', null).on('keydown', null);
    return drawLegend(g, box, h, limit, m);
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

  drawLegend(g, box, h, limit, m);
}

function drawLegend(
  g: SVGGElement,
  box: PanelBox,
  h: number,
  limit: number,
  m: Matrix | null,
): void {
  const { x, y } = box;
  // Legend: the colour bar from −limit to +limit.
  const legend = g.querySelector('g.legend') as SVGGElement;
  const lw = Math.max(40, Math.min(110, box.boxW - 4));
  const steps = 16;
  select(legend)
    .attr('transform', `translate(${x},${y + h + 4})`)
    .attr('display', m ? null : 'none')
    .selectAll<SVGRectElement, number>('rect')
    .data(Array.from({ length: steps }, (_, q) => q))
    .join('rect')
    .attr('x', (q) => ((q * lw) / steps).toFixed(2))
    .attr('y', 0)
    .attr('width', (lw / steps + 0.3).toFixed(2))
    .attr('height', 6)
    .attr('fill', (q) => diverging(q / (steps - 1)));
  const charW = 0.6 * (strokeScale() > 1 ? 14 : 10);
  const wide = lw >= charW * (2 * fmtLimit(limit).length + 6);
  const labels = !(limit > 0)
    ? [{ x: lw / 2, anchor: 'middle', text: 'all zero' }]
    : wide
      ? [
          { x: 0, anchor: 'start', text: `−${fmtLimit(limit)}` },
          { x: lw / 2, anchor: 'middle', text: '0' },
          { x: lw, anchor: 'end', text: `+${fmtLimit(limit)}` },
        ]
      : [{ x: lw / 2, anchor: 'middle', text: `±${fmtLimit(limit)}` }];
  select(legend)
    .selectAll<SVGTextElement, (typeof labels)[number]>('text')
    .data(labels)
    .join('text')
    .attr('x', (d) => d.x)
    .attr('y', 16)
    .attr('text-anchor', (d) => d.anchor)
    .attr('fill', 'currentColor')
    .text((d) => d.text);
}

function paintCanvas(
  canvas: HTMLCanvasElement,
  m: Matrix,
  limit: number,
  mask: Float32Array | null,
) {
  let ctx: CanvasRenderingContext2D | null;
  try {
    ctx = canvas.getContext('2d');
  } catch {
    return;
  }
  if (!ctx) return;
  const img = ctx.createImageData(m.cols, m.rows);
  const colours = signedLut();
  for (let q = 0; q < m.data.length; q++) {
    const o = 4 * q;
    if (mask && mask[q] === 0) {
      img.data[o + 3] = 0;
      continue;
    }
    const t = limit > 0 ? Math.max(-1, Math.min(1, m.data[q] / limit)) : 0;
    const c = Math.round(((t + 1) / 2) * 255);
    img.data[o] = colours[3 * c];
    img.data[o + 1] = colours[3 * c + 1];
    img.data[o + 2] = colours[3 * c + 2];
    img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Inputs for x and (regression) the target, at most eight entries each. */
function drawVectorEditors(
  host: HTMLElement,
  sim: SimView,
  width: number,
  height: number,
  send: (cmd: Command) => void,
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
    fontSize: '12px',
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

/** The weights view. */
export function WeightsView() {
  const keys = useStore(simView, (s) => MAIN_PARAMS.filter((p) => s.weights?.params[p]).join(','));
  // A layered net with one block has no recurrent connections: start on U instead of W.
  const emptyW = useStore(simView, (s) => !!s.weights?.maskW && !hasConnection(s.weights.maskW));
  const method = useApp((s) => s.config.method);
  const [matrixSel, setMatrix] = useState<MainParam | null>(null);
  const available = keys ? (keys.split(',') as MainParam[]) : [];
  const fallback: MainParam = emptyW && available.includes('U') ? 'U' : 'W';
  const matrix = matrixSel && available.includes(matrixSel) ? matrixSel : fallback;
  const hostRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    let width = 0;
    let height = 0;
    let frame = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = -Infinity;
    const send = (cmd: Command) => engine().send(cmd);
    const draw = () => {
      frame = 0;
      last = Date.now();
      if (width <= 0 || height <= 0) return;
      drawWeights(host, { sim: simView.getState(), matrix, method }, width, height, send);
    };
    // At most one redraw per frame and per WEIGHTS_INTERVAL (training changes weights constantly).
    const schedule = () => {
      if (frame || timer) return;
      const wait = last + WEIGHTS_INTERVAL - Date.now();
      if (wait > 0)
        timer = setTimeout(() => {
          timer = null;
          frame = requestDraw(draw);
        }, wait);
      else frame = requestDraw(draw);
    };
    const measure = () => {
      const r = host.getBoundingClientRect();
      width = Math.floor(r.width);
      height = Math.floor(r.height);
      last = -Infinity;
      schedule();
    };
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(measure) : null;
    ro?.observe(host);
    window.addEventListener('resize', measure);
    measure();
    // Every snapshot may carry new weights, x, target or metrics; unchanged heatmaps are skipped.
    const unsubscribe = simView.subscribe(schedule);
    const lecture = typeof MutationObserver === 'function' ? new MutationObserver(measure) : null;
    lecture?.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    return () => {
      unsubscribe();
      ro?.disconnect();
      lecture?.disconnect();
      window.removeEventListener('resize', measure);
      if (frame) cancelDraw(frame);
      if (timer) clearTimeout(timer);
    };
  }, [matrix, method]);

  return (
    <section
      data-testid="view-weights"
      aria-label="Weights"
      className="view-section"
      style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0 }}
    >
      {available.length > 1 && (
        <div className="view-toolbar" style={{ fontSize: 12 }}>
          <label>
            parameter{' '}
            <select
              value={matrix}
              style={{ font: 'inherit' }}
              onChange={(e) => setMatrix(e.target.value as MainParam)}
            >
              {available.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      <div
        ref={hostRef}
        className="view-body"
        style={{ flex: 1, minHeight: 0, position: 'relative', overflow: 'hidden' }}
      />
    </section>
  );
}
