/**
 * The network diagram's drawing (data in, SVG and canvas out): input units x, hidden units filled
 * by ρ(φ) with a ring for the control ψ, output units y with a bar against the target and a ring
 * for u; edges from W, U and D coloured by sign and sized by |w|. Layered nets are drawn in
 * columns, recurrent ones on a circle. Many edges go to a canvas (and only the strongest are
 * drawn); the largest |ΔW| of a new update flash. A picked synapse W[post, pre] shows the local
 * rule: its post-synaptic control times its pre-synaptic rate beside the last update's entry.
 */
import { quickselect, select } from 'd3';
import type { Activation, ControllerKind, Readout } from '../../engine/kinds';
import type { SimView } from '../../state/simView';
import type { Synapse } from '../../state/store';
import type { Matrix, ParamKey, Snapshot, WeightsSnapshot } from '../../worker/protocol';
import { reducedMotion as prefersReducedMotion, ROLE, signedColor, strokeScale } from '../theme';
import {
  emptyMessage,
  fmt,
  fontSize,
  halo,
  INK,
  layer,
  setAttr,
  setText,
  SVG_NS,
  type Size,
} from './common';
import { slopeScalar } from '../../engine/scalarActivations';

export interface NetworkOptions extends Size {
  /** Clock (ms) for the ΔW flash's rate limit; default performance.now(). */
  now?: number;
  /** Skip the ΔW flash; default: prefers-reduced-motion. */
  reducedMotion?: boolean;
  /** Above this many edges, edges go to a canvas. Default CANVAS_THRESHOLD. */
  canvasThreshold?: number;
  /** Draw at most this many edges (the strongest, relative to their matrix). Default 6000. */
  maxEdges?: number;
  /**
   * `units`: the outputs are the last k hidden units (y ≡ φ_y, no D): each y is drawn as a dashed
   * copy of its unit instead of a readout. Default `separate`.
   */
  readout?: Readout;
  /** The hidden controller (linear feedback's rule has the slope ρ′(φ_post) in it). */
  controller?: ControllerKind;
  activation?: Activation;
  /** Samples per update (ΔW is their mean). Default 1. */
  batch?: number;
  /** The synapse W[post, pre] whose local rule is shown, or null. */
  synapse?: Synapse | null;
  /** A W edge was clicked (its synapse), or empty space (null). */
  onSynapse?: (synapse: Synapse | null) => void;
  /**
   * Run a step of a long drawing in a later frame (the view's frame queue). With it, canvas edges
   * of more than EDGE_CHUNK are drawn EDGE_CHUNK at a time on an offscreen canvas, rasterised step
   * by step, and shown together at the end; without it, all at once.
   */
  schedule?: (step: () => void) => void;
}

/**
 * At most this many edges (the strongest) get a wide invisible stroke that is easier to click
 * (W edges: it picks the synapse) and carries the tooltip: W edges on SVG, all edges on a canvas.
 */
export const MAX_HIT_EDGES = 600;

/**
 * The synapse with the largest |ΔW[post, pre]| of the last update (`lastUpdate.W`, n×n row-major,
 * row = post-synaptic unit), self-connections and zeros left out (the diagram draws neither); null
 * without an update. A chapter's scene that asks for "the strongest synapse" resolves it with this.
 */
export function strongestSynapse(
  lastUpdateW: Matrix | null | undefined,
  n: number,
): Synapse | null {
  if (!lastUpdateW || lastUpdateW.rows !== n || lastUpdateW.cols !== n) return null;
  let best: Synapse | null = null;
  let size = 0;
  for (let post = 0; post < n; post++)
    for (let pre = 0; pre < n; pre++) {
      const a = Math.abs(lastUpdateW.data[post * n + pre]);
      if (post !== pre && Number.isFinite(a) && a > size) {
        size = a;
        best = { post, pre };
      }
    }
  return best;
}

/** The local rule at one synapse: the factors now and the last update's entry. */
export interface SynapseRule {
  post: number;
  pre: number;
  /** ψ_post and ρ_pre of the state shown; linear feedback also ρ′(φ_post). */
  psi: number;
  rate: number;
  slope: number | null;
  /** Their product: what ΔW[post, pre] is at this state (one sample, before the optimiser). */
  product: number;
  /** The last update's ΔW[post, pre] (before the optimiser), NaN without one. */
  delta: number;
  /** The rule's two lines of text. */
  lines: [string, string];
  /** ψ and ρ are those of the last update's controlled equilibrium (else the state shown). */
  atUpdate: boolean;
}

/**
 * The LCP rule at W[post, pre] (DESIGN.md §1): ΔW = ψ* ρ(φ*)ᵀ, so its entry is the post-synaptic
 * control times the pre-synaptic rate, ψ*_post · ρ(φ*_pre) — for linear feedback
 * ρ′(φ*_post) ψ*_post · ρ(φ*_pre). The update is the mean of this over the batch, before the
 * optimiser (SGD then adds the learning rate times it; Adam rescales it).
 */
