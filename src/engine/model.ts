import type { Activation } from './activations';
import type { Readout } from './kinds';
import type { Rng } from './rng';
import { drain, type Sliced } from './sliced';
import { tf, type Tensor } from './tf';

/**
 * The network of DESIGN.md §1: hidden pre-activations φ ∈ ℝⁿ, outputs y ∈ ℝᵏ, inputs x ∈ ℝᵐ.
 * W (n×n, row = postsynaptic), U (n×m), b (n), D (k×n), d (k); optional controller weights
 * Q (n×k, linear feedback), B (n×n, masked like Wᵀ) and F (n×k, masked like Dᵀ) (learned
 * inversion feedback).
 *
 * Readout `separate` (the reference code's): a population of output units y with
 * τ_y ẏ = −y + Dρ(φ) + d (+ u). Readout `units` (the seed poster's, its Figure 1): the outputs are
 * the network's last k units, y ≡ φ_y = Pφ (P selects them); there is no D or d — they stay
 * zero tensors under an all-zero mask, so that every update and optimiser leaves them at zero.
 */
export interface Params {
  W: Tensor;
  U: Tensor;
  b: Tensor;
  D: Tensor;
  d: Tensor;
  Q?: Tensor;
  B?: Tensor;
  F?: Tensor;
}

export type ParamName = keyof Params;
/** The parameters that the LCP update and −∇L both have. */
export const NETWORK_PARAMS = ['W', 'U', 'b', 'D', 'd'] as const;
export type NetworkParamName = (typeof NETWORK_PARAMS)[number];

/** 0/1 masks (1 = connection kept); null = dense. `B` is Wᵀ's mask, `F` Dᵀ's. */
export interface Masks {
  W: Tensor | null;
  U: Tensor | null;
  D: Tensor | null;
}

export interface Network {
  activation: Activation;
  readout: Readout;
  n: number;
  m: number;
  k: number;
  params: Params;
  masks: Masks;
}

/** Plain-array description of a network (scenario files, snapshots, exports). */
export interface NetworkArrays {
  activation: Activation;
  /** Default `separate`; `units` needs no D or d. */
  readout?: Readout;
  W: number[][];
  U: number[][];
  b: number[];
  D?: number[][];
  d?: number[];
  Q?: number[][];
  B?: number[][];
  F?: number[][];
  mask?: number[][];
  maskU?: number[][];
  maskD?: number[][];
}

/** The mask a parameter's updates pass through (B and F: W's and D's, transposed), or null. */
function maskOf(masks: Masks, name: ParamName): Tensor | null {
  return name === 'W' || name === 'B'
    ? masks.W
    : name === 'U'
      ? masks.U
      : name === 'D' || name === 'F'
        ? masks.D
        : null;
}

/** Does `applyMask` change this parameter's updates? */
export function isMasked(masks: Masks, name: ParamName): boolean {
  return maskOf(masks, name) !== null;
}

/** Masks each parameter the way its connections are masked (W, U, D; B like Wᵀ, F like Dᵀ). */
export function applyMask(masks: Masks, name: ParamName, value: Tensor): Tensor {
  // B and F feed back along W's and D's connections: their masks are the transposes.
  const base = maskOf(masks, name);
  if (!base) return value;
  const transposed = name === 'B' || name === 'F';
  return tf.tidy(() => tf.mul(value, transposed ? tf.transpose(base) : base));
}

/**
 * Build tensors from arrays; masked entries of W, U, D, B and F are zeroed once here. With
 * `readout: "units"` the outputs are the last k units, k = `outputs` (D and d are not given).
 */
export function networkFromArrays(a: NetworkArrays, outputs = a.d?.length ?? 0): Network {
  const readout = a.readout ?? 'separate';
  const n = a.b.length;
  const k = readout === 'units' ? outputs : (a.d?.length ?? 0);
  const units = readout === 'units';
  const masks: Masks = {
    W: a.mask ? tf.tensor2d(a.mask) : null,
    U: a.maskU ? tf.tensor2d(a.maskU) : null,
    D: units ? tf.zeros([k, n]) : a.maskD ? tf.tensor2d(a.maskD) : null,
  };
  const masked = (name: ParamName, t: Tensor): Tensor => {
    const m = applyMask(masks, name, t);
    if (m !== t) t.dispose();
    return m;
  };
  const params: Params = {
    W: masked('W', tf.tensor2d(a.W)),
    U: masked('U', tf.tensor2d(a.U)),
    b: tf.tensor1d(a.b),
    D: units || !a.D ? tf.zeros([k, n]) : masked('D', tf.tensor2d(a.D)),
    d: units || !a.d ? tf.zeros([k]) : tf.tensor1d(a.d),
  };
  if (a.Q) params.Q = tf.tensor2d(a.Q);
  if (a.B) params.B = masked('B', tf.tensor2d(a.B));
  if (a.F) params.F = masked('F', tf.tensor2d(a.F));
  return { activation: a.activation, readout, n, m: a.U[0]?.length ?? 0, k, params, masks };
}

