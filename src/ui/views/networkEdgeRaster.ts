/**
 * The canvas edges as plain numbers, and their stroking: what the main thread and the edge
 * worker (networkEdges.worker.ts) share. No DOM: it strokes on any 2-D context, a page canvas or
 * an OffscreenCanvas in the worker.
 */

/** Floats per edge in an EdgeRasterJob's `edges`: group, x₀, y₀, control x, y, x₁, y₁, curved. */
export const EDGE_FLOATS = 8;

/** One stroke style per group (strength level × sign), in stroking order. */
export interface EdgeGroupStyle {
  color: string;
  alpha: number;
  width: number;
}

/** A whole canvas of edges to paint (device pixels; the geometry in CSS pixels, × dpr). */
export interface EdgeRasterJob {
  job: number;
  width: number;
  height: number;
  dpr: number;
  /** EDGE_FLOATS per edge, weakest group first. */
  edges: Float32Array;
  groups: EdgeGroupStyle[];
}

/** The 2-D context calls stroking needs (CanvasRenderingContext2D and its offscreen twin). */
type StrokeContext = Pick<
  CanvasRenderingContext2D,
  | 'beginPath'
  | 'moveTo'
  | 'lineTo'
  | 'quadraticCurveTo'
  | 'stroke'
  | 'strokeStyle'
  | 'globalAlpha'
  | 'lineWidth'
  | 'lineCap'
>;

/** Stroke edges [from, to) of `edges`, one path per edge (a single path of thousands of
 *  crossing segments rasterises about twice as slowly), styles switched per group. */
export function strokeEdges(
  c: StrokeContext,
  edges: Float32Array,
  groups: readonly EdgeGroupStyle[],
  from: number,
  to: number,
): void {
  c.lineCap = 'round';
  let group = -1;
  for (let q = from; q < to; q++) {
    const o = q * EDGE_FLOATS;
    if (edges[o] !== group) {
      group = edges[o];
      const g = groups[group];
      c.strokeStyle = g.color;
      c.globalAlpha = g.alpha;
      c.lineWidth = g.width;
    }
    c.beginPath();
    c.moveTo(edges[o + 1], edges[o + 2]);
    if (edges[o + 7]) c.quadraticCurveTo(edges[o + 3], edges[o + 4], edges[o + 5], edges[o + 6]);
    else c.lineTo(edges[o + 5], edges[o + 6]);
    c.stroke();
  }
  c.globalAlpha = 1;
}
