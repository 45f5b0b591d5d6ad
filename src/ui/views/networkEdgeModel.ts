/**
 * The network diagram's edge model: which entries of W (h_j → h_i), U (x_j → h_i) and D
 * (h_j → y_i) are drawn (masked, no zeros, the strongest relative to their matrix), the largest
 * updates, and each edge's geometry and stroke. Shared by the SVG and the canvas edges.
 */
import { quickselect } from 'd3';
import type { Matrix, ParamKey, WeightsSnapshot } from '../../worker/protocol';
import { absMax } from './common';
import type { NetworkLayout, UnitNode } from './networkLayout';

export interface Edge {
  param: 'W' | 'U' | 'D';
  i: number;
  j: number;
  w: number;
  /** |w| relative to the largest |w| of its matrix. */
  s: number;
  from: UnitNode;
  to: UnitNode;
}

/** Draw at most this many edges by default (the strongest, relative to their matrix). */
export const MAX_EDGES = 6000;

interface MatrixSpec {
  param: 'W' | 'U' | 'D';
  mat: Matrix;
  pre: UnitNode[];
  post: UnitNode[];
}

/** W (h_j → h_i), U (x_j → h_i) and D (h_j → y_i) of `params`, when their shapes fit the layout. */
function matrixSpecs(
  params: Partial<Record<ParamKey, Matrix>>,
  layout: NetworkLayout,
): MatrixSpec[] {
  const byKind = { x: [] as UnitNode[], h: [] as UnitNode[], y: [] as UnitNode[] };
  for (const node of layout.nodes) byKind[node.kind][node.index] = node;
  const { x, h, y } = byKind;
  const specs: MatrixSpec[] = [];
  const { W, U, D } = params;
  if (W && W.rows === h.length && W.cols === h.length)
    specs.push({ param: 'W', mat: W, pre: h, post: h });
  if (U && U.rows === h.length && U.cols === x.length)
    specs.push({ param: 'U', mat: U, pre: x, post: h });
  if (D && D.rows === y.length && D.cols === h.length)
    specs.push({ param: 'D', mat: D, pre: h, post: y });
  return specs;
}

/** Is entry `idx` of the spec's matrix an edge to draw (non-zero, unmasked, no self-loop)? */
function kept(spec: MatrixSpec, mask: Float32Array | null, idx: number): boolean {
  const v = spec.mat.data[idx];
  if (v === 0 || !Number.isFinite(v)) return false;
  if (spec.param !== 'W') return true;
  const cols = spec.mat.cols;
  return Math.floor(idx / cols) !== idx % cols && (mask === null || mask[idx] !== 0);
}

function edgeOf(spec: MatrixSpec, idx: number, s: number): Edge {
  const i = Math.floor(idx / spec.mat.cols);
  const j = idx % spec.mat.cols;
  return { param: spec.param, i, j, w: spec.mat.data[idx], s, from: spec.pre[j], to: spec.post[i] };
}

/** The edges of W, U and D, masked and without zeros; only the `limit` strongest (relative to
 *  their matrix's largest |w|) when there are more. Sorted weakest first. */
export function networkEdges(
  weights: WeightsSnapshot,
  layout: NetworkLayout,
  limit: number,
): { edges: Edge[]; total: number } {
  const specs = matrixSpecs(weights.params, layout);
  const mask = weights.maskW;
  // One pass: every drawable entry's spec, index and relative magnitude.
  const size = specs.reduce((a, s) => a + s.mat.data.length, 0);
  const which = new Uint8Array(size);
  const where = new Int32Array(size);
  const mags = new Float64Array(size);
  let total = 0;
  specs.forEach((spec, si) => {
    const data = spec.mat.data;
    const inv = 1 / (absMax(data) || 1);
    for (let idx = 0; idx < data.length; idx++) {
      if (!kept(spec, mask, idx)) continue;
      which[total] = si;
      where[total] = idx;
      mags[total++] = Math.abs(data[idx]) * inv;
    }
  });
  // Threshold on relative magnitude so that at most `limit` edges survive.
  let threshold = 0;
  if (total > limit) {
    const copy = mags.slice(0, total);
    // A plain numeric order (d3's default checks for undefined on every comparison: 2–3× slower
    // over the 270,000 entries of an MNIST net, once per weights snapshot).
    quickselect(copy, total - limit, 0, total - 1, (a, b) => (a as number) - (b as number));
    threshold = copy[total - limit];
  }
  const edges: Edge[] = [];
  for (let e = 0; e < total; e++)
    if (mags[e] >= threshold) edges.push(edgeOf(specs[which[e]], where[e], mags[e]));
  edges.sort((a, b) => a.s - b.s);
  if (edges.length > limit) edges.splice(0, edges.length - limit);
  return { edges, total };
}

/** The `count` drawable edges with the largest |Δ| of the last update (W, U and D together),
 *  largest first; `s` is |Δ|. */
export function largestUpdates(
  weights: WeightsSnapshot,
  layout: NetworkLayout,
  count: number,
): Edge[] {
  const update = weights.lastUpdate;
  if (!update || count <= 0) return [];
  const best: Edge[] = [];
  for (const spec of matrixSpecs(update, layout)) {
    const data = spec.mat.data;
    for (let idx = 0; idx < data.length; idx++) {
      const a = Math.abs(data[idx]);
      if ((best.length === count && a <= best[count - 1].s) || !kept(spec, weights.maskW, idx))
        continue;
      let at = best.length;
      while (at > 0 && best[at - 1].s < a) at--;
      best.splice(at, 0, edgeOf(spec, idx, a));
      if (best.length > count) best.pop();
    }
  }
  return best;
}

/** Geometry of an edge: straight, or (recurrent W) a chord bowed inwards, reciprocal pairs apart. */
export function edgeCurve(
  e: Edge,
  layout: NetworkLayout,
): [number, number, number, number, number, number] | null {
  const { x: x1, y: y1 } = e.from;
  const { x: x2, y: y2 } = e.to;
  if (e.param !== 'W' || layout.layered || !layout.center) return null;
  const mx = (x1 + x2) / 2;
  const my = (y1 + y2) / 2;
  const c = layout.center;
  const cx = mx + (c.x - mx) * 0.35 - (y2 - y1) * 0.08;
  const cy = my + (c.y - my) * 0.35 + (x2 - x1) * 0.08;
  return [x1, y1, cx, cy, x2, y2];
}

export function edgePath(e: Edge, layout: NetworkLayout): string {
  const q = edgeCurve(e, layout);
  const r = (v: number) => Math.round(v * 10) / 10;
  if (!q) return `M${r(e.from.x)},${r(e.from.y)}L${r(e.to.x)},${r(e.to.y)}`;
  return `M${r(q[0])},${r(q[1])}Q${r(q[2])},${r(q[3])} ${r(q[4])},${r(q[5])}`;
}

export const edgeKey = (e: { param: string; i: number; j: number }) => `${e.param}${e.i},${e.j}`;
/** Stroke width and opacity of an edge of relative strength s ∈ [0, 1]. */
export const edgeWidth = (s: number, sw: number) => (0.25 + 2.25 * s) * sw;
export const edgeOpacity = (s: number) => 0.25 + 0.6 * s;
export const edgeLimit = (weights: WeightsSnapshot, p: ParamKey) =>
  absMax(weights.params[p]?.data ?? []) || 1;
