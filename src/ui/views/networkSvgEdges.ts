/**
 * The network diagram's edges as SVG paths (few edges), and the invisible wide click targets that
 * carry the tooltips and pick a synapse (W edges on SVG, the strongest edges on a canvas). Paths
 * are kept by edge between drawings, so new weights only re-set the attributes that changed.
 */
import type { WeightsSnapshot } from '../../worker/protocol';
import { signedColor } from '../theme';
import { fmt, layer, setAttr, setText, SVG_NS } from './common';
import {
  edgeKey,
  edgeLimit,
  edgeOpacity,
  edgePath,
  edgeWidth,
  type Edge,
} from './networkEdgeModel';
import type { NetworkLayout } from './networkLayout';
import { stateFor, type NetworkState } from './networkState';

/**
 * At most this many edges (the strongest) get a wide invisible stroke that is easier to click
 * (W edges: it picks the synapse) and carries the tooltip: W edges on SVG, all edges on a canvas.
 */
export const MAX_HIT_EDGES = 600;

/** The edge each path draws (its datum). */
const edgeData = new WeakMap<SVGPathElement, Edge>();

/** Write an edge's tooltip when the pointer enters it (and remember it as hovered). */
function hoverTitle(p: SVGPathElement, text: (e: Edge) => string): void {
  p.addEventListener('mouseenter', () => {
    const e = edgeData.get(p);
    const title = p.firstElementChild;
    const st = stateFor(p);
    if (st) st.hoveredEdge = p;
    if (e && title) title.textContent = text(e);
  });
  p.addEventListener('mouseleave', () => {
    const st = stateFor(p);
    if (st?.hoveredEdge === p) st.hoveredEdge = null;
  });
}

/**
 * Paths `path.<cls>` in `parent`, one per edge (by key): kept ones are reused, new ones created
 * with `create` and put in place, gone ones removed. With `reorder`, the paths are then put in
 * the edges' order (moving only those out of place); without it, kept ones stay where they are.
 */
function keyedJoin(
  parent: SVGGElement,
  cls: string,
  edges: Edge[],
  reorder: boolean,
  create: (p: SVGPathElement, e: Edge) => void,
): [SVGPathElement, Edge][] {
  const old = new Map<string, SVGPathElement>();
  for (const c of Array.from(parent.children))
    if (c instanceof SVGElement && c.localName === 'path' && c.getAttribute('class') === cls) {
      const e = edgeData.get(c as SVGPathElement);
      if (e) old.set(edgeKey(e), c as SVGPathElement);
      else c.remove();
    }
  const out: [SVGPathElement, Edge][] = [];
  let created = false;
  for (const e of edges) {
    const k = edgeKey(e);
    let p = old.get(k);
    if (p) old.delete(k);
    else {
      p = parent.ownerDocument.createElementNS(SVG_NS, 'path');
      p.setAttribute('class', cls);
      edgeData.set(p, e);
      create(p, e);
      created = true;
    }
    edgeData.set(p, e);
    out.push([p, e]);
  }
  for (const p of old.values()) p.remove();
  if (reorder || created) {
    // From the end: each path goes before the one after it, unless it already is there.
    let next: Element | null = null;
    for (let q = out.length - 1; q >= 0; q--) {
      const p = out[q][0];
      if (p.parentNode !== parent || p.nextElementSibling !== next) {
        if (!reorder && p.parentNode === parent) {
          next = p;
          continue;
        }
        parent.insertBefore(p, next);
      }
      next = p;
    }
  }
  return out;
}

/**
 * Draw `edges` (weakest first) as paths in `edgeLayer` unless they are `onCanvas`, and the click
 * targets with their tooltips in the `edge-hits` layer of `svg`.
 */
export function drawSvgEdges(
  svg: SVGSVGElement,
  edgeLayer: SVGGElement,
  st: NetworkState,
  weights: WeightsSnapshot | null,
  edges: Edge[],
  onCanvas: boolean,
  layout: NetworkLayout,
  sw: number,
  training: boolean,
): void {
  const limits = weights
    ? { W: edgeLimit(weights, 'W'), U: edgeLimit(weights, 'U'), D: edgeLimit(weights, 'D') }
    : { W: 1, U: 1, D: 1 };
  // While training, the weights change with every update (hundreds a second, drawn twice a
  // second): the paths keep their stacking order (weakest first, strong edges on top, restored by
  // the first redraw after training; moving hundreds of paths in the DOM re-styled and re-laid
  // out every one of them each time: long tasks) and the tooltips (the weight) are written on
  // hover only.
  const edgeText = (e: Edge) => `${e.param}[${e.i},${e.j}] = ${fmt(e.w)}`;
  const hitText = (e: Edge) =>
    e.param === 'W' ? `${edgeText(e)}: click to see its local update` : edgeText(e);
  const drawn = keyedJoin(edgeLayer, 'edge', onCanvas ? [] : edges, !training, (p) => {
    p.setAttribute('fill', 'none');
    p.appendChild(p.ownerDocument.createElementNS(SVG_NS, 'title'));
    hoverTitle(p, edgeText);
  });
  for (const [p, e] of drawn) {
    setAttr(p, 'd', edgePath(e, layout));
    setAttr(p, 'stroke', signedColor(e.w, limits[e.param]));
    setAttr(p, 'stroke-width', edgeWidth(e.s, sw).toFixed(2));
    setAttr(p, 'stroke-opacity', edgeOpacity(e.s).toFixed(2));
    const title = p.firstElementChild;
    if (title && (!training || !title.textContent)) setText(title, edgeText(e));
  }
  // W edges are thin: a wide transparent copy of each takes the clicks that pick a synapse. On
  // a canvas, every edge (the strongest MAX_HIT_EDGES) gets one, for its tooltip.
  // While training, the strongest edges change with every update: swapping hundreds of click
  // targets (each with listeners) took ~35 ms a drawing, a long task. They are kept as they are
  // until training stops (the first redraw after it brings them up to date).
  const hitLayer = layer(svg, 'g', 'edge-hits');
  if (training && hitLayer.childElementCount > 0) {
    followHover(st, edgeText, hitText);
    return;
  }
  const hits = (onCanvas ? edges : edges.filter((e) => e.param === 'W')).slice(-MAX_HIT_EDGES);
  const hitPaths = keyedJoin(hitLayer, 'edge-hit', hits, !training, (p, e) => {
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', 'transparent');
    p.setAttribute('stroke-width', '9');
    p.appendChild(p.ownerDocument.createElementNS(SVG_NS, 'title'));
    hoverTitle(p, hitText);
    if (e.param !== 'W') return;
    p.style.cursor = 'pointer';
    p.addEventListener('click', (ev) => {
      ev.stopPropagation();
      const d = edgeData.get(p);
      if (d) st.onSynapse?.({ post: d.i, pre: d.j });
    });
  });
  for (const [p, e] of hitPaths) {
    setAttr(p, 'd', edgePath(e, layout));
    const title = p.firstElementChild;
    if (title && (!training || !title.textContent)) setText(title, hitText(e));
  }
  followHover(st, edgeText, hitText);
}

/** The tooltip under the pointer follows the weights. */
function followHover(
  st: NetworkState,
  edgeText: (e: Edge) => string,
  hitText: (e: Edge) => string,
): void {
  const hoveredEdge = st.hoveredEdge;
  const he = hoveredEdge?.isConnected ? edgeData.get(hoveredEdge) : undefined;
  const heTitle = hoveredEdge?.firstElementChild;
  if (hoveredEdge && he && heTitle)
    setText(heTitle, hoveredEdge.classList.contains('edge-hit') ? hitText(he) : edgeText(he));
}
