/**
 * The weights view's drawing (DESIGN.md §4): data in, SVG (and canvas) out. Heatmaps of a
 * parameter, its last update and the applied step, and the feedback weights, each with a
 * symmetric colour limit and legend; alignment numbers on top. Small matrices are SVG cells;
 * those of more than SVG_CELLS entries are painted on a canvas at the panel's size, and those
 * larger than CANVAS_THRESHOLD in either dimension one pixel per weight. Hovering any matrix
 * reads out (row, column, value), and a click on a large one opens a zoom on it (wheel zooms,
 * drag pans, arrow keys move, Escape closes). Weights are editable by hand: click
 * or Enter on a cell opens a numeric input → an `edit` command.
 * This module composes the parts: weightsModel, weightsSvg, weightsCanvas, weightsPanel,
 * weightsZoom, weightsCellEditor and weightsState.
 */
import { format, select } from 'd3';
import type { TrainConfig } from '../../engine/config';
import type { SimView } from '../../state/simView';
import type { Command } from '../../worker/protocol';
import { strokeScale } from '../theme';
import { fontSize, textWidth } from './common';
import { drawVectorEditors, htmlChild } from './vectorEditors';
import {
  alignmentText,
  isBig,
  layoutPanels,
  weightPanels,
  weightsMetrics,
  type AlignmentItem,
  type MainParam,
  type PanelBox,
} from './weightsModel';
import { drawPanel } from './weightsPanel';
import { ensureUi, type ShowValue } from './weightsState';
import { svgChild } from './weightsSvg';
import { drawZoom } from './weightsZoom';

export interface WeightsModel {
  sim: SimView;
  /** Which parameter the first three panels show. */
  matrix: MainParam;
  /** 'rbp' runs show −∇L in place of the LCP direction. */
  method?: TrainConfig['method'];
}

const fmt = format('.3~g');

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
  const ui = ensureUi(host, send);
  ui.redraw = () => {
    ui.drawn = null;
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

  const items = alignmentText(sim, model.matrix);
  const { topH, cramped } = drawAlignment(svgEl, items, width, svgH, metrics, fs);

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
  const showValue: ShowValue = (p, row, col) => {
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

/**
 * Alignment numbers on top, as many to a line as fit; each has its definition as tooltip. Returns
 * the height they take, and whether they left too little room for the matrices (then they are
 * left out, for the read-out line to show).
 */
function drawAlignment(
  svgEl: SVGSVGElement,
  items: AlignmentItem[],
  width: number,
  svgH: number,
  metrics: { titleH: number; readoutH: number },
  fs: number,
): { topH: number; cramped: boolean } {
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
  return { topH, cramped };
}
