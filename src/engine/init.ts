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
 * Q ~ N(0, 1/k); B with unit Frobenius norm per block (masked like Wᵀ); F ~ N(0, 1/(k·n))
 * (the reference's initialisations, DESIGN.md §1).
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
  const W = yield* drawMaskedSliced(init.stream('W'), n, n, config.gain, layered?.W ?? null);
  const U = yield* drawMaskedSliced(init.stream('U'), n, m, 1, layered?.U ?? null);
  // Readout `units`: the outputs are the last k units; D and d stay zero under a zero mask.
  const units = config.readout === 'units';
  const D = units
    ? new Float32Array(k * n)
    : yield* drawMaskedSliced(init.stream('D'), k, n, 1, layered?.D ?? null);
  const params: Params = {
    W: tf.tensor2d(W, [n, n]),
    U: tf.tensor2d(U, [n, m]),
    b: tf.zeros([n]),
    D: tf.tensor2d(D, [k, n]),
    d: tf.zeros([k]),
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
    params.F = tf.tensor2d(
      init.stream('F').fillNormal(new Float32Array(n * k), 1 / Math.sqrt(k * n)),
      [n, k],
    );
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
  };
}
