import { rate, slope } from './activations';
import { ADAM, adamMoments } from './adam';
import {
  disposeState,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import { InputError } from './errors';
import { lossGradient } from './losses';
import { onOutputUnits, outputUnits, type Network } from './model';
import { drain, yieldClock, type Sliced } from './sliced';
import {
  NORM_FLOOR,
  RelaxDivergence,
  type RelaxResult,
  type SolverSettings,
  BLOWUP_RMS,
} from './solver';
import { tf, type Tensor } from './tf';

/** Iterations without a new minimum of ‖∇E‖ after which `plateau` halves the rate. */
export const PLATEAU_PATIENCE = 100;

/**
 * Energy-based control (`energy`): minimise over the states (φ, y)
 *   E = ½‖e_φ‖² + ½‖e_y‖² + (k_i/α) L(y),  e_φ = −φ + Wρ(φ) + Ux + b,  e_y = −y + Dρ(φ) + d
 * with Adam (β = 0.9, 0.999; ε = 1e-8) at learning rate ctrl.lr. Its gradients:
 *   ∂E/∂φ = −e_φ + ρ'(φ) ⊙ (Wᵀ e_φ + Dᵀ e_y),  ∂E/∂y = −e_y + (k_i/α) ∂L/∂y.
 * (k_i/α = 1/α' makes it dynamic inversion's fixed point for k_p = 0; k_i = 1 is DESIGN's E_α.)
 * Then ψ* = −e_φ and u* = −e_y. Readout `units` (y ≡ φ_y): E = ½‖e_φ‖² + (k_i/α) L(φ_y) over φ
 * alone, ∂E/∂φ = −e_φ + ρ'(φ) ⊙ (Wᵀ e_φ) + (k_i/α) Pᵀ ∂L/∂y, and u* = −(k_i/α) ∂L/∂y (what
 * dynamic inversion's integrator settles to). Stops when every state and its control change per
 * iteration by ≤ tol relative to their norm. Takes ownership of `init` (its φ and y are the
 * starting point).
 *
 * By default the rate is constant, as in the reference code. Adam with a constant rate ends in a
 * limit cycle whose gradient is ~ lr × curvature (its effective step grows as v decays), which
 * caps the accuracy of ψ*. With ctrl.plateau the rate halves whenever ‖∇E‖ has not reached a new
 * minimum for PLATEAU_PATIENCE iterations, so that long runs converge to the minimiser; it also
 * changes runs of the reference length (200–800 iterations), by up to 0.38 in ψ* on MNIST. (‖∇E‖,
 * not E: in float32, E near its minimum is flat to within the rounding of its (k_i/α)L term.)
 */
export function energyRelax(
  net: Network,
  ctrl: ControllerSettings,
  solver: SolverSettings,
  p: Presentation,
  init: DynState,
): RelaxResult {
  return drain(energyRelaxSliced(net, ctrl, solver, p, init));
}

/** energyRelax in slices (yields every YIELD_MS of iterations; `return()` frees its state). */
export function* energyRelaxSliced(
  net: Network,
  ctrl: ControllerSettings,
  solver: SolverSettings,
  p: Presentation,
  init: DynState,
): Sliced<RelaxResult> {
  if (!(ctrl.alpha > 0) || !(ctrl.ki > 0)) {
    disposeState(init);
    throw new InputError([
      { field: 'alpha, ki', message: 'energy control needs α > 0 and k_i > 0' },
    ]);
  }
  const weight = ctrl.ki / ctrl.alpha;
  const units = net.readout === 'units';
  tf.dispose([init.uI, init.psi]);
  if (units) init.y.dispose();
  // Adam's state per block; `e` is the block's control (−ψ for φ, −u for y) at the last iterate.
  const blocks = (units ? [init.phi] : [init.phi, init.y]).map((x) => ({
    x,
    m: tf.zerosLike(x),
    v: tf.zerosLike(x),
    e: tf.zerosLike(x),
  }));
  let residual = Infinity;
  let steps = 0;
  let converged = false;
  let lr = ctrl.lr;
  let bestGrad = Infinity;
  let sinceBest = 0;
  try {
    const due = yieldClock();
    for (let t = 1; t <= solver.maxSteps; t++) {
      if (due()) yield { stage: 'energy', done: t, total: solver.maxSteps };
      steps = t;
      const next = tf.tidy(() => {
        const grads = energyGradient(net, weight, p, blocks[0].x, blocks[1]?.x);
        const bias1 = 1 - Math.pow(ADAM.beta1, t);
        const bias2 = 1 - Math.pow(ADAM.beta2, t);
        const stats: Tensor[] = [tf.addN(grads.map(({ g }) => tf.sum(tf.square(g))))];
        const updated = grads.map(({ g, e }, i) => {
          const b = blocks[i];
          const { m, v } = adamMoments(g, b.m, b.v);
          const step = tf.div(tf.mul(lr / bias1, m), tf.add(tf.sqrt(tf.div(v, bias2)), ADAM.eps));
          const x = tf.sub(b.x, step);
          // Relative change of the state and of its control (ψ or u) this iteration.
          stats.push(
            tf.sum(tf.square(step)),
            tf.sum(tf.square(x)),
            tf.sum(tf.square(tf.sub(e, b.e))),
            tf.sum(tf.square(e)),
          );
          return { x, m, v, e };
        });
        return { updated, stats: tf.stack(stats) };
      });
      const v = next.stats.dataSync();
      next.stats.dispose();
      const gradNorm2 = v[0];
      if (
        !Array.from(v).every(Number.isFinite) ||
        Math.sqrt(v[2] / blocks[0].x.size) > BLOWUP_RMS
      ) {
        for (const u of next.updated) tf.dispose([u.x, u.m, u.v, u.e]);
        const [phi, y] = takeStates(blocks);
        const lastGood = energyState(net, ctrl, p, phi, y);
        throw new RelaxDivergence('energy', t, 'non-finite or exploding states', lastGood, t - 1);
      }
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i];
        tf.dispose([b.x, b.m, b.v, b.e]);
        blocks[i] = next.updated[i];
      }
      residual = 0;
      for (let i = 0; i < 2 * blocks.length; i++) {
        residual = Math.max(
          residual,
          Math.sqrt(v[1 + 2 * i]) / (Math.sqrt(v[2 + 2 * i]) + NORM_FLOOR),
        );
      }
      if (gradNorm2 < bestGrad) {
        bestGrad = gradNorm2;
        sinceBest = 0;
      } else if (ctrl.plateau && ++sinceBest >= PLATEAU_PATIENCE) {
        lr /= 2;
        sinceBest = 0;
      }
      // The first iterate's control change is measured against zero: never stop there.
      if (t > 1 && residual <= solver.tol) {
        converged = true;
        break;
      }
    }
    const [phi, y] = takeStates(blocks);
    const state = energyState(net, ctrl, p, phi, y);
    return { state, steps, converged, residual };
  } finally {
    // Blocks are left only when stopped early or on an unexpected error.
    for (const b of blocks) tf.dispose([b.x, b.m, b.v, b.e]);
  }
}

