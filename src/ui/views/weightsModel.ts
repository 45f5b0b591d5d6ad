/**
 * What the weights view shows, computed without the DOM: the panels (a parameter, its last
 * update, the applied step, the feedback weights) with their colour limits, the alignment
 * numbers, and the panels' placement on a grid.
 */
import type { TrainConfig } from '../../engine/config';
import type { SimView } from '../../state/simView';
import type { Matrix, ParamKey } from '../../worker/protocol';
import { cosineAtNoise, VOCABULARY } from './common';

/** Above this many rows or columns a matrix is painted on a canvas, one pixel per weight, and a
 *  click zooms in on it. */
export const CANVAS_THRESHOLD = 64;
/**
 * Above this many entries a matrix's cells are painted on a canvas (at the panel's size, one
 * block per weight) rather than drawn as SVG cells: four 32×32 panels redrawn twice a second
 * while training re-styled and repainted 4,096 rects each time (long tasks of 50–300 ms).
 */
export const SVG_CELLS = 256;
/** Is `m` painted one pixel per weight (above CANVAS_THRESHOLD rows or columns)? */
export const isBig = (m: Matrix) => m.rows > CANVAS_THRESHOLD || m.cols > CANVAS_THRESHOLD;

export const MAIN_PARAMS = ['W', 'U', 'b', 'D', 'd'] as const;
export type MainParam = (typeof MAIN_PARAMS)[number];

export interface Panel {
  key: string;
  /** The parameter shown (for edits and read-outs). */
  name: ParamKey;
  title: string;
  kind: 'param' | 'update' | 'step';
  matrix: Matrix | null;
  editable: boolean;
  /** Symmetric colour limit (see colourLimit; 0 when all zero). */
  limit: number;
  /** 0/1 mask (W and its updates in layered nets). */
  mask: Float32Array | null;
}

/**
 * Symmetric colour limit of a matrix: max |v| for small ones; for more than 256 entries the
 * 99.5th percentile of |v| over kept connections (from a histogram), so that one outlier (a
 * hand-edited weight, say) does not wash out the rest. Values beyond it saturate.
 */
export function colourLimit(m: Matrix | null, mask: Float32Array | null = null): number {
  if (!m) return 0;
  // Matrices of a snapshot do not change: the view redraws far more often than they arrive.
  const known = limits.get(m);
  if (known && known.mask === mask) return known.limit;
  const limit = percentileLimit(m.data, mask);
  limits.set(m, { mask, limit });
  return limit;
}

const limits = new WeakMap<Matrix, { mask: Float32Array | null; limit: number }>();

function percentileLimit(d: Matrix['data'], mask: Float32Array | null): number {
  let max = 0;
  let count = 0;
  for (let q = 0; q < d.length; q++) {
    if (mask && mask[q] === 0) continue;
    const a = Math.abs(d[q]);
    if (a > max) max = a;
    count++;
  }
  if (count <= 256 || !(max > 0) || !Number.isFinite(max)) return Number.isFinite(max) ? max : 0;
  const bins = 2048;
  const hist = new Uint32Array(bins);
  for (let q = 0; q < d.length; q++) {
    if (mask && mask[q] === 0) continue;
    const a = Math.abs(d[q]);
    if (a === a) hist[Math.min(bins - 1, Math.floor((a / max) * bins))]++;
  }
  let below = 0;
  for (let b = 0; b < bins; b++) {
    below += hist[b];
    if (below >= 0.995 * count) return ((b + 1) / bins) * max;
  }
  return max;
}

const connected = new WeakMap<Float32Array, boolean>();
/** Does a 0/1 mask keep any connection? (cached: masks only change on reset) */
export function hasConnection(mask: Float32Array): boolean {
  let v = connected.get(mask);
  if (v === undefined) {
    v = mask.some((e) => e !== 0);
    connected.set(mask, v);
  }
  return v;
}

