/**
 * The network diagram's edge model: which entries of W (h_j → h_i), U (x_j → h_i) and D
 * (h_j → y_i) are drawn (masked, no zeros, the strongest relative to their matrix), the largest
 * updates, and each edge's geometry and stroke. Shared by the SVG and the canvas edges.
 */
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
  const cols = spec.mat.cols;
  const [i, j] = [Math.floor(idx / cols), idx % cols];
  return isEdge(spec.mat.data[idx], spec.param === 'W', mask, i, j, idx);
}

function edgeOf(spec: MatrixSpec, idx: number, s: number): Edge {
  const i = Math.floor(idx / spec.mat.cols);
  const j = idx % spec.mat.cols;
  return { param: spec.param, i, j, w: spec.mat.data[idx], s, from: spec.pre[j], to: spec.post[i] };
}

/** Bins of the histogram that finds the `limit`-th largest relative magnitude. */
const BINS = 1024;

/** Is entry (i, j) at `idx` of the spec's matrix an edge (non-zero, finite, unmasked, no
 *  self-loop)? */
function isEdge(
  v: number,
  w: boolean,
  mask: Float32Array | null,
  i: number,
  j: number,
  idx: number,
) {
  return v !== 0 && Number.isFinite(v) && !(w && (i === j || (mask !== null && mask[idx] === 0)));
}

/** Entries a step of networkEdgeSteps looks at, about 2–5 ms of a frame. */
const STEP_ENTRIES = 40_000;

/**
 * The edges of W, U and D, masked and without zeros; only the `limit` strongest (relative to
 * their matrix's largest |w|) when there are more. Sorted weakest first.
 *
 * Two passes over the entries and no copy of them: a histogram of the relative magnitudes over
 * [0, 1] finds the bin of the `limit`-th largest, the second pass keeps the edges from that bin
 * up, sorted. Yields every STEP_ENTRIES entries: the network view spreads an MNIST net's 270,000
 * to 460,000 over frames (in one they were a long task at every weights snapshot).
 */
export function* networkEdgeSteps(
  weights: WeightsSnapshot,
  layout: NetworkLayout,
  limit: number,
): Generator<void, { edges: Edge[]; total: number }> {
  const specs = matrixSpecs(weights.params, layout);
  const mask = weights.maskW;
  const inverse: number[] = [];
  for (const spec of specs) {
    inverse.push(1 / (absMax(spec.mat.data) || 1));
    if (spec.mat.data.length > STEP_ENTRIES) yield;
  }
  /** Rows [r0, r1) of every spec in turn, a step's worth at a time. */
  function* rowBlocks(): Generator<[number, number, number], void> {
    for (let si = 0; si < specs.length; si++) {
      const { rows, cols } = specs[si].mat;
      const block = Math.max(1, Math.floor(STEP_ENTRIES / Math.max(1, cols)));
      for (let r0 = 0; r0 < rows; r0 += block) yield [si, r0, Math.min(rows, r0 + block)];
    }
  }
  const counts = new Int32Array(BINS + 1);
  let total = 0;
  for (const [si, r0, r1] of rowBlocks()) {
    const { data, cols } = specs[si].mat;
    const inv = inverse[si];
    const w = specs[si].param === 'W';
    for (let i = r0, idx = r0 * cols; i < r1; i++)
      for (let j = 0; j < cols; j++, idx++) {
        const v = data[idx];
        if (!isEdge(v, w, mask, i, j, idx)) continue;
        counts[Math.min(BINS, Math.floor(Math.abs(v) * inv * BINS))]++;
        total++;
      }
    yield;
  }
  // Bins from `cut` up hold at least `limit` edges; those above it, fewer.
  let cut = 0;
  if (total > limit) {
    let above = 0;
    cut = BINS;
    while (above + counts[cut] < limit) above += counts[cut--];
  }
  const edges: Edge[] = [];
  for (const [si, r0, r1] of rowBlocks()) {
    const spec = specs[si];
    const { data, cols } = spec.mat;
    const inv = inverse[si];
    const w = spec.param === 'W';
    for (let i = r0, idx = r0 * cols; i < r1; i++)
      for (let j = 0; j < cols; j++, idx++) {
        const v = data[idx];
        const s = Math.abs(v) * inv;
        if (Math.min(BINS, Math.floor(s * BINS)) >= cut && isEdge(v, w, mask, i, j, idx))
          edges.push(edgeOf(spec, idx, s));
      }
    yield;
  }
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
