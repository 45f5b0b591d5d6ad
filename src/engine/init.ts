import type { TrainConfig } from './config';
import type { ControllerSettings } from './dynamics';
import { drawMaskedSliced, layeredMasks, type Masks, type Network, type Params } from './model';
import type { Rng } from './rng';
import { drain, type Sliced } from './sliced';
import { tf } from './tf';

/** Hidden size n of a configuration (sum of the blocks for layered nets). */
export function hiddenSize(config: TrainConfig): number {
  return config.topology === 'layered' ? config.layers.reduce((a, b) => a + b, 0) : config.hidden;
}

/**
 * A seeded network for the given sizes. Each matrix has its own stream under `init`, so adding
 * Q, B or F never shifts W, U or D. W ~ N(0, g²/fan-in); U, D ~ N(0, 1/fan-in); b = d = 0;
 * Q ~ N(0, 1/k) (readout `units`: Q = Pᵀ, see ensureControllerParams); B with unit Frobenius
 * norm per block (masked like Wᵀ); F ~ N(0, 1/(k·r)) masked like Dᵀ, r = the units read out
 * (the reference's initialisations, DESIGN.md §1). `init: torch` draws W, U, D as PyTorch's
 * nn.Linear does (U(±1/√fan-in), g unused) and the biases with torchBiases.
 */
export function initNetwork(config: TrainConfig, m: number, k: number, init: Rng): Network {
  return drain(initNetworkSliced(config, m, k, init));
}

/** initNetwork in slices (large networks take seconds to draw). */
export function* initNetworkSliced(
  config: TrainConfig,
  m: number,
  k: number,
  init: Rng,
): Sliced<Network> {
  const n = hiddenSize(config);
  const layered = config.topology === 'layered' ? layeredMasks(config.layers, m, k) : null;
  const torch = config.init === 'torch';
  const draw = torch ? 'uniform' : 'normal';
  const W = yield* drawMaskedSliced(
    init.stream('W'),
    n,
    n,
    torch ? 1 : config.gain,
    layered?.W ?? null,
    draw,
  );
  const U = yield* drawMaskedSliced(init.stream('U'), n, m, 1, layered?.U ?? null, draw);
  // Readout `units`: the outputs are the last k units; D and d stay zero under a zero mask.
  const units = config.readout === 'units';
  const D = units
    ? new Float32Array(k * n)
    : yield* drawMaskedSliced(init.stream('D'), k, n, 1, layered?.D ?? null, draw);
  const biases = torch
    ? torchBiases(init, config.biases, { n, m, k }, layered, units)
    : { b: new Float32Array(n), d: new Float32Array(k) };
  const params: Params = {
    W: tf.tensor2d(W, [n, n]),
    U: tf.tensor2d(U, [n, m]),
    b: tf.tensor1d(biases.b),
    D: tf.tensor2d(D, [k, n]),
    d: tf.tensor1d(biases.d),
  };
  const masks: Masks = {
    W: layered ? tf.tensor2d(layered.W, [n, n]) : null,
    U: layered ? tf.tensor2d(layered.U, [n, m]) : null,
    D: units ? tf.zeros([k, n]) : layered ? tf.tensor2d(layered.D, [k, n]) : null,
  };
  const net: Network = {
    activation: config.activation,
    readout: config.readout,
    n,
    m,
    k,
    params,
    masks,
  };
  ensureControllerParams(net, config, init);
  return net;
}

/**
 * Biases as PyTorch's nn.Linear draws them (`init: torch`): each layer's bias ~ U(±1/√fan-in)
 * of that layer's weights. A hidden unit's one bias belongs to its W row (fan-in: its kept
 * recurrent or previous-layer inputs), or to its U row when it has none (a layered net's first
 * block, as in the reference's encoder); `biases: 2` adds the input projection's bias, U(±1/√m)
 * (the reference's RNN: Ux + b_U and Wρ(φ) + b_W), and b is their sum. d ~ U(±1/√fan-in of D).
 * They have their own streams (`b`, `b2`, `d`): drawing them shifts no other draw.
 */
function torchBiases(
  init: Rng,
  count: number,
  size: { n: number; m: number; k: number },
  layered: { W: Float32Array; U: Float32Array; D: Float32Array } | null,
  units: boolean,
): { b: Float32Array; d: Float32Array } {
  const { n, m, k } = size;
  const fanIn = (mask: Float32Array | null, row: number, cols: number): number => {
    if (!mask) return cols;
    let f = 0;
    for (let j = 0; j < cols; j++) f += mask[row * cols + j];
    return f;
  };
  const uniform = (rng: Rng, fan: number) =>
    fan > 0 ? (2 * rng.uniform() - 1) / Math.sqrt(fan) : 0;
  const rb = init.stream('b');
  const rb2 = init.stream('b2');
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const fanW = fanIn(layered?.W ?? null, i, n);
    const fanU = fanIn(layered?.U ?? null, i, m);
    b[i] = uniform(rb, fanW > 0 ? fanW : fanU);
    if (count === 2) b[i] += uniform(rb2, fanU);
  }
  const rd = init.stream('d');
  const d = new Float32Array(k);
  if (!units) for (let o = 0; o < k; o++) d[o] = uniform(rd, fanIn(layered?.D ?? null, o, n));
  return { b, d };
}

