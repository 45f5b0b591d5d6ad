/**
 * The network diagram's edges painted on a canvas (many edges), grouped by strength and sign; a
 * long drawing goes in steps through an offscreen canvas so that no frame rasterises all of it.
 */
import { signedColor } from '../theme';
import { softContext, type Size } from './common';
import { edgeCurve, edgeOpacity, edgeWidth, type Edge } from './networkEdgeModel';
import type { NetworkLayout } from './networkLayout';
import type { NetworkState } from './networkState';

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

/**
 * Size `canvas` to the diagram (to nothing when the edges are on SVG) and paint `edges` on it;
 * every call starts a new edge job, which cancels a scheduled drawing still in progress.
 */
export function drawCanvasEdges(
  canvas: HTMLCanvasElement,
  st: NetworkState,
  edges: Edge[],
  onCanvas: boolean,
  layout: NetworkLayout,
  { width, height }: Size,
  sw: number,
  schedule: ((step: () => void) => void) | undefined,
): void {
  const dpr = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const cw = onCanvas ? Math.round(width * dpr) : 0;
  const ch = onCanvas ? Math.round(height * dpr) : 0;
  if (canvas.width !== cw) canvas.width = cw;
  if (canvas.height !== ch) canvas.height = ch;
  const job = ++st.edgeJob;
  const ctx = onCanvas ? softContext(canvas) : null;
  if (ctx) paintEdges(st, job, canvas, ctx, edges, layout, sw, dpr, schedule);
}
