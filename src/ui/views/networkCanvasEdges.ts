/**
 * The network diagram's edges painted on a canvas (many edges), grouped by strength and sign; a
 * long drawing goes in steps through an offscreen canvas so that no frame rasterises all of it.
 */
import { signedColor } from '../theme';
import { softContext, type Size } from './common';
import { edgeCurve, edgeOpacity, edgeWidth, type Edge } from './networkEdgeModel';
import {
  EDGE_FLOATS,
  strokeEdges,
  type EdgeGroupStyle,
  type EdgeRasterJob,
} from './networkEdgeRaster';
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

/** The edges in stroking order (weakest first, grouped by strength level and sign) as numbers. */
function edgeRasterData(
  edges: Edge[],
  layout: NetworkLayout,
  sw: number,
): { data: Float32Array; groups: EdgeGroupStyle[] } {
  const B = CANVAS_BUCKETS;
  const buckets: Edge[][] = Array.from({ length: 2 * (B + 1) }, () => []);
  for (const e of edges) buckets[2 * Math.round(e.s * B) + (e.w > 0 ? 1 : 0)].push(e);
  const groups = buckets.map((_, bi) => {
    const strength = Math.floor(bi / 2) / B;
    return {
      color: signedColor(bi % 2 ? strength : -strength, 1),
      alpha: edgeOpacity(strength),
      width: edgeWidth(strength, sw),
    };
  });
  const data = new Float32Array(edges.length * EDGE_FLOATS);
  let o = 0;
  buckets.forEach((list, bi) => {
    for (const e of list) {
      const k = edgeCurve(e, layout);
      data.set(
        k
          ? [bi, k[0], k[1], k[2], k[3], k[4], k[5], 1]
          : [bi, e.from.x, e.from.y, 0, 0, e.to.x, e.to.y, 0],
        o,
      );
      o += EDGE_FLOATS;
    }
  });
  return { data, groups };
}

/**
 * Paint `edges` on the canvas of `ctx`, weakest first, grouped by (strength level, sign): one
 * colour, width and opacity per group. With `schedule` and more than EDGE_CHUNK edges the
 * drawing leaves the main thread: the edge worker paints it whole and the page copies its bitmap
 * over (where there is no such worker: on an offscreen canvas in steps of about EDGE_STEP_MS,
 * each rasterised at once — a 1-pixel read flushes it — so that no frame's paint gets all of
 * it). The edges shown until then stay. A later drawing (st.edgeJob) cancels it.
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
  const { data, groups } = edgeRasterData(edges, layout, sw);
  const count = edges.length;
  const { width: cw, height: ch } = canvas;
  const big = schedule !== undefined && count > EDGE_CHUNK;
  if (big && paintInWorker(st, job, ctx, { job, width: cw, height: ch, dpr, edges: data, groups }))
    return;
  const off = big ? (st.offscreen ??= canvas.ownerDocument.createElement('canvas')) : null;
  const octx = off ? softContext(off) : null;
  if (!off || !octx || !schedule) {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cw / dpr, ch / dpr);
    strokeEdges(ctx, data, groups, 0, count);
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
    const to = Math.min(count, at + size);
    strokeEdges(octx, data, groups, at, to);
    at = to;
    if (at < count) {
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

/** The edge worker, its jobs in flight, and whether it could be started at all. */
let edgeWorker: Worker | null | undefined;
const inFlight = new Map<
  number,
  { st: NetworkState; job: number; ctx: CanvasRenderingContext2D }
>();
let workerJobs = 0;

function startEdgeWorker(): Worker | null {
  if (typeof Worker !== 'function' || typeof OffscreenCanvas !== 'function') return null;
  try {
    const w = new Worker(new URL('./networkEdges.worker.ts', import.meta.url), { type: 'module' });
    w.onmessage = (e: MessageEvent<{ job: number; bitmap: ImageBitmap }>) => {
      const { job, bitmap } = e.data;
      const target = inFlight.get(job);
      // Jobs the worker skipped for a newer one never answer: drop them with this one.
      for (const id of inFlight.keys()) if (id <= job) inFlight.delete(id);
      if (target && target.job === target.st.edgeJob) {
        const { ctx } = target;
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
        ctx.drawImage(bitmap, 0, 0);
      }
      bitmap.close();
    };
    w.onerror = () => {
      // A worker that cannot run (a strict host, a failed load): paint on the page from now on.
      edgeWorker = null;
      inFlight.clear();
    };
    return w;
  } catch {
    return null;
  }
}

/** Hand the drawing to the edge worker (false where there is none). */
function paintInWorker(
  st: NetworkState,
  job: number,
  ctx: CanvasRenderingContext2D,
  raster: EdgeRasterJob,
): boolean {
  if (edgeWorker === undefined) edgeWorker = startEdgeWorker();
  if (!edgeWorker) return false;
  const id = ++workerJobs;
  inFlight.set(id, { st, job, ctx });
  edgeWorker.postMessage({ ...raster, job: id }, [raster.edges.buffer]);
  return true;
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