export function synapseRule(
  latest: Snapshot | null,
  weights: WeightsSnapshot | null,
  synapse: Synapse,
  options: { controller?: ControllerKind; activation?: Activation; batch?: number } = {},
): SynapseRule | null {
  const { post, pre } = synapse;
  if (!latest || post < 0 || pre < 0 || post >= latest.n || pre >= latest.n) return null;
  // After an update, its own controlled equilibrium (so that the product is the update's entry);
  // before one, the state on screen.
  const origin = weights?.lastUpdateAt;
  const state = origin && origin.psi.length === latest.n ? origin : latest;
  const psi = state.psi[post];
  const rate = state.rate[pre];
  const lf = options.controller === 'linear-feedback';
  const slope = lf ? slopeScalar(options.activation ?? 'tanh', state.phi[post]) : null;
  const product = (slope ?? 1) * psi * rate;
  const W = weights?.lastUpdate?.W;
  const delta = W && W.rows === latest.n ? W.data[post * W.cols + pre] : NaN;
  const at = `W[${post},${pre}]`;
  const star = state === latest ? '' : '*';
  const factors = lf
    ? `ρ′(φ${star}${sub(post)}) ψ${star}${sub(post)} · ρ(φ${star}${sub(pre)}) = ${fmt(slope)} × ${fmt(psi)} × ${fmt(rate)}`
    : `ψ${star}${sub(post)} · ρ(φ${star}${sub(pre)}) = ${fmt(psi)} × ${fmt(rate)}`;
  const batch = options.batch ?? 1;
  const off = state === latest && !latest.control ? ' (control off: ψ = 0)' : '';
  const first = `Δ${at} ∝ ${factors} = ${fmt(product)}${off}`;
  const second = Number.isFinite(delta)
    ? `last update Δ${at} = ${fmt(delta)} (${batch > 1 ? `mean over ${batch} samples, the product is the first's; ` : 'at its φ*, '}before the learning rate)`
    : 'no update yet: press Learn';
  return {
    post,
    pre,
    psi,
    rate,
    slope,
    product,
    delta,
    lines: [first, second],
    atUpdate: star !== '',
  };
}

/**
 * Above this many edges they are painted on a canvas: SVG edges are re-styled and repainted one by
 * one on every weights snapshot, which while training a 16-16 net (320 edges) or a 16-16-16 one
 * (576) made long tasks.
 */
export const CANVAS_THRESHOLD = 200;
export const MAX_EDGES = 6000;
/** At most one ΔW flash per this many ms. */
export const FLASH_INTERVAL = 500;
/** Matrices with more entries than this (W, U and D together) redraw their edges for new
 *  weights at most every HEAVY_INTERVAL ms. */
export const HEAVY_ENTRIES = 20_000;
export const HEAVY_INTERVAL = 200;
/** Strength levels of canvas edges (each level and sign is one colour, width and opacity). */
export const CANVAS_BUCKETS = 12;
/**
 * Canvas edges drawn (and rasterised) in the first step of a scheduled drawing; later steps take
 * as many as fit in EDGE_STEP_MS by the pace so far. 6,000 edges took 100–250 ms of raster in one
 * frame's paint on a software canvas (a long task every weights snapshot while training the MNIST
 * nets): 15–40 µs an edge on this 2-core machine (chords of a circle cost the most).
 */
export const EDGE_CHUNK = 200;
export const EDGE_STEP_MS = 6;

/** A software 2D context: a GPU-backed one on a software GL (SwiftShader, small machines) held
 *  the page's frames back for seconds after each redraw while the engine trained. */
function softContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  try {
    return canvas.getContext('2d', { willReadFrequently: true });
  } catch {
    return null;
  }
}

/**
 * Paint `edges` on the canvas of `ctx`, weakest first, grouped by (strength level, sign): one
 * colour, width and opacity per group, one stroke per edge (a single path of thousands of
 * crossing segments rasterises about twice as slowly). With `schedule` and more than EDGE_CHUNK
 * edges, the drawing goes to an offscreen canvas in steps of about EDGE_STEP_MS, each rasterised
 * at once (a 1-pixel read flushes it) so that no frame's paint gets all of it, and is copied over
 * at the end; the edges shown until then stay. A later drawing (st.edgeJob) cancels it.
 */
