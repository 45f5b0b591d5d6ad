import { rate, slope } from './activations';
import { DivergenceError } from './errors';
import { lossGradient } from './losses';
import { localOuterProducts, type ParamSet } from './learning';
import { outputUnits, type Network } from './model';
import {
  disposeState,
  outputFeedback,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import { drain, yieldClock, type Sliced } from './sliced';
import {
  NORM_FLOOR,
  RelaxDivergence,
  relaxSliced,
  usesFusedPath,
  type SolverSettings,
} from './solver';
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
    } = usesFusedPath(solver, net)
      ? yield* frozenInversionSliced(net, solver, phi0, y0, g, 'adjoint (RBP)')
      : yield* relaxLinearSliced(
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

/**
 * The fixed point of ψ = ρ'(φ) ⊙ (Wᵀψ + Dᵀv) at a frozen φ (readout `units`: + Pᵀv, no slope):
 * RBP's adjoint for v = ∂L/∂y, dynamic inversion's ψ = M(φ) v for v = u. It is the ψ-block of
 * the controlled dynamic-inversion step with φ, y and u_I frozen (dt/τ = 0; k_i = 1, k_p = 0, so
 * u = u_I = v), so the fused step kernel relaxes it: one dispatch for many steps, its stopping
 * rule on the device, instead of ~6 tensor ops a step. Every divergence is a DivergenceError.
 */
export function* frozenInversionSliced(
  net: Network,
  solver: SolverSettings,
  phi: Tensor,
  y: Tensor,
  v: Tensor,
  phase: string,
): Sliced<{ value: Tensor; steps: number; converged: boolean }> {
  const frozen: ControllerSettings = {
    kind: 'dynamic-inversion',
    alpha: 1,
    ki: 1,
    kp: 0,
    tauPhi: Infinity,
    tauY: Infinity,
    tauU: Infinity,
    tauPsi: 1,
    lr: 0,
  };
  // Only φ (the slopes) and v are read: the drive and target feed the frozen blocks alone.
  const p: Presentation = {
    x: phi,
    drive: tf.zerosLike(phi),
    target: tf.zerosLike(v),
    loss: 'mse',
  };
  const init: DynState = {
    phi: phi.clone(),
    y: net.readout === 'units' ? outputUnits(net, phi) : y.clone(),
    uI: v.clone(),
    psi: tf.zerosLike(phi),
  };
  try {
    const r = yield* relaxSliced(net, frozen, solver, p, init, true, phase);
    const { psi } = r.state;
    tf.dispose([r.state.phi, r.state.y, r.state.uI]);
    return { value: psi, steps: r.steps, converged: r.converged };
  } catch (e) {
    if (e instanceof RelaxDivergence) {
      disposeState(e.lastGood);
      throw new DivergenceError(e.phase, e.step, e.reason);
    }
    throw e;
  } finally {
    tf.dispose([p.drive, p.target]);
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

/** relaxLinear in slices (yields every YIELD_MS of steps). */
export function* relaxLinearSliced(
  f: (x: Tensor) => Tensor,
  init: Tensor,
  solver: SolverSettings,
  phase: string,
): Sliced<{ value: Tensor; steps: number; converged: boolean }> {
  let x = init;
  let owned = true;
  const due = yieldClock();
  try {
    for (let t = 1; t <= solver.maxSteps; t++) {
      const next = tf.tidy(() => tf.add(x, tf.mul(solver.dt, tf.sub(f(x), x))));
      if (t % LINEAR_CHECK_EVERY !== 0 && t !== solver.maxSteps) {
        x.dispose();
        x = next;
        if (due()) yield { stage: phase, done: t, total: solver.maxSteps };
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
      if (due()) yield { stage: phase, done: t, total: solver.maxSteps };
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
