import { rate, slope } from './activations';
import { DivergenceError } from './errors';
import { lossGradient } from './losses';
import { localOuterProducts, type ParamSet } from './learning';
import type { Network } from './model';
import type { Presentation } from './dynamics';
import { NORM_FLOOR, type SolverSettings } from './solver';
import { tf, type Tensor } from './tf';

export interface GradientResult {
  /** −∇L, the descent direction, per parameter (batch mean). */
  descent: ParamSet;
  steps: number;
  converged: boolean;
}

/**
 * Recurrent backpropagation at the free equilibrium (φ⁰, y⁰): the adjoint
 *   δ = ρ'(φ⁰) ⊙ (Wᵀ δ) + ρ'(φ⁰) ⊙ (Dᵀ ∂L/∂y)
 * relaxed by Euler steps δ ← δ + dt(−δ + ρ'(φ⁰) ⊙ (Wᵀδ + Dᵀ∂L/∂y)) to the solver's tolerance
 * (stable wherever the free dynamics are), then ∇W = δ ρ(φ⁰)ᵀ, ∇U = δ xᵀ, ∇b = δ,
 * ∇D = ∂L/∂y ρ(φ⁰)ᵀ, ∇d = ∂L/∂y. Returns −∇L.
 */
export function rbpGradient(
  net: Network,
  solver: SolverSettings,
  p: Presentation,
  phi0: Tensor,
  y0: Tensor,
): GradientResult {
  const { r, s, g } = tf.tidy(() => {
    const r = rate(net.activation, phi0);
    return { r, s: slope(net.activation, phi0, r), g: lossGradient(p.loss, y0, p.target) };
  });
  const source = tf.tidy(() => tf.mul(s, tf.matMul(g, net.params.D)));
  let delta = tf.zerosLike(phi0);
  let steps = 0;
  let converged = false;
  for (let t = 1; t <= solver.maxSteps; t++) {
    steps = t;
    const next = tf.tidy(() =>
      tf.add(
        delta,
        tf.mul(solver.dt, tf.sub(tf.add(tf.mul(s, tf.matMul(delta, net.params.W)), source), delta)),
      ),
    );
    const stats = tf.tidy(() =>
      tf.stack([tf.sum(tf.square(tf.sub(next, delta))), tf.sum(tf.square(next))]),
    );
    const [diff2, norm2] = stats.dataSync();
    stats.dispose();
    delta.dispose();
    delta = next;
    if (!Number.isFinite(diff2) || !Number.isFinite(norm2)) {
      tf.dispose([r, s, g, source, delta]);
      throw new DivergenceError('adjoint (RBP)', t, 'non-finite values');
    }
    if (Math.sqrt(diff2) / (solver.dt * (Math.sqrt(norm2) + NORM_FLOOR)) <= solver.tol) {
      converged = true;
      break;
    }
  }
  const descent = gradientFromAdjoint(net, p, delta, g, r);
  tf.dispose([r, s, g, source, delta]);
  return { descent, steps, converged };
}

/** −∇L from the adjoint δ and the output error ∂L/∂y (the local rule with h = −δ, a = −∂L/∂y). */
function gradientFromAdjoint(
  net: Network,
  p: Presentation,
  delta: Tensor,
  g: Tensor,
  r: Tensor,
): ParamSet {
  return tf.tidy(() => localOuterProducts(net, tf.neg(delta), tf.neg(g), r, p.x));
}

/**
 * Backpropagation for a layered net of L blocks: with W strictly block-lower-triangular the
 * forward pass φ ← Wρ(φ) + Ux + b is exact after L sweeps (one per layer) and so is the
 * backward pass δ ← ρ'(φ) ⊙ (Wᵀδ + Dᵀ∂L/∂y). Returns the free state and −∇L.
 */
export function bpGradient(
  net: Network,
  layers: number,
  p: Presentation,
): { phi: Tensor; y: Tensor; descent: ParamSet } {
  return tf.tidy(() => {
    const { W, D, d } = net.params;
    let phi = tf.zerosLike(p.drive);
    for (let l = 0; l < layers; l++)
      phi = tf.add(tf.matMul(rate(net.activation, phi), W, false, true), p.drive);
    const r = rate(net.activation, phi);
    const s = slope(net.activation, phi, r);
    const y = tf.add(tf.matMul(r, D, false, true), d);
    const g = lossGradient(p.loss, y, p.target);
    const source = tf.mul(s, tf.matMul(g, D));
    let delta = tf.zerosLike(phi);
    for (let l = 0; l < layers; l++) delta = tf.add(tf.mul(s, tf.matMul(delta, W)), source);
    return { phi, y, descent: gradientFromAdjoint(net, p, delta, g, r) };
  });
}
