/**
 * The network diagram's edge raster off the main thread: thousands of canvas strokes (15–40 µs
 * each on this project's 2-core machine) were long tasks on the page around every weights
 * snapshot of the MNIST nets. Only the newest job is painted; the page gets an ImageBitmap.
 */
import { strokeEdges, type EdgeRasterJob } from './networkEdgeRaster';

interface WorkerScope {
  onmessage: ((e: MessageEvent<EdgeRasterJob>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

let pending: EdgeRasterJob | null = null;
let canvas: OffscreenCanvas | null = null;

function paint(): void {
  const job = pending;
  pending = null;
  if (!job) return;
  if (!canvas) canvas = new OffscreenCanvas(job.width, job.height);
  if (canvas.width !== job.width) canvas.width = job.width;
  if (canvas.height !== job.height) canvas.height = job.height;
  // A software canvas: a GPU one sends thousands of strokes through the GPU process, which on a
  // software GL (SwiftShader) stalled the page's own frames for seconds.
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, job.width, job.height);
  ctx.setTransform(job.dpr, 0, 0, job.dpr, 0, 0);
  strokeEdges(ctx, job.edges, job.groups, 0, job.edges.length / 8);
  const bitmap = canvas.transferToImageBitmap();
  scope.postMessage({ job: job.job, bitmap }, [bitmap]);
}

scope.onmessage = (e) => {
  // A newer job replaces one not started yet: while training, only the latest weights matter.
  const first = pending === null;
  pending = e.data;
  if (first) setTimeout(paint, 0);
};
