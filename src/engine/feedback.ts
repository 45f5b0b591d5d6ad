import { rate, slope } from './activations';
import type { TrainConfig } from './config';
import {
  outputControl,
  outputFeedback,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import { lossGradient } from './losses';
import { cosine } from './metrics';
import { outputUnits, type Network } from './model';
import { drain, yieldClock, type Sliced } from './sliced';
import type { Rng } from './rng';
import { usesFusedPath, type SolverSettings } from './solver';
import { frozenInversionSliced, relaxLinear } from './baselines';
import { tf, type Tensor } from './tf';

/**
 * Noise-based learning of the linear feedback Q (DESIGN.md §1, item 3). From the controlled
 * equilibrium, with s the time-scale factor and dt′ = dt/s², for noiseSteps steps:
 *   ε ← ε + (s/τ_ε)(−dt′ ε + √dt′ ξ),  ξ ~ N(0, I), ε₀ ~ N(0, I)
 *   φ ← φ + (dt/τ_φ)(−φ + Wρ(φ) + Ux + b + Q u + σ ε)
 *   y ← y + (dt′/τ_y)(−y + Dρ(φ) + d + u),  u_I ← u_I + (dt′/τ_u)(−∂L/∂y − α u_I)
 *   A ← A − σ⁻² (Q u + σ ε)(u − u*)ᵀ   (a plain sum; u* the noise-free equilibrium's control)
 * then Q ← Q + (dt/τ_Q)(mean over the batch of A − λ_Q Q). Noise comes from `noise` only.
 */
export function learnQ(...args: Parameters<typeof learnQSliced>): void {
  drain(learnQSliced(...args));
}

/** learnQ in slices (yields every YIELD_MS of noisy steps; stopping early leaves Q unchanged). */
export function* learnQSliced(
  net: Network,
  ctrl: ControllerSettings,
  config: Pick<
    TrainConfig,
    'dt' | 'noiseSigma' | 'noiseTimeScale' | 'tauEps' | 'noiseSteps' | 'tauQ' | 'lambdaQ'
  >,
  p: Presentation,
  eq: DynState,
  uStar: Tensor,
  noise: Rng,
): Sliced<void> {
  const Q = net.params.Q;
  if (!Q) throw new Error('Q learning needs Q');
  const units = net.readout === 'units';
  const { dt, noiseSigma: sigma, noiseTimeScale: s } = config;
  const dtSlow = dt / (s * s);
  const [batch, n] = eq.phi.shape as [number, number];
  const normal = (std: number) =>
    tf.randomNormal([batch, n], 0, std, 'float32', noise.nextUint32());
  // AR(1) noise: ε′ = a ε + b ξ with a = 1 − (s/τ_ε) dt′ and b = (s/τ_ε) √dt′.
  const epsKeep = 1 - (s / config.tauEps) * dtSlow;
  const epsStd = (s / config.tauEps) * Math.sqrt(dtSlow);
  let phi = eq.phi.clone();
  let y = eq.y.clone();
  let uI = eq.uI.clone();
  let eps = normal(1);
  // Aᵀ [k, n]: accumulated as (u − u*)ᵀ (Q u + σ ε), a product without a transposed operand.
  let At = tf.zeros([net.k, n]);
  // The weights transposed once for the whole phase: a product with a transposed operand is
  // several times slower on tfjs-wasm (see kernels/wasm/matmul.ts), and this phase is 800 steps.
  const recurrent = boundedProduct(net.params.W, net.masks.W);
  const { Dt, Qt } = tf.tidy(() => ({ Dt: tf.transpose(net.params.D), Qt: tf.transpose(Q) }));
  let done = false;
  try {
    const due = yieldClock();
    for (let step = 0; step < config.noiseSteps; step++) {
      if (due()) yield { stage: 'noise (Q learning)', done: step, total: config.noiseSteps };
      const next = tf.tidy(() => {
        const { d } = net.params;
        const r = rate(net.activation, phi);
        const g = lossGradient(p.loss, y, p.target);
        const u = outputControl(ctrl, uI, () => g);
        const hidden = tf.add(tf.matMul(u, Qt), tf.mul(sigma, eps));
        const At2 = tf.sub(
          At,
          tf.mul(1 / (sigma * sigma), tf.matMul(tf.transpose(tf.sub(u, uStar)), hidden)),
        );
        const eps2 = tf.add(tf.mul(epsKeep, eps), normal(epsStd));
        const phi2 = tf.add(
          phi,
          tf.mul(
            dt / ctrl.tauPhi,
            tf.sub(tf.add(tf.add(recurrent.times(r), p.drive), hidden), phi),
          ),
        );
        // Readout `units`: the outputs are units of the (fast) network.
        const y2 = units
          ? outputUnits(net, phi2)
          : tf.add(
              y,
              tf.mul(dtSlow / ctrl.tauY, tf.sub(tf.add(tf.add(tf.matMul(r, Dt), d), u), y)),
            );
        const uI2 = tf.add(
          uI,
          tf.mul(dtSlow / ctrl.tauU, tf.neg(tf.add(g, tf.mul(ctrl.alpha, uI)))),
        );
        return { At2, eps2, phi2, y2, uI2 };
      });
      tf.dispose([At, eps, phi, y, uI]);
      ({ At2: At, eps2: eps, phi2: phi, y2: y, uI2: uI } = next);
    }
    done = true;
  } finally {
    recurrent.dispose();
    tf.dispose([Dt, Qt]);
    if (!done) tf.dispose([At, eps, phi, y, uI]);
  }
  const newQ = tf.tidy(() =>
    tf.add(
      Q,
      tf.mul(dt / config.tauQ, tf.sub(tf.div(tf.transpose(At), batch), tf.mul(config.lambdaQ, Q))),
    ),
  );
  tf.dispose([At, eps, phi, y, uI, Q]);
  net.params.Q = newQ;
}

/**
 * r ↦ r Wᵀ computed over the smallest block of W that holds every connection of its mask (a
 * layered net's W is zero outside its blocks below the diagonal: 256-256 keeps a quarter), with
 * that block transposed once. Exact: W is zero outside its mask.
 */
export function boundedProduct(
  W: Tensor,
  mask: Tensor | null,
): { times(r: Tensor): Tensor; dispose(): void } {
  const [n, cols] = W.shape as [number, number];
  let [r0, r1, c0, c1] = [0, n, 0, cols];
  if (mask) {
    const m = mask.dataSync();
    [r0, r1, c0, c1] = [n, 0, cols, 0];
    for (let i = 0; i < n; i++)
      for (let j = 0; j < cols; j++)
        if (m[i * cols + j] !== 0) {
          r0 = Math.min(r0, i);
          r1 = Math.max(r1, i + 1);
          c0 = Math.min(c0, j);
          c1 = Math.max(c1, j + 1);
        }
  }
  if (r1 <= r0) return { times: (r) => tf.zerosLike(r), dispose: () => {} };
  const full = r0 === 0 && r1 === n && c0 === 0 && c1 === cols;
  const block = tf.tidy(() => tf.transpose(full ? W : tf.slice(W, [r0, c0], [r1 - r0, c1 - c0])));
  return {
    times: (r) =>
      tf.tidy(() => {
        if (full) return tf.matMul(r, block);
        const part = tf.matMul(tf.slice(r, [0, c0], [r.shape[0], c1 - c0]), block);
        return tf.pad(part, [
          [0, 0],
          [r0, n - r1],
        ]);
      }),
    dispose: () => block.dispose(),
  };
}

/**
 * Dynamic inversion's control for a given u at fixed φ: ψ = M(φ) u, the fixed point of
 * ψ = ρ'(φ) ⊙ (Wᵀψ + Dᵀu), relaxed with Euler steps of the solver's dt.
 */
export function inversionControl(
  net: Network,
  phi: Tensor,
  u: Tensor,
  solver: SolverSettings,
): Tensor {
  if (usesFusedPath(solver, net)) {
    const y = tf.zeros([phi.shape[0], net.k]);
    try {
      return drain(frozenInversionSliced(net, solver, phi, y, u, 'inversion')).value;
    } finally {
      y.dispose();
    }
  }
  const { s, source } = tf.tidy(() => {
    const s = slope(net.activation, phi);
    return { s, source: outputFeedback(net, s, u) };
  });
  try {
    return relaxLinear(
      (psi) => tf.add(tf.mul(s, tf.matMul(psi, net.params.W)), source),
      tf.zerosLike(phi),
      solver,
      'inversion',
    ).value;
  } finally {
    tf.dispose([s, source]);
  }
}

/** LF alignment: the cosine of Q u* with M(φ*) u* over the batch (flattened). */
export function linearFeedbackAlignment(
  net: Network,
  phi: Tensor,
  u: Tensor,
  solver: SolverSettings,
): number {
  const Q = net.params.Q;
  if (!Q) return NaN;
  const m = inversionControl(net, phi, u, solver);
  const q = tf.matMul(u, Q, false, true);
  const c = cosine(q.dataSync(), m.dataSync());
  tf.dispose([m, q]);
  return c;
}

/** KP alignment: the angle in degrees between B and Wᵀ (and F and Dᵀ). */
export function feedbackAngles(net: Network): { B: number; F: number } {
  const { B, F, W, D } = net.params;
  if (!B || !F) return { B: NaN, F: NaN };
  const angle = (a: Tensor, b: Tensor) => {
    const bt = tf.transpose(b);
    const c = cosine(a.dataSync(), bt.dataSync());
    bt.dispose();
    return (Math.acos(Math.max(-1, Math.min(1, c))) * 180) / Math.PI;
  };
  return { B: angle(B, W), F: angle(F, D) };
}

/** Multiply the listed parameters by (1 − λ) (Kolen–Pollack's decay before every update). */
export function decayParams(
  net: Network,
  names: readonly ('W' | 'b' | 'D' | 'd' | 'B' | 'F')[],
  lambda: number,
): void {
  if (lambda === 0) return;
  for (const name of names) {
    const t = net.params[name];
    if (!t) continue;
    net.params[name] = tf.mul(1 - lambda, t);
    t.dispose();
  }
}
