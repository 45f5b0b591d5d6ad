/**
 * The network diagram's drawing (data in, SVG and canvas out): input units x, hidden units filled
 * by ρ(φ) with a ring for the control ψ, output units y with a bar against the target and a ring
 * for u; edges from W, U and D coloured by sign and sized by |w|. Layered nets are drawn in
 * columns, recurrent ones on a circle. Many edges go to a canvas (and only the strongest are
 * drawn); the largest |ΔW| of a new update flash. A picked synapse W[post, pre] shows the local
 * rule: its post-synaptic control times its pre-synaptic rate beside the last update's entry.
 * This module composes the parts: networkLayout, networkEdgeModel, networkSvgEdges,
 * networkCanvasEdges, networkFlash, networkUnits and networkSynapse.
 */
import { select } from 'd3';
import type { SimView } from '../../state/simView';
import { strokeScale } from '../theme';
import { emptyMessage, fontSize, INK, layer, setAttr, SVG_NS } from './common';
import { drawCanvasEdges } from './networkCanvasEdges';
import { MAX_EDGES, networkEdgeSteps, type Edge } from './networkEdgeModel';
import { drawFlash } from './networkFlash';
import { networkLayout, type NetworkLayout } from './networkLayout';
import { stateOf, type NetworkOptions, type NetworkState } from './networkState';
import { drawSvgEdges } from './networkSvgEdges';
import { drawSynapse } from './networkSynapse';
import { drawOutputs, drawUnits } from './networkUnits';

/**
 * Above this many edges they are painted on a canvas: SVG edges are re-styled and repainted one by
 * one on every weights snapshot, which while training a 16-16 net (320 edges) or a 16-16-16 one
 * (576) made long tasks.
 */
export const CANVAS_THRESHOLD = 200;
/** Matrices with more entries than this (W, U and D together) redraw their edges for new
 *  weights at most every HEAVY_INTERVAL ms. */
export const HEAVY_ENTRIES = 20_000;
export const HEAVY_INTERVAL = 200;

/** Draw the network of `view` into `root` (a positioned element; a canvas and an SVG go in it). */
export function drawNetwork(root: HTMLElement, view: SimView, options: NetworkOptions): void {
  const { width, height } = options;
  const st = stateOf(root);
  const fs = fontSize();
  const sw = strokeScale();
  const { canvas, svg } = mount(root, st, options);

  if (view.generation !== st.generation) {
    st.generation = view.generation;
    st.psiMax = 0;
    st.uMax = 0;
    st.version = null;
    st.updateSignature = '';
  }
  const latest = view.latest;
  const weights = view.weights;
  st.latest = latest;
  const m = latest?.m ?? weights?.params.U?.cols ?? 0;
  const n = latest?.n ?? weights?.params.W?.rows ?? 0;
  const k = latest?.k ?? weights?.params.D?.rows ?? 0;
  if (emptyMessage(svg, n === 0 ? 'Waiting for the engine…' : '', options)) {
    canvas.width = 0;
    st.layout = null;
    st.edgesKey = '';
    st.unitsKey = '';
    return;
  }

  // Layout (cached per dimensions and size).
  const layers = weights?.layers ?? [n];
  const layered = !!weights && (weights.layers.length > 1 || weights.maskW !== null);
  const image = view.task?.image && view.task.m === m ? view.task.image : null;
  const footerLines = options.synapse ? 2 : 1;
  const layoutKey = [
    footerLines,
    m,
    n,
    k,
    layers.join(','),
    layered,
    width,
    height,
    fs,
    image?.rows,
    image?.cols,
  ].join('|');
  if (layoutKey !== st.layoutKey || !st.layout) {
    st.layout = networkLayout({ m, n, k }, layers, layered, { width, height }, image, footerLines);
    st.layoutKey = layoutKey;
    st.edgesKey = '';
  }
  const layout = st.layout;

  const now = options.now ?? (typeof performance !== 'undefined' ? performance.now() : Date.now());
  drawEdges(root, svg, canvas, st, view, layout, layoutKey, options, { now, sw });
  drawFlash(svg, root, st, view, layout, { now, sw, reducedMotion: options.reducedMotion });
  // Units: fill by value, rings for ψ (hidden) and u (outputs); redrawn every snapshot.
  drawUnits(svg, st, layout, `${layoutKey}|${sw}`, latest, sw);
  drawOutputs(svg, layout, latest, { width, sw, readout: options.readout });
  const caption = drawLabels(svg, st, layout, options, fs);
  drawSynapse(svg, layout, view, options, fs, sw, caption);
}

/** The canvas (edges) and the SVG (the rest) of `root`, created on its first drawing. */
function mount(
  root: HTMLElement,
  st: NetworkState,
  options: NetworkOptions,
): { canvas: HTMLCanvasElement; svg: SVGSVGElement } {
  const { width, height } = options;
  const canvas = ensureChild(root, 'canvas');
  let svg = root.querySelector(':scope > svg') as SVGSVGElement | null;
  if (!svg) {
    svg = root.ownerDocument.createElementNS(SVG_NS, 'svg');
    root.appendChild(svg);
  }
  for (const el of [canvas, svg] as (HTMLElement | SVGSVGElement)[]) {
    el.style.position = 'absolute';
    el.style.left = '0';
    el.style.top = '0';
  }
  setAttr(svg, 'width', String(width));
  setAttr(svg, 'height', String(height));
  setAttr(svg, 'viewBox', `0 0 ${width} ${height}`);
  st.onSynapse = options.onSynapse;
  if (!(svg as SVGSVGElement & { __synapseClear?: boolean }).__synapseClear) {
    (svg as SVGSVGElement & { __synapseClear?: boolean }).__synapseClear = true;
    // A click on empty space (the SVG itself, not a unit or an edge) clears the picked synapse.
    svg.addEventListener('click', (ev) => {
      if (ev.target === ev.currentTarget) st.onSynapse?.(null);
    });
  }
  return { canvas, svg };
}

