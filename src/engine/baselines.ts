import { rate, slope } from './activations';
import { DivergenceError } from './errors';
import { lossGradient } from './losses';
import { localOuterProducts, type ParamSet } from './learning';
import { outputUnits, type Network } from './model';
import { outputFeedback, type Presentation } from './dynamics';
import { drain, type Sliced } from './sliced';
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
 *   δ = ρ'(φ⁰) ⊙ (Wᵀ δ) + ρ'(φ⁰) ⊙ (Dᵀ ∂L/∂y)    (readout `units`: + Pᵀ ∂L/∂y, no slope)
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
  return drain(rbpGradientSliced(net, solver, p, phi0, y0));
}

/** rbpGradient in slices (the adjoint's relaxation yields every LINEAR_CHECK_EVERY steps). */
export function* rbpGradientSliced(
  net: Network,
  solver: SolverSettings,
  p: Presentation,
  phi0: Tensor,
  y0: Tensor,
): Sliced<GradientResult> {
  const { r, s, g, source } = tf.tidy(() => {
    const r = rate(net.activation, phi0);
    const s = slope(net.activation, phi0, r);
    const g = lossGradient(p.loss, y0, p.target);
    return { r, s, g, source: outputFeedback(net, s, g) };
  });
  try {
    const {
      value: delta,
      steps,
      converged,
    } = yield* relaxLinearSliced(
      (delta) => tf.add(tf.mul(s, tf.matMul(delta, net.params.W)), source),
      tf.zerosLike(phi0),
      solver,
      'adjoint (RBP)',
    );
    const descent = gradientFromAdjoint(net, p, delta, g, r);
    delta.dispose();
    return { descent, steps, converged };
  } finally {
    tf.dispose([r, s, g, source]);
  }
}

/** Read-backs of a linear relaxation happen every this many steps (each costs a sync). */
const LINEAR_CHECK_EVERY = 8;

/**
 * Euler relaxation of a fixed point x = f(x): x ← x + dt (f(x) − x) from `init` (owned), until
 * the relative change per unit time is ≤ tol (checked every LINEAR_CHECK_EVERY steps) or
 * maxSteps. Throws DivergenceError (named `phase`) on non-finite values.
 */
export function relaxLinear(
  f: (x: Tensor) => Tensor,
  init: Tensor,
  solver: SolverSettings,
  phase: string,
): { value: Tensor; steps: number; converged: boolean } {
  return drain(relaxLinearSliced(f, init, solver, phase));
}

/** relaxLinear in slices: yields at every check. */
export function* relaxLinearSliced(
  f: (x: Tensor) => Tensor,
  init: Tensor,
  solver: SolverSettings,
  phase: string,
): Sliced<{ value: Tensor; steps: number; converged: boolean }> {
  let x = init;
  let owned = true;
  try {
    for (let t = 1; t <= solver.maxSteps; t++) {
      const next = tf.tidy(() => tf.add(x, tf.mul(solver.dt, tf.sub(f(x), x))));
      if (t % LINEAR_CHECK_EVERY !== 0 && t !== solver.maxSteps) {
        x.dispose();
        x = next;
        continue;
      }
      const stats = tf.tidy(() =>
        tf.stack([tf.sum(tf.square(tf.sub(next, x))), tf.sum(tf.square(next))]),
      );
      const [diff2, norm2] = stats.dataSync();
      stats.dispose();
      x.dispose();
      x = next;
      if (!Number.isFinite(diff2) || !Number.isFinite(norm2))
        throw new DivergenceError(phase, t, 'non-finite values');
      if (Math.sqrt(diff2) / (solver.dt * (Math.sqrt(norm2) + NORM_FLOOR)) <= solver.tol) {
        owned = false;
        return { value: x, steps: t, converged: true };
      }
      yield { stage: phase, done: t, total: solver.maxSteps };
    }
    owned = false;
    return { value: x, steps: solver.maxSteps, converged: false };
  } finally {
    if (owned) x.dispose();
  }
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
    const y =
      net.readout === 'units' ? outputUnits(net, phi) : tf.add(tf.matMul(r, D, false, true), d);
    const g = lossGradient(p.loss, y, p.target);
    const source = outputFeedback(net, s, g);
    let delta = tf.zerosLike(phi);
    for (let l = 0; l < layers; l++) delta = tf.add(tf.mul(s, tf.matMul(delta, W)), source);
    return { phi, y, descent: gradientFromAdjoint(net, p, delta, g, r) };
  });
}