/** Free Adam's moments and hand over the states (the blocks are left empty). */
function takeStates(blocks: { x: Tensor; m: Tensor; v: Tensor; e: Tensor }[]): Tensor[] {
  for (const b of blocks) tf.dispose([b.m, b.v, b.e]);
  return blocks.splice(0).map((b) => b.x);
}

/**
 * The gradient of E and the control (−ψ = e_φ, −u = e_y) per block: [φ] for readout `units`,
 * [φ, y] for the separate readout (see energyRelax).
 */
function energyGradient(
  net: Network,
  weight: number,
  p: Presentation,
  phi: Tensor,
  y: Tensor | undefined,
): { g: Tensor; e: Tensor }[] {
  const { W, D, d } = net.params;
  const r = rate(net.activation, phi);
  const s = slope(net.activation, phi, r);
  const ePhi = tf.sub(tf.add(tf.matMul(r, W, false, true), p.drive), phi);
  if (!y) {
    const lossGrad = lossGradient(p.loss, outputUnits(net, phi), p.target);
    const gPhi = tf.add(
      tf.sub(tf.mul(s, tf.matMul(ePhi, W)), ePhi),
      tf.mul(weight, onOutputUnits(net, lossGrad)),
    );
    return [{ g: gPhi, e: ePhi }];
  }
  const eY = tf.sub(tf.add(tf.matMul(r, D, false, true), d), y);
  const gPhi = tf.sub(tf.mul(s, tf.add(tf.matMul(ePhi, W), tf.matMul(eY, D))), ePhi);
  const gY = tf.sub(tf.mul(weight, lossGradient(p.loss, y, p.target)), eY);
  return [
    { g: gPhi, e: ePhi },
    { g: gY, e: eY },
  ];
}

/**
 * The controlled state that the energy minimiser stands for: ψ* = φ − Wρ(φ) − Ux − b and
 * u* = y − Dρ(φ) − d (readout `units`: y = φ_y, u* = −(k_i/α) ∂L/∂y), stored with u_I = u* ÷ k_i
 * so that u = k_i u_I holds. Takes ownership of φ and y.
 */
function energyState(
  net: Network,
  ctrl: ControllerSettings,
  p: Presentation,
  phi: Tensor,
  y: Tensor | undefined,
): DynState {
  return tf.tidy(() => {
    const { W, D, d } = net.params;
    const r = rate(net.activation, phi);
    const psi = tf.sub(phi, tf.add(tf.matMul(r, W, false, true), p.drive));
    if (!y) {
      const out = outputUnits(net, phi);
      const u = tf.mul(-ctrl.ki / ctrl.alpha, lossGradient(p.loss, out, p.target));
      return { phi: tf.keep(phi), y: out, uI: tf.div(u, ctrl.ki), psi };
    }
    const u = tf.sub(y, tf.add(tf.matMul(r, D, false, true), d));
    return { phi: tf.keep(phi), y: tf.keep(y), uI: tf.div(u, ctrl.ki), psi };
  });
}