/** The panels shown for `matrix`: the parameter, its LCP update, the applied step, feedback. */
export function weightPanels(
  sim: SimView,
  matrix: MainParam,
  method: TrainConfig['method'] = 'lcp',
): Panel[] {
  const w = sim.weights;
  if (!w) return [];
  const mask = matrix === 'W' ? w.maskW : null;
  const panel = (
    key: string,
    name: ParamKey,
    title: string,
    kind: Panel['kind'],
    m: Matrix | null | undefined,
    pMask: Float32Array | null,
  ): Panel => ({
    key,
    name,
    title,
    kind,
    matrix: m ?? null,
    editable: kind === 'param' && !!m,
    limit: colourLimit(m ?? null, pMask && m && pMask.length === m.data.length ? pMask : null),
    mask: pMask && m && pMask.length === m.data.length ? pMask : null,
  });
  const update =
    method === 'rbp' ? `−∇${matrix}L (RBP)` : `Δ${matrix} (${method === 'ep' ? 'EP' : 'LCP'})`;
  const panels = [
    panel(matrix, matrix, matrix, 'param', w.params[matrix], mask),
    panel(`Δ${matrix}`, matrix, update, 'update', w.lastUpdate?.[matrix], mask),
    panel(
      `step ${matrix}`,
      matrix,
      `${matrix}: applied step`,
      'step',
      w.appliedStep?.[matrix],
      mask,
    ),
  ];
  if (w.params.Q) panels.push(panel('Q', 'Q', 'Q (ψ = Qu)', 'param', w.params.Q, null));
  if (w.params.B) panels.push(panel('B', 'B', 'B (→ Wᵀ)', 'param', w.params.B, null));
  if (w.params.F) panels.push(panel('F', 'F', 'F (→ Dᵀ)', 'param', w.params.F, null));
  return panels;
}

/**
 * cos(a, b) over all entries; with `transposeB` (a's rows and columns) against bᵀ instead: entry
 * (i, j) of a, at q = i·cols + j, meets b[j][i] = b[j·rows + i].
 */
function cosine(a: Float32Array, b: Float32Array, transposeB?: { rows: number; cols: number }) {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let q = 0; q < a.length; q++) {
    const bv = transposeB
      ? b[(q % transposeB.cols) * transposeB.rows + Math.floor(q / transposeB.cols)]
      : b[q];
    ab += a[q] * bv;
    aa += a[q] * a[q];
    bb += bv * bv;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN;
}

export interface AlignmentItem {
  text: string;
  /** Its definition (tooltip). */
  title: string;
  /** Shown greyed: the number exists but means nothing (an update at float noise). */
  muted: boolean;
}

/**
 * Per weights snapshot: the figures computed from its matrices (each a pass over up to ~500,000
 * entries). The view redraws with every snapshot; the weights change far less often.
 */
const perWeights = new WeakMap<object, Map<string, number>>();
function perSnapshot(weights: object, key: string, compute: () => number): number {
  let figures = perWeights.get(weights);
  if (!figures) perWeights.set(weights, (figures = new Map()));
  let v = figures.get(key);
  if (v === undefined) figures.set(key, (v = compute()));
  return v;
}

/**
 * Alignment numbers: the update's cosine with −∇L (from the engine's metrics; greyed and "not
 * meaningful" when the last update is at float noise), the applied step against the LCP
 * direction, for learned feedback the angles of B with Wᵀ and F with Dᵀ (from the weights shown:
 * the learning curves' ∠(B, Wᵀ) of the last update is the same number), and for linear feedback
 * the last measured cos(Q u*, M u*) (the learning curves' number).
 */
export function alignmentText(sim: SimView, matrix: MainParam): AlignmentItem[] {
  const out: AlignmentItem[] = [];
  const s = sim.latest;
  const item = (text: string, title: string, muted = false) => out.push({ text, title, muted });
  if (s && Number.isFinite(s.metrics.cosine)) {
    const noise = cosineAtNoise(sim);
    item(
      `${VOCABULARY.cosine.symbol} = ${s.metrics.cosine.toFixed(3)}${noise ? ' (not meaningful: ‖Δθ‖ at float noise)' : ''}`,
      VOCABULARY.cosine.definition,
      noise,
    );
  }
  const w = sim.weights;
  const up = w?.lastUpdate?.[matrix];
  const st = w?.appliedStep?.[matrix];
  if (w && up && st && up.data.length === st.data.length) {
    const c = perSnapshot(w, `step ${matrix}`, () => cosine(st.data, up.data));
    if (Number.isFinite(c))
      item(
        `cos(step, Δ${matrix}) = ${c.toFixed(3)}`,
        `Cosine between the step the optimiser applied to ${matrix} and the update direction Δ${matrix}.`,
      );
  }
  const angle = (a: Matrix | undefined, b: Matrix | undefined, label: string) => {
    if (!w || !a || !b || a.rows !== b.cols || a.cols !== b.rows) return;
    const c = perSnapshot(w, label, () => cosine(a.data, b.data, { rows: a.rows, cols: a.cols }));
    if (Number.isFinite(c))
      item(
        `∠(${label}) = ${((Math.acos(Math.max(-1, Math.min(1, c))) * 180) / Math.PI).toFixed(1)}°`,
        `Angle between ${label.split(', ')[0]} and ${label.split(', ')[1]}: Kolen–Pollack learning drives it to 0.`,
      );
  };
  angle(w?.params.B, w?.params.W, 'B, Wᵀ');
  angle(w?.params.F, w?.params.D, 'F, Dᵀ');
  if (w?.params.Q) {
    const last = [...sim.learning].reverse().find((p) => Number.isFinite(p.alignmentQ));
    if (last && last.alignmentQ !== undefined)
      item(
        `cos(Qu*, Mu*) = ${last.alignmentQ.toFixed(3)}`,
        `Linear feedback, update ${last.update}: the cosine of the control Q u* with dynamic inversion's M(φ*) u* for the same u* (1: ψ = Q u is the least control).`,
      );
  }
  return out;
}