function paintEdges(
  st: NetworkState,
  job: number,
  canvas: HTMLCanvasElement,
  ctx: CanvasRenderingContext2D,
  edges: Edge[],
  layout: NetworkLayout,
  sw: number,
  dpr: number,
  schedule: ((step: () => void) => void) | undefined,
): void {
  const B = CANVAS_BUCKETS;
  const buckets: Edge[][] = Array.from({ length: 2 * (B + 1) }, () => []);
  for (const e of edges) buckets[2 * Math.round(e.s * B) + (e.w > 0 ? 1 : 0)].push(e);
  const order: [Edge, number][] = [];
  buckets.forEach((list, bi) => {
    for (const e of list) order.push([e, bi]);
  });
  const { width: cw, height: ch } = canvas;
  const stroke = (c: CanvasRenderingContext2D, from: number, to: number) => {
    c.lineCap = 'round';
    let bucket = -1;
    for (let q = from; q < to; q++) {
      const [e, bi] = order[q];
      if (bi !== bucket) {
        bucket = bi;
        const strength = Math.floor(bi / 2) / B;
        c.strokeStyle = signedColor(bi % 2 ? strength : -strength, 1);
        c.globalAlpha = edgeOpacity(strength);
        c.lineWidth = edgeWidth(strength, sw);
      }
      c.beginPath();
      const k = edgeCurve(e, layout);
      if (k) {
        c.moveTo(k[0], k[1]);
        c.quadraticCurveTo(k[2], k[3], k[4], k[5]);
      } else {
        c.moveTo(e.from.x, e.from.y);
        c.lineTo(e.to.x, e.to.y);
      }
      c.stroke();
    }
    c.globalAlpha = 1;
  };
  const off =
    schedule && order.length > EDGE_CHUNK
      ? (st.offscreen ??= canvas.ownerDocument.createElement('canvas'))
      : null;
  const octx = off ? softContext(off) : null;
  if (!off || !octx || !schedule) {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cw / dpr, ch / dpr);
    stroke(ctx, 0, order.length);
    return;
  }
  if (off.width !== cw) off.width = cw;
  if (off.height !== ch) off.height = ch;
  octx.setTransform(dpr, 0, 0, dpr, 0, 0);
  octx.clearRect(0, 0, cw / dpr, ch / dpr);
  let at = 0;
  let size = EDGE_CHUNK;
  const step = () => {
    if (job !== st.edgeJob) return;
    const t0 = performance.now();
    const to = Math.min(order.length, at + size);
    stroke(octx, at, to);
    at = to;
    if (at < order.length) {
      octx.getImageData(0, 0, 1, 1);
      // The next step: as many edges as took EDGE_STEP_MS at this pace.
      const pace = (performance.now() - t0) / size;
      size = Math.max(
        50,
        Math.min(20 * EDGE_CHUNK, Math.floor(EDGE_STEP_MS / Math.max(pace, 1e-3))),
      );
      schedule(step);
      return;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
    ctx.drawImage(off, 0, 0);
  };
  schedule(step);
}

export type UnitKind = 'x' | 'h' | 'y';

export interface UnitNode {
  kind: UnitKind;
  /** Index within its population (x_j, h_i or y_i). */
  index: number;
  /** Hidden block (layered nets), 0 otherwise. */
  block: number;
  x: number;
  y: number;
  r: number;
}

export interface NetworkLayout {
  nodes: UnitNode[];
  columns: { label: string; x: number }[];
  layered: boolean;
  /** Centre of the hidden circle (recurrent layout). */
  center: { x: number; y: number } | null;
}

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

const SUB = '₀₁₂₃₄₅₆₇₈₉';
const sub = (i: number) =>
  String(i)
    .split('')
    .map((c) => SUB[Number(c)])
    .join('');

const MIN_SPACING = 3;

/** Units of one column block: sub-columns when they do not fit, an image grid for images. */
function placeBlock(
  count: number,
  cx: number,
  bandW: number,
  top: number,
  bottom: number,
  image: { rows: number; cols: number } | null,
): { x: number; y: number; r: number }[] {
  const H = Math.max(1, bottom - top);
  let rows: number;
  let cols: number;
  let dx: number;
  let dy: number;
  const asImage = image !== null && image.rows * image.cols === count;
  if (asImage) {
    rows = image.rows;
    cols = image.cols;
    dx = dy = Math.min(bandW / cols, H / rows);
  } else {
    const cap = Math.max(1, Math.floor(H / MIN_SPACING));
    cols = Math.ceil(count / cap);
    rows = Math.ceil(count / cols);
    dy = H / rows;
    dx = cols > 1 ? bandW / cols : 0;
  }
  const r = Math.max(0.8, Math.min(12, dy * 0.36, cols > 1 ? dx * 0.36 : Infinity));
  const x0 = cx - (dx * (cols - 1)) / 2;
  const y0 = top + (H - dy * rows) / 2 + dy / 2;
  const out: { x: number; y: number; r: number }[] = [];
  for (let i = 0; i < count; i++) {
    const row = asImage ? Math.floor(i / cols) : i % rows;
    const col = asImage ? i % cols : Math.floor(i / rows);
    out.push({ x: x0 + col * dx, y: y0 + row * dy, r });
  }
  return out;
}