function ensureChild<K extends keyof HTMLElementTagNameMap>(
  root: HTMLElement,
  tag: K,
): HTMLElementTagNameMap[K] {
  const found = root.querySelector(`:scope > ${tag}`);
  if (found) return found as HTMLElementTagNameMap[K];
  const el = root.ownerDocument.createElement(tag);
  root.appendChild(el);
  return el;
}

/**
 * Edges: redrawn only when the weights, the layout or the stroke scale change; for large
 * matrices, new weights alone redraw at most every HEAVY_INTERVAL ms (the last change is drawn by
 * a deferred redraw), so that training a big net does not swamp the main thread.
 */
function drawEdges(
  root: HTMLElement,
  svg: SVGSVGElement,
  canvas: HTMLCanvasElement,
  st: NetworkState,
  view: SimView,
  layout: NetworkLayout,
  layoutKey: string,
  options: NetworkOptions,
  { now, sw }: { now: number; sw: number },
): void {
  const weights = view.weights;
  const threshold = options.canvasThreshold ?? CANVAS_THRESHOLD;
  const frameKey = `${layoutKey}|${sw}|${threshold}|${options.maxEdges}`;
  // Training: edges keep their stacking order (see below); the first redraw after it restores it.
  const training = view.latest?.phase === 'training';
  const edgesKey = `${view.generation}:${weights?.version ?? 'none'}${training ? 't' : ''}|${frameKey}`;
  const edgeLayer = layer(svg, 'g', 'edges');
  const entries = (['W', 'U', 'D'] as const).reduce(
    (a, p) => a + (weights?.params[p]?.data.length ?? 0),
    0,
  );
  const throttled =
    edgesKey !== st.edgesKey &&
    entries > HEAVY_ENTRIES &&
    st.edgesKey.startsWith(`${view.generation}:`) &&
    st.edgesKey.endsWith(`|${frameKey}`) &&
    now - st.lastEdges < HEAVY_INTERVAL;
  if (throttled && st.timer === null) {
    st.timer = setTimeout(() => {
      st.timer = null;
      if (st.lastCall)
        drawNetwork(root, st.lastCall.view, { ...st.lastCall.options, now: undefined });
    }, HEAVY_INTERVAL);
  }
  st.lastCall = { view, options };
  if (edgesKey !== st.edgesKey && !throttled) {
    st.edgesKey = edgesKey;
    st.lastEdges = now;
    // A large net's edges are chosen, painted on the canvas (strokes handed to a worker) and
    // given their 600 click targets over several frames: in one they were a long task at every
    // weights snapshot of the MNIST chapters. A newer drawing (another edgesKey) drops the
    // steps still waiting; the edges drawn before stay until then.
    const spread = entries > HEAVY_ENTRIES && options.schedule !== undefined;
    const next = spread
      ? (step: () => void) =>
          options.schedule!(() => {
            if (st.edgesKey === edgesKey) step();
          })
      : (step: () => void) => step();
    const show = ({ edges, total }: { edges: Edge[]; total: number }) => {
      const sameCount = st.edgeCount.shown === edges.length && st.edgeCount.total === total;
      st.edgeCount = { shown: edges.length, total };
      const onCanvas = edges.length > threshold;
      root.dataset.edges = onCanvas ? 'canvas' : 'svg';
      next(() => {
        drawCanvasEdges(canvas, st, edges, onCanvas, layout, options, sw, options.schedule);
        next(() => {
          drawSvgEdges(svg, edgeLayer, st, weights, edges, onCanvas, layout, sw, training);
          // The caption counts the edges: drawn again when the count changed.
          if (spread && !sameCount && st.lastCall)
            drawNetwork(root, st.lastCall.view, { ...st.lastCall.options, now: undefined });
        });
      });
    };
    if (!weights) show({ edges: [], total: 0 });
    else {
      const steps = networkEdgeSteps(weights, layout, options.maxEdges ?? MAX_EDGES);
      const advance = () => {
        for (;;) {
          const r = steps.next();
          if (r.done) return show(r.value);
          if (spread) return next(advance);
        }
      };
      advance();
    }
  }
}

/** Column labels and the caption (returned: a picked synapse's rule takes its place). */
function drawLabels(
  svg: SVGSVGElement,
  st: NetworkState,
  layout: NetworkLayout,
  options: NetworkOptions,
  fs: number,
): SVGTextElement {
  const { height } = options;
  select(layer(svg, 'g', 'columns'))
    .selectAll('text')
    .data(layout.columns)
    .join('text')
    .attr('x', (c) => c.x)
    .attr('y', fs + 2)
    .attr('text-anchor', 'middle')
    .attr('font-size', fs)
    .attr('font-weight', 600)
    .attr('fill', INK)
    .text((c) => (c.label === 'y' && options.readout === 'units' ? 'y ≡ φ_y' : c.label));
  const { shown, total } = st.edgeCount;
  const caption = layer(svg, 'text', 'caption');
  caption.setAttribute('x', '4');
  caption.setAttribute('y', String(height - 4));
  caption.setAttribute('font-size', String(fs * 0.9));
  caption.setAttribute('fill', INK);
  caption.setAttribute('fill-opacity', '0.75');
  caption.textContent = `fill ρ(φ) · ring ψ · edges w (${shown < total ? `strongest ${shown} of ${total}` : `${total}`})`;
  return caption;
}