/** y ≡ φ_y: the last k columns of φ [B, n] (readout `units`). */
export function outputUnits(net: Network, phi: Tensor): Tensor {
  return tf.slice(phi, [0, net.n - net.k], [-1, net.k]);
}

/** Pᵀv: an output-sized [B, k] vector placed on the last k units, zeros elsewhere [B, n]. */
export function onOutputUnits(net: Network, v: Tensor): Tensor {
  return tf.pad(v, [
    [0, 0],
    [net.n - net.k, 0],
  ]);
}

export function disposeNetwork(net: Network): void {
  for (const t of Object.values(net.params)) (t as Tensor | undefined)?.dispose();
  for (const t of Object.values(net.masks)) (t as Tensor | null)?.dispose();
}

/** Layered topology: hidden units split into consecutive blocks of the given sizes. */
export interface LayeredMasks {
  W: Float32Array;
  U: Float32Array;
  D: Float32Array;
  /** Start index of each block in the hidden vector. */
  offsets: number[];
}

/**
 * Masks of a deep net as an equilibrium system: W keeps only blocks h_ℓ → h_ℓ₊₁, U feeds h₁
 * only, D reads h_L only.
 */
export function layeredMasks(layers: number[], m: number, k: number): LayeredMasks {
  const n = layers.reduce((s, v) => s + v, 0);
  const offsets: number[] = [];
  let o = 0;
  for (const size of layers) {
    offsets.push(o);
    o += size;
  }
  const W = new Float32Array(n * n);
  for (let l = 0; l + 1 < layers.length; l++) {
    for (let i = 0; i < layers[l + 1]; i++) {
      for (let j = 0; j < layers[l]; j++) W[(offsets[l + 1] + i) * n + offsets[l] + j] = 1;
    }
  }
  const U = new Float32Array(n * m);
  for (let i = 0; i < layers[0]; i++) for (let j = 0; j < m; j++) U[i * m + j] = 1;
  const D = new Float32Array(k * n);
  const last = layers.length - 1;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < layers[last]; j++) D[i * n + offsets[last] + j] = 1;
  return { W, U, D, offsets };
}

/** Draws N(0, gain²/fanIn) per row, fanIn counted over the row's kept connections. */
export function drawMasked(
  rng: Rng,
  rows: number,
  cols: number,
  gain: number,
  mask: Float32Array | null,
): Float32Array {
  return drain(drawMaskedSliced(rng, rows, cols, gain, mask));
}

/** Entries drawn between yields of drawMaskedSliced (~10 ms of work). */
const DRAW_SLICE = 1 << 17;

/** drawMasked in slices of about DRAW_SLICE entries (whole rows). */
export function* drawMaskedSliced(
  rng: Rng,
  rows: number,
  cols: number,
  gain: number,
  mask: Float32Array | null,
  distribution: 'normal' | 'uniform' = 'normal',
): Sliced<Float32Array> {
  const out = new Float32Array(rows * cols);
  const rowsPerSlice = Math.max(1, Math.floor(DRAW_SLICE / Math.max(1, cols)));
  for (let i = 0; i < rows; i++) {
    if (i > 0 && i % rowsPerSlice === 0) yield { stage: 'drawing weights', done: i, total: rows };
    let fanIn = cols;
    if (mask) {
      fanIn = 0;
      for (let j = 0; j < cols; j++) fanIn += mask[i * cols + j];
    }
    // normal: N(0, gain²/fan-in); uniform: U(±gain/√fan-in), PyTorch's nn.Linear default at gain 1.
    const scale = fanIn > 0 ? gain / Math.sqrt(fanIn) : 0;
    for (let j = 0; j < cols; j++) {
      const keep = mask ? mask[i * cols + j] : 1;
      // Draw even where masked so the stream's position does not depend on the topology.
      const v = (distribution === 'normal' ? rng.normal() : 2 * rng.uniform() - 1) * scale;
      out[i * cols + j] = keep ? v : 0;
    }
  }
  return out;
}
