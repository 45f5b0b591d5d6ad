import type { TrainConfig } from './config';
import type { ControllerSettings } from './dynamics';
import { drawMasked, layeredMasks, type Masks, type Network, type Params } from './model';
import type { Rng } from './rng';
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
  const n = hiddenSize(config);
  const layered = config.topology === 'layered' ? layeredMasks(config.layers, m, k) : null;
  const W = drawMasked(init.stream('W'), n, n, config.gain, layered?.W ?? null);
  const U = drawMasked(init.stream('U'), n, m, 1, layered?.U ?? null);
  const D = drawMasked(init.stream('D'), k, n, 1, layered?.D ?? null);
  const params: Params = {
    W: tf.tensor2d(W, [n, n]),
    U: tf.tensor2d(U, [n, m]),
    b: tf.zeros([n]),
    D: tf.tensor2d(D, [k, n]),
    d: tf.zeros([k]),
  };
  if (config.controller === 'linear-feedback') {
    params.Q = tf.tensor2d(init.stream('Q').fillNormal(new Float32Array(n * k), 1 / Math.sqrt(k)), [
      n,
      k,
    ]);
  }
  if (config.controller === 'dynamic-inversion-kp') {
    params.B = tf.tensor2d(
      feedbackB(
        init.stream('B'),
        n,
        layered?.W ?? null,
        config.topology === 'layered' ? config.layers : [n],
      ),
      [n, n],
    );
    params.F = tf.tensor2d(
      init.stream('F').fillNormal(new Float32Array(n * k), 1 / Math.sqrt(k * n)),
      [n, k],
    );
  }
  const masks: Masks = {
    W: layered ? tf.tensor2d(layered.W, [n, n]) : null,
    U: layered ? tf.tensor2d(layered.U, [n, m]) : null,
    D: layered ? tf.tensor2d(layered.D, [k, n]) : null,
  };
  return { activation: config.activation, n, m, k, params, masks };
}

/** B (n×n, masked like Wᵀ): Gaussian, each kept block scaled to unit Frobenius norm. */
function feedbackB(
  rng: Rng,
  n: number,
  maskW: Float32Array | null,
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