/** Where every unit goes: columns x | h₁ … h_L | y (layered) or x | circle | y (recurrent). */
export function networkLayout(
  dims: { m: number; n: number; k: number },
  layers: number[],
  layered: boolean,
  size: Size,
  image: { rows: number; cols: number } | null = null,
  /** Lines of text under the diagram: the caption, or a picked synapse's rule (two). */
  footerLines = 1,
): NetworkLayout {
  const { m, n, k } = dims;
  const fs = fontSize();
  const top = Math.round(fs * 1.8) + 2;
  const bottom = size.height - Math.round(fs * (0.4 + 1.2 * footerLines)) - 2;
  const gutter = Math.max(0, Math.min(54, size.width * 0.14));
  const nodes: UnitNode[] = [];
  const columns: { label: string; x: number }[] = [];
  const push = (
    kind: UnitKind,
    block: number,
    offset: number,
    pts: { x: number; y: number; r: number }[],
  ) => pts.forEach((p, i) => nodes.push({ kind, index: offset + i, block, ...p }));

  const blocks = layered && layers.reduce((a, b) => a + b, 0) === n && layers.length ? layers : [n];
  if (layered) {
    const ncol = blocks.length + 2;
    const colW = (size.width - 8 - gutter - 4) / ncol;
    const cx = (c: number) => 4 + colW * (c + 0.5);
    const band = colW * 0.7;
    push('x', 0, 0, placeBlock(m, cx(0), band, top, bottom, image));
    columns.push({ label: 'x', x: cx(0) });
    let offset = 0;
    blocks.forEach((size, l) => {
      push('h', l, offset, placeBlock(size, cx(l + 1), band, top, bottom, null));
      columns.push({ label: blocks.length > 1 ? `h${sub(l + 1)}` : 'h', x: cx(l + 1) });
      offset += size;
    });
    push('y', 0, 0, placeBlock(k, cx(ncol - 1), band, top, bottom, null));
    columns.push({ label: 'y', x: cx(ncol - 1) });
    return { nodes, columns, layered: true, center: null };
  }
  const colW = Math.max(20, Math.min(70, size.width * 0.14));
  const inX = 4 + colW / 2;
  const outX = size.width - gutter - colW / 2;
  push('x', 0, 0, placeBlock(m, inX, colW * 0.7, top, bottom, image));
  columns.push({ label: 'x', x: inX });
  const center = { x: (inX + outX) / 2, y: (top + bottom) / 2 };
  const R = Math.max(4, Math.min((outX - inX) / 2 - colW / 2 - 4, (bottom - top) / 2 - 6));
  const r = n === 1 ? 12 : Math.max(0.8, Math.min(12, ((Math.PI * R) / n) * 0.6));
  for (let i = 0; i < n; i++) {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
    const rad = n === 1 ? 0 : R;
    nodes.push({
      kind: 'h',
      index: i,
      block: 0,
      x: center.x + rad * Math.cos(a),
      y: center.y + rad * Math.sin(a),
      r,
    });
  }
  columns.push({ label: `h (n = ${n})`, x: center.x });
  push('y', 0, 0, placeBlock(k, outX, colW * 0.7, top, bottom, null));
  columns.push({ label: 'y', x: outX });
  return { nodes, columns, layered: false, center };
}