/**
 * Give the network the feedback weights its controller needs, if it lacks them: Q for
 * linear-feedback, B and F for dynamic-inversion-kp. Each comes from its own stream under `init`
 * (the one initNetwork was given), so switching controllers at any time draws exactly the Q, B, F
 * a network built with that controller would have had. Returns the names it added.
 */
export function ensureControllerParams(
  net: Network,
  config: Pick<TrainConfig, 'controller' | 'topology' | 'layers'>,
  init: Rng,
): ('Q' | 'B' | 'F')[] {
  const { n, k, params } = net;
  const added: ('Q' | 'B' | 'F')[] = [];
  if (config.controller === 'linear-feedback' && !params.Q) {
    const q = init.stream('Q').fillNormal(new Float32Array(n * k), 1 / Math.sqrt(k));
    // Readout `units`: u reaches the outputs only through ψ = Q u, and a random Q pushes them
    // the wrong way half the time (the integrator then runs away). Q = Pᵀ — the control onto
    // the output units themselves, as u acts on y in the separate readout — is stable.
    if (net.readout === 'units') {
      q.fill(0);
      for (let o = 0; o < k; o++) q[(n - k + o) * k + o] = 1;
    }
    params.Q = tf.tensor2d(q, [n, k]);
    added.push('Q');
  }
  if (config.controller === 'dynamic-inversion-kp' && (!params.B || !params.F)) {
    const layered = config.topology === 'layered';
    const maskW = net.masks.W ? net.masks.W.dataSync() : null;
    const b = feedbackB(init.stream('B'), n, maskW, layered ? config.layers : [n]);
    params.B?.dispose();
    params.F?.dispose();
    params.B = tf.tensor2d(b, [n, n]);
    params.F = tf.tensor2d(feedbackF(init.stream('F'), n, k, net.masks.D?.dataSync() ?? null), [
      n,
      k,
    ]);
    added.push('B', 'F');
  }
  return added;
}

/** B (n×n, masked like Wᵀ): Gaussian, each kept block scaled to unit Frobenius norm. */
function feedbackB(
  rng: Rng,
  n: number,
  maskW: ArrayLike<number> | null,
  blocks: number[],
): Float32Array {
  const B = rng.fillNormal(new Float32Array(n * n));
  if (maskW)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) B[i * n + j] *= maskW[j * n + i];
  const offsets = blocks.map((_, l) => blocks.slice(0, l).reduce((a, b) => a + b, 0));
  for (let bi = 0; bi < blocks.length; bi++) {
    for (let bj = 0; bj < blocks.length; bj++) {
      let s = 0;
      for (let i = 0; i < blocks[bi]; i++)
        for (let j = 0; j < blocks[bj]; j++) s += B[(offsets[bi] + i) * n + offsets[bj] + j] ** 2;
      if (s === 0) continue;
      const f = 1 / Math.sqrt(s);
      for (let i = 0; i < blocks[bi]; i++)
        for (let j = 0; j < blocks[bj]; j++) B[(offsets[bi] + i) * n + offsets[bj] + j] *= f;
    }
  }
  return B;
}

/**
 * F (n×k, masked like Dᵀ): N(0, 1/(k·r)) on the kept entries, r the number of units the readout
 * reads (the last layer of a layered net; all n otherwise), as the reference's D_t.
 */
function feedbackF(rng: Rng, n: number, k: number, maskD: ArrayLike<number> | null): Float32Array {
  const F = rng.fillNormal(new Float32Array(n * k));
  let read = n;
  if (maskD) {
    read = 0;
    for (let i = 0; i < n; i++) {
      let kept = false;
      for (let o = 0; o < k; o++) {
        F[i * k + o] *= maskD[o * n + i];
        if (maskD[o * n + i] !== 0) kept = true;
      }
      if (kept) read++;
    }
  }
  const scale = 1 / Math.sqrt(k * Math.max(1, read));
  for (let i = 0; i < F.length; i++) F[i] *= scale;
  return F;
}

/** The controller settings a configuration implies. */
export function controllerSettings(config: TrainConfig): ControllerSettings {
  return {
    kind: config.controller,
    alpha: config.alpha,
    ki: config.ki,
    kp: config.kp,
    tauPhi: config.tauPhi,
    tauY: config.tauY,
    tauU: config.tauU,
    tauPsi: config.tauPsi,
    lr: config.energyLr,
    plateau: config.energyPlateau,
  };
}