export interface PanelBox {
  panel: Panel;
  x: number;
  y: number;
  cw: number;
  ch: number;
  /** Width of the panel's grid cell (title and legend fit in it). */
  boxW: number;
  /** Is there room for the colour legend under the matrix? */
  legend: boolean;
}

/** The grid of a panel: its rows and columns (1 × 1 without a matrix) and its size (px). */
export function panelGrid(box: PanelBox): { rows: number; cols: number; w: number; h: number } {
  const rows = box.panel.matrix?.rows ?? 1;
  const cols = box.panel.matrix?.cols ?? 1;
  return { rows, cols, w: box.cw * cols, h: box.ch * rows };
}

/** Heights (px) of the view's bands at type size fs: a panel's title and colour legend, the
 *  gap between panels, the read-out line and the x/t editors. */
export function weightsMetrics(fs: number) {
  return {
    titleH: Math.round(fs * 1.4),
    legendH: Math.round(fs * 2.2),
    gap: Math.max(10, Math.round(fs * 0.9)),
    readoutH: Math.round(fs * 1.4),
    editorsH: Math.max(26, Math.round(fs * 2.4)),
    minBoxW: Math.max(76, Math.round(fs * 7.5)),
  };
}

/** Cell sizes of a rows×cols matrix in a box: square where possible, thin vectors kept visible. */
function cellSize(rows: number, cols: number, boxW: number, boxH: number): [number, number] {
  const cw = boxW / cols;
  const ch = boxH / rows;
  const s = Math.min(cw, ch);
  return [Math.min(cw, Math.max(s, 14 / cols)), Math.min(ch, Math.max(s, 14 / rows))];
}

/** Place the panels on a grid (columns chosen to maximise the drawn area). */
export function layoutPanels(panels: Panel[], width: number, height: number, fs = 10): PanelBox[] {
  if (!panels.length) return [];
  const metrics = weightsMetrics(fs);
  // Without room for the colour legends, drop them rather than the matrices.
  return (
    placePanels(panels, width, height, metrics, true) ??
    placePanels(panels, width, height, { ...metrics, legendH: 0, minBoxW: 4 * fs }, false) ??
    []
  );
}

function placePanels(
  panels: Panel[],
  width: number,
  height: number,
  metrics: ReturnType<typeof weightsMetrics>,
  legend: boolean,
): PanelBox[] | null {
  const { titleH: TITLE_H, legendH: LEGEND_H, gap: GAP, minBoxW: MIN_BOX_W } = metrics;
  let best: PanelBox[] | null = null;
  let bestScore = -1;
  for (let nc = 1; nc <= panels.length; nc++) {
    const nr = Math.ceil(panels.length / nc);
    const boxW = (width - (nc - 1) * GAP) / nc;
    const boxH = (height - nr * (TITLE_H + LEGEND_H) - (nr - 1) * GAP) / nr;
    // Leave room for each panel's title and legend (unless nothing else fits).
    if (boxW < 8 || boxH < 8 || (nc > 1 && boxW < MIN_BOX_W)) continue;
    let score = 0;
    const boxes = panels.map((panel, q) => {
      const rows = panel.matrix?.rows ?? 1;
      const cols = panel.matrix?.cols ?? 1;
      const [cw, ch] = panel.matrix ? cellSize(rows, cols, boxW, boxH) : [boxW, boxH];
      score += Math.min(cw * cols * ch * rows, boxW * boxH);
      return {
        panel,
        x: (q % nc) * (boxW + GAP),
        y: Math.floor(q / nc) * (boxH + TITLE_H + LEGEND_H + GAP) + TITLE_H,
        cw: panel.matrix ? cw : Math.min(boxW, 80) / cols,
        ch: panel.matrix ? ch : Math.min(boxH, 40) / rows,
        boxW,
        legend,
      };
    });
    if (score > bestScore) {
      bestScore = score;
      best = boxes;
    }
  }
  return best;
}