function absMax(a: ArrayLike<number>): number {
  let mx = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > mx) mx = v;
  }
  return mx;
}

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
    quickselect(copy, total - limit);
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
function edgeCurve(
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

function edgePath(e: Edge, layout: NetworkLayout): string {
  const q = edgeCurve(e, layout);
  const r = (v: number) => Math.round(v * 10) / 10;
  if (!q) return `M${r(e.from.x)},${r(e.from.y)}L${r(e.to.x)},${r(e.to.y)}`;
  return `M${r(q[0])},${r(q[1])}Q${r(q[2])},${r(q[3])} ${r(q[4])},${r(q[5])}`;
}

const edgeKey = (e: { param: string; i: number; j: number }) => `${e.param}${e.i},${e.j}`;
/** Stroke width and opacity of an edge of relative strength s ∈ [0, 1]. */
const edgeWidth = (s: number, sw: number) => (0.25 + 2.25 * s) * sw;
const edgeOpacity = (s: number) => 0.25 + 0.6 * s;
const edgeLimit = (weights: WeightsSnapshot, p: ParamKey) =>
  absMax(weights.params[p]?.data ?? []) || 1;

/** What hovering a unit shows. */
export function unitText(latest: Snapshot | null, node: UnitNode, layered = false): string {
  const v = (a: Float32Array | null | undefined, i: number) => fmt(a ? a[i] : NaN);
  const i = node.index;
  if (node.kind === 'x') return `input x${sub(i)} = ${v(latest?.x, i)}`;
  if (node.kind === 'y') {
    return [
      `output y${sub(i)} = ${v(latest?.y, i)}`,
      `target = ${v(latest?.target, i)}`,
      `u${sub(i)} = ${v(latest?.u, i)}`,
    ].join('\n');
  }
  return [
    `hidden unit ${i}${layered ? ` (block h${sub(node.block + 1)})` : ''}`,
    `φ = ${v(latest?.phi, i)}`,
    `ρ(φ) = ${v(latest?.rate, i)}`,
    `ψ = ${v(latest?.psi, i)}`,
    `φ⁰ (free) = ${v(latest?.freePhi, i)}`,
  ].join('\n');
}

interface NetworkState {
  generation: number;
  psiMax: number;
  uMax: number;
  layoutKey: string;
  layout: NetworkLayout | null;
  edgesKey: string;
  edgeCount: { shown: number; total: number };
  version: number | null;
  updateSignature: string;
  lastFlash: number;
  hovered: UnitNode | null;
  /** The edge (or W-edge click target) under the pointer: its tooltip follows new weights. */
  hoveredEdge: SVGPathElement | null;
  latest: Snapshot | null;
  lastEdges: number;
  timer: ReturnType<typeof setTimeout> | null;
  lastCall: { view: SimView; options: NetworkOptions } | null;
  onSynapse: ((synapse: Synapse | null) => void) | undefined;
  unitsKey: string;
  /** The canvas edges' drawing in progress (a new one cancels it) and its offscreen canvas. */
  edgeJob: number;
  offscreen: HTMLCanvasElement | null;
  units: {
    node: UnitNode;
    unit: SVGCircleElement;
    ring: SVGCircleElement;
    title: SVGTitleElement;
  }[];
}

const states = new WeakMap<HTMLElement, NetworkState>();

function stateOf(root: HTMLElement): NetworkState {
  let s = states.get(root);
  if (!s) {
    s = {
      generation: -1,
      psiMax: 0,
      uMax: 0,
      layoutKey: '',
      layout: null,
      edgesKey: '',
      edgeCount: { shown: 0, total: 0 },
      version: null,
      updateSignature: '',
      lastFlash: -Infinity,
      hovered: null,
      hoveredEdge: null,
      latest: null,
      lastEdges: -Infinity,
      timer: null,
      lastCall: null,
      onSynapse: undefined,
      unitsKey: '',
      edgeJob: 0,
      offscreen: null,
      units: [],
    };
    states.set(root, s);
  }
  return s;
}

function signature(update: Partial<Record<ParamKey, Matrix>> | null): string {
  if (!update) return '';
  return (['W', 'U', 'D', 'b', 'd'] as const)
    .map((p) => {
      const a = update[p]?.data;
      if (!a) return '-';
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < a.length; i++) {
        s1 += a[i] * ((i % 7) + 1);
        s2 += a[i] * a[i];
      }
      return `${s1}:${s2}`;
    })
    .join('|');
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

/** The edge each path draws (its datum). */
const edgeData = new WeakMap<SVGPathElement, Edge>();

/** Write an edge's tooltip when the pointer enters it (and remember it as hovered). */
function hoverTitle(p: SVGPathElement, text: (e: Edge) => string): void {
  p.addEventListener('mouseenter', () => {
    const e = edgeData.get(p);
    const title = p.firstElementChild;
    const root = p.closest('svg')?.parentElement;
    const st = root ? states.get(root) : undefined;
    if (st) st.hoveredEdge = p;
    if (e && title) title.textContent = text(e);
  });
  p.addEventListener('mouseleave', () => {
    const root = p.closest('svg')?.parentElement;
    const st = root ? states.get(root) : undefined;
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

/** Draw the network of `view` into `root` (a positioned element; a canvas and an SVG go in it). */
export function drawNetwork(root: HTMLElement, view: SimView, options: NetworkOptions): void {
  const { width, height } = options;
  const st = stateOf(root);
  const fs = fontSize();
  const sw = strokeScale();
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

  // Edges: redrawn only when the weights, the layout or the stroke scale change; for large
  // matrices, new weights alone redraw at most every HEAVY_INTERVAL ms (the last change is drawn
  // by a deferred redraw), so that training a big net does not swamp the main thread.
  const now = options.now ?? (typeof performance !== 'undefined' ? performance.now() : Date.now());
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
    const { edges, total } = weights
      ? networkEdges(weights, layout, options.maxEdges ?? MAX_EDGES)
      : { edges: [], total: 0 };
    st.edgeCount = { shown: edges.length, total };
    const limits = weights
      ? { W: edgeLimit(weights, 'W'), U: edgeLimit(weights, 'U'), D: edgeLimit(weights, 'D') }
      : { W: 1, U: 1, D: 1 };
    const onCanvas = edges.length > threshold;
    root.dataset.edges = onCanvas ? 'canvas' : 'svg';
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
    const hits = (onCanvas ? edges : edges.filter((e) => e.param === 'W')).slice(-MAX_HIT_EDGES);
    const hitPaths = keyedJoin(
      layer(svg, 'g', 'edge-hits'),
      'edge-hit',
      hits,
      !training,
      (p, e) => {
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
      },
    );
    for (const [p, e] of hitPaths) {
      setAttr(p, 'd', edgePath(e, layout));
      const title = p.firstElementChild;
      if (title && (!training || !title.textContent)) setText(title, hitText(e));
    }
    // The tooltip under the pointer follows the weights.
    const hoveredEdge = st.hoveredEdge;
    const he = hoveredEdge?.isConnected ? edgeData.get(hoveredEdge) : undefined;
    const heTitle = hoveredEdge?.firstElementChild;
    if (hoveredEdge && he && heTitle)
      setText(heTitle, hoveredEdge.classList.contains('edge-hit') ? hitText(he) : edgeText(he));
    const dpr = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const cw = onCanvas ? Math.round(width * dpr) : 0;
    const ch = onCanvas ? Math.round(height * dpr) : 0;
    if (canvas.width !== cw) canvas.width = cw;
    if (canvas.height !== ch) canvas.height = ch;
    const job = ++st.edgeJob;
    const ctx = onCanvas ? softContext(canvas) : null;
    if (ctx) paintEdges(st, job, canvas, ctx, edges, layout, sw, dpr, options.schedule);
  }

  // ΔW flash: a new weights version carrying a new update, at most every FLASH_INTERVAL ms.
  const flashLayer = layer(svg, 'g', 'flash');
  if (weights && weights.version !== st.version) {
    const first = st.version === null;
    st.version = weights.version;
    const sig = signature(weights.lastUpdate);
    const changed = sig !== st.updateSignature;
    st.updateSignature = sig;
    const reduced = options.reducedMotion ?? prefersReducedMotion();
    // While training, updates come by the hundred: a flash would only keep the screen (and a
    // software GPU) busy, and says nothing about any one update.
    const training = view.latest?.phase === 'training';
    if (
      !first &&
      changed &&
      weights.lastUpdate &&
      !reduced &&
      !training &&
      now - st.lastFlash >= FLASH_INTERVAL
    ) {
      st.lastFlash = now;
      root.dataset.flashes = String(Number(root.dataset.flashes ?? 0) + 1);
      const count = Math.max(3, Math.min(24, Math.round(0.03 * st.edgeCount.total)));
      const top = largestUpdates(weights, layout, count);
      const paths = select(flashLayer)
        .selectAll<SVGPathElement, Edge>('path.flash-edge')
        .data(top, edgeKey)
        .join('path')
        .attr('class', 'flash-edge')
        .attr('fill', 'none')
        .attr('stroke', ROLE.psi)
        .attr('stroke-linecap', 'round')
        .attr('stroke-width', 3 * sw)
        .attr('d', (e) => edgePath(e, layout))
        .attr('opacity', 1);
      paths.each(function () {
        if (typeof this.animate === 'function')
          this.animate([{ opacity: 1 }, { opacity: 0 }], {
            duration: 900,
            easing: 'ease-in',
            fill: 'forwards',
          });
      });
    }
  }
  if (st.version === null) flashLayer.replaceChildren();

  // Units: fill by value, rings for ψ (hidden) and u (outputs); redrawn every snapshot.
  const psiNow = latest ? absMax(latest.psi) : 0;
  const uNow = latest ? absMax(latest.u) : 0;
  st.psiMax = Math.max(st.psiMax, psiNow);
  st.uMax = Math.max(st.uMax, uNow);
  const rateLim = Math.max(1, latest ? absMax(latest.rate) : 1);
  const xLim = Math.max(1, latest ? absMax(latest.x) : 1);
  const yLim = Math.max(1, latest ? Math.max(absMax(latest.y), absMax(latest.target)) : 1);
  const valueOf = (node: UnitNode): number => {
    if (!latest) return NaN;
    if (node.kind === 'x') return latest.x[node.index];
    if (node.kind === 'y') return latest.y[node.index];
    return latest.rate[node.index];
  };
  const fill = (node: UnitNode) => {
    const v = valueOf(node);
    if (!Number.isFinite(v)) return 'transparent';
    return signedColor(v, node.kind === 'x' ? xLim : node.kind === 'y' ? yLim : rateLim);
  };
  const ring = (node: UnitNode): { w: number; v: number } => {
    if (!latest || node.kind === 'x') return { w: 0, v: 0 };
    const v = node.kind === 'h' ? latest.psi[node.index] : latest.u[node.index];
    const scale = node.kind === 'h' ? st.psiMax : st.uMax;
    const maxW = Math.max(1.5, node.r * 0.6);
    return { w: scale > 0 && Number.isFinite(v) ? maxW * Math.min(1, Math.abs(v) / scale) : 0, v };
  };
  // The unit elements are (re)built only when the layout changes; every snapshot then only sets
  // the attributes whose values changed.
  const unitLayer = layer(svg, 'g', 'units');
  const nodeKey = (d: UnitNode) => `${d.kind}${d.index}`;
  const unitsKey = `${layoutKey}|${sw}`;
  if (st.unitsKey !== unitsKey || unitLayer.childElementCount !== layout.nodes.length) {
    st.unitsKey = unitsKey;
    st.units = [];
    const units = st.units;
    select(unitLayer)
      .selectAll<SVGGElement, UnitNode>('g.node')
      .data(layout.nodes, nodeKey)
      .join((enter) => {
        const g = enter.append('g').attr('class', (d) => `node node-${d.kind}`);
        g.append('circle').attr('class', 'ring').attr('fill', 'none');
        g.append('circle').attr('class', 'unit');
        g.append('title');
        return g;
      })
      .attr('transform', (d) => `translate(${d.x},${d.y})`)
      .on('mouseenter', function (_event, d) {
        st.hovered = d;
        select(this)
          .select('title')
          .text(unitText(st.latest, d, layout.layered));
      })
      .on('mouseleave', () => {
        st.hovered = null;
      })
      .each(function (d) {
        const g = select(this);
        g.select('circle.unit')
          .attr('r', d.r)
          .attr('stroke', d.kind === 'y' ? ROLE.y : INK)
          .attr('stroke-opacity', d.kind === 'y' ? 1 : 0.6)
          .attr('stroke-width', (d.r > 3 ? 0.8 : 0.3) * sw);
        g.select('circle.ring').attr('stroke', d.kind === 'h' ? ROLE.psi : ROLE.u);
        g.select('title').text(unitText(null, d, layout.layered).split('\n')[0]);
        units.push({
          node: d,
          unit: g.select<SVGCircleElement>('circle.unit').node()!,
          ring: g.select<SVGCircleElement>('circle.ring').node()!,
          title: g.select<SVGTitleElement>('title').node()!,
        });
      });
  }
  for (const { node, unit, ring: ringEl } of st.units) {
    setAttr(unit, 'fill', fill(node));
    if (node.kind === 'x') continue;
    const { w, v } = ring(node);
    const visible = w >= 0.2;
    setAttr(ringEl, 'visibility', visible ? 'visible' : 'hidden');
    if (!visible) continue;
    setAttr(ringEl, 'r', (node.r + w / 2 + 0.6).toFixed(1));
    setAttr(ringEl, 'stroke-width', w.toFixed(1));
    setAttr(
      ringEl,
      'stroke-dasharray',
      v < 0
        ? `${Math.max(1, node.r * 0.5).toFixed(1)} ${Math.max(1, node.r * 0.35).toFixed(1)}`
        : null,
    );
  }
  const hovered = st.hovered;
  const hoveredUnit = hovered
    ? st.units.find((e) => e.node.kind === hovered.kind && e.node.index === hovered.index)
    : undefined;
  if (hovered && hoveredUnit)
    hoveredUnit.title.textContent = unitText(latest, hovered, layout.layered);

  // Output bars: y (bar) against the target (tick), in the right gutter.
  const outputs = layout.nodes.filter((d) => d.kind === 'y');
  select(layer(svg, 'g', 'bars'))
    .selectAll<SVGGElement, UnitNode>('g.bar')
    .data(outputs, nodeKey)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'bar');
      g.append('line').attr('class', 'track');
      g.append('rect').attr('class', 'value');
      g.append('line').attr('class', 'target');
      return g;
    })
    .each(function (d) {
      const x0 = d.x + d.r + 6;
      const x1 = width - 6;
      const half = (x1 - x0) / 2;
      const g = select(this).attr('visibility', half >= 8 ? 'visible' : 'hidden');
      const mid = x0 + half;
      const sx = (v: number) => mid + (half * Math.max(-yLim, Math.min(yLim, v))) / yLim;
      const yv = latest ? latest.y[d.index] : NaN;
      const tv = latest ? latest.target[d.index] : NaN;
      const h = Math.max(2, Math.min(8, d.r * 1.2));
      g.select('line.track')
        .attr('x1', x0)
        .attr('x2', x1)
        .attr('y1', d.y)
        .attr('y2', d.y)
        .attr('stroke', INK)
        .attr('stroke-opacity', 0.25);
      const yOk = Number.isFinite(yv);
      g.select('rect.value')
        .attr('x', yOk ? Math.min(mid, sx(yv)) : mid)
        .attr('width', yOk ? Math.abs(sx(yv) - mid) : 0)
        .attr('y', d.y - h / 2)
        .attr('height', h)
        .attr('fill', ROLE.y);
      g.select('line.target')
        .attr('x1', Number.isFinite(tv) ? sx(tv) : mid)
        .attr('x2', Number.isFinite(tv) ? sx(tv) : mid)
        .attr('y1', d.y - h / 2 - 3)
        .attr('y2', d.y + h / 2 + 3)
        .attr('stroke', INK)
        .attr('stroke-width', 2 * sw)
        .attr('visibility', Number.isFinite(tv) ? 'visible' : 'hidden');
    });

  // Readout `units`: y is the last k units themselves, joined to its copy by a dashed line.
  const copies =
    options.readout === 'units'
      ? outputs.flatMap((y) => {
          const hidden = layout.nodes.filter((u) => u.kind === 'h');
          const unit = hidden.find((h) => h.index === hidden.length - outputs.length + y.index);
          return unit ? [{ unit, y }] : [];
        })
      : [];
  select(layer(svg, 'g', 'copies'))
    .selectAll('line')
    .data(copies)
    .join('line')
    .attr('x1', (c) => c.unit.x)
    .attr('y1', (c) => c.unit.y)
    .attr('x2', (c) => c.y.x)
    .attr('y2', (c) => c.y.y)
    .attr('stroke', ROLE.y)
    .attr('stroke-width', 1.5 * sw)
    .attr('stroke-dasharray', '4 3')
    .append('title')
    .text('y ≡ φ_y: this output is the unit itself (readout "units"), no readout weights D');

  // Column labels and the caption.
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

  drawSynapse(svg, layout, view, options, fs, sw, caption);
}

/**
 * The picked synapse (issue 11, chapter 5): its edge, its post-synaptic unit's control ψ_post and
 * its pre-synaptic unit's rate ρ_pre highlighted, and the rule's two lines in place of the caption.
 */
function drawSynapse(
  svg: SVGSVGElement,
  layout: NetworkLayout,
  view: SimView,
  options: NetworkOptions,
  fs: number,
  sw: number,
  caption: SVGTextElement,
): void {
  const g = layer(svg, 'g', 'synapse');
  const syn = options.synapse ?? null;
  const hidden = (i: number) => layout.nodes.find((u) => u.kind === 'h' && u.index === i);
  const post = syn ? hidden(syn.post) : undefined;
  const pre = syn ? hidden(syn.pre) : undefined;
  const rule =
    syn && post && pre && syn.post !== syn.pre
      ? synapseRule(view.latest, view.weights, syn, options)
      : null;
  if (!rule || !post || !pre) {
    g.replaceChildren();
    g.setAttribute('display', 'none');
    caption.removeAttribute('display');
    return;
  }
  g.removeAttribute('display');
  // Marks only: clicks go through to the edges and units below.
  g.setAttribute('pointer-events', 'none');
  const w = view.weights?.params.W;
  const edge: Edge = {
    param: 'W',
    i: rule.post,
    j: rule.pre,
    w: w ? w.data[rule.post * w.cols + rule.pre] : 0,
    s: 1,
    from: pre,
    to: post,
  };
  select(layer(g, 'path', 'syn-edge'))
    .attr('d', edgePath(edge, layout))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 4 * sw)
    .attr('stroke-linecap', 'round')
    .attr('stroke-opacity', 0.85);
  const ring = (cls: string, node: UnitNode, color: string, dash: string | null) =>
    select(layer(g, 'circle', cls))
      .attr('cx', node.x)
      .attr('cy', node.y)
      .attr('r', node.r + 4 * sw)
      .attr('fill', 'none')
      .attr('stroke', color)
      .attr('stroke-width', 2.5 * sw)
      .attr('stroke-dasharray', dash);
  ring('syn-post', post, ROLE.psi, null);
  ring('syn-pre', pre, ROLE.phi, '4 2');
  // Labels beside the unit, away from the circle's centre (recurrent) or to the right (layered):
  // never above or below it, where the column names and the rule's lines are.
  const place = (node: UnitNode): [number, number, 'start' | 'end'] => {
    const left = layout.center ? node.x < layout.center.x - 1 : false;
    const off = node.r + 6 * sw;
    return [node.x + (left ? -off : off), node.y + fs * 0.35, left ? 'end' : 'start'];
  };
  const tag = (cls: string, node: UnitNode, text: string, color: string) => {
    const [x, y, anchor] = place(node);
    const el = select(layer(g, 'text', cls))
      .attr('x', x.toFixed(1))
      .attr('y', y.toFixed(1))
      .attr('text-anchor', anchor)
      .attr('font-size', fs)
      .attr('font-weight', 600)
      .attr('fill', color)
      .text(text)
      .node();
    if (el) halo(el);
  };
  const star = rule.atUpdate ? '*' : '';
  tag('syn-post-label', post, `ψ${star}${sub(rule.post)} = ${fmt(rule.psi)}`, ROLE.psi);
  tag('syn-pre-label', pre, `ρ(φ${star}${sub(rule.pre)}) = ${fmt(rule.rate)}`, ROLE.phi);
  // The rule in place of the caption (two lines at the bottom).
  caption.setAttribute('display', 'none');
  const height = Number(svg.getAttribute('height'));
  const text = select(layer(g, 'text', 'syn-rule'))
    .attr('x', 4)
    .attr('y', height - 4 - fs * 1.2)
    .attr('font-size', fs * 0.95)
    .attr('fill', INK);
  text
    .selectAll('tspan')
    .data(rule.lines)
    .join('tspan')
    .attr('x', 4)
    .attr('dy', (_, q) => (q ? fs * 1.2 : 0))
    .attr('font-weight', (_, q) => (q ? null : 600))
    .text((d) => d);
  const node = text.node();
  if (node) halo(node);
}
