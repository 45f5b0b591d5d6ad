import { rate, slope } from './activations';
import type { ControllerSettings, DynState, Presentation } from './dynamics';
import { lossGradient } from './losses';
import type { Network } from './model';
import { NORM_FLOOR, RelaxDivergence, type RelaxResult, type SolverSettings, BLOWUP_RMS } from './solver';
import { tf, type Tensor } from './tf';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/**
 * Energy-based control (`energy`): minimise over the states (φ, y)
 *   E = ½‖e_φ‖² + ½‖e_y‖² + (k_i/α) L(y),  e_φ = −φ + Wρ(φ) + Ux + b,  e_y = −y + Dρ(φ) + d
 * with Adam (β = 0.9, 0.999; ε = 1e-8) at learning rate ctrl.lr. Its gradients:
 *   ∂E/∂φ = −e_φ + ρ'(φ) ⊙ (Wᵀ e_φ + Dᵀ e_y),  ∂E/∂y = −e_y + (k_i/α) ∂L/∂y.
 * (k_i/α = 1/α' makes it dynamic inversion's fixed point for k_p = 0; k_i = 1 is DESIGN's E_α.)
 * Then ψ* = −e_φ and u* = −e_y. Stops when both φ and y change per iteration by ≤ tol
 * relative to their norm. Takes ownership of `init` (its φ and y are the starting point).
 */
export function energyRelax(
  net: Network,
  ctrl: ControllerSettings,
  solver: SolverSettings,
  p: Presentation,
  init: DynState,
): RelaxResult {
  if (!(ctrl.alpha > 0)) throw new Error('energy control needs α > 0');
  const weight = ctrl.ki / ctrl.alpha;
  let phi = init.phi;
  let y = init.y;
  init.uI.dispose();
  init.psi.dispose();
  let mPhi = tf.zerosLike(phi);
  let vPhi = tf.zerosLike(phi);
  let mY = tf.zerosLike(y);
  let vY = tf.zerosLike(y);
  let residual = Infinity;
  let steps = 0;
  let converged = false;
  const lr = ctrl.lr;
  for (let t = 1; t <= solver.maxSteps; t++) {
    steps = t;
    const next = tf.tidy(() => {
      const { gPhi, gY } = energyGradient(net, weight, p, phi, y);
      const m1 = tf.add(tf.mul(BETA1, mPhi), tf.mul(1 - BETA1, gPhi));
      const v1 = tf.add(tf.mul(BETA2, vPhi), tf.mul(1 - BETA2, tf.square(gPhi)));
      const m2 = tf.add(tf.mul(BETA1, mY), tf.mul(1 - BETA1, gY));
      const v2 = tf.add(tf.mul(BETA2, vY), tf.mul(1 - BETA2, tf.square(gY)));
      const c1 = 1 - Math.pow(BETA1, t);
      const c2 = 1 - Math.pow(BETA2, t);
      const adamStep = (m: Tensor, v: Tensor) => tf.div(tf.mul(lr / c1, m), tf.add(tf.sqrt(tf.div(v, c2)), EPS));
      const dPhi = adamStep(m1, v1);
      const dY = adamStep(m2, v2);
      const phi2 = tf.sub(phi, dPhi);
      const y2 = tf.sub(y, dY);
      const stats = tf.stack([tf.sum(tf.square(dPhi)), tf.sum(tf.square(phi2)), tf.sum(tf.square(dY)), tf.sum(tf.square(y2))]);
      return { m1, v1, m2, v2, phi2, y2, stats };
    });
    const [dp, np, dy, ny] = next.stats.dataSync();
    next.stats.dispose();
    const bad = ![dp, np, dy, ny].every(Number.isFinite) || Math.sqrt(np / phi.size) > BLOWUP_RMS;
    if (bad) {
      for (const tns of [next.m1, next.v1, next.m2, next.v2, next.phi2, next.y2]) tns.dispose();
      mPhi.dispose();
      vPhi.dispose();
      mY.dispose();
      vY.dispose();
      throw new RelaxDivergence('energy', t, 'non-finite or exploding states', energyState(net, ctrl, p, phi, y), t - 1);
    }
    for (const tns of [mPhi, vPhi, mY, vY, phi, y]) tns.dispose();
    ({ m1: mPhi, v1: vPhi, m2: mY, v2: vY, phi2: phi, y2: y } = next);
    residual = Math.max(Math.sqrt(dp) / (Math.sqrt(np) + NORM_FLOOR), Math.sqrt(dy) / (Math.sqrt(ny) + NORM_FLOOR));
    if (residual <= solver.tol) {
      converged = true;
      break;
    }
  }
  for (const tns of [mPhi, vPhi, mY, vY]) tns.dispose();
  return { state: energyState(net, ctrl, p, phi, y), steps, converged, residual };
}

/** The gradient of E with respect to φ and y (see energyRelax). */
function energyGradient(net: Network, weight: number, p: Presentation, phi: Tensor, y: Tensor) {
  const { W, D, d } = net.params;
  const r = rate(net.activation, phi);
  const s = slope(net.activation, phi, r);
  const ePhi = tf.sub(tf.add(tf.matMul(r, W, false, true), p.drive), phi);
  const eY = tf.sub(tf.add(tf.matMul(r, D, false, true), d), y);
  const gPhi = tf.sub(tf.mul(s, tf.add(tf.matMul(ePhi, W), tf.matMul(eY, D))), ePhi);
  const gY = tf.sub(tf.mul(weight, lossGradient(p.loss, y, p.target)), eY);
  return { gPhi, gY };
}

/**
 * The controlled state that the energy minimiser stands for: ψ* = φ − Wρ(φ) − Ux − b and
 * u* = y − Dρ(φ) − d, stored with u_I = u* ÷ k_i so that u = k_i u_I holds. Takes ownership of φ, y.
 */
function energyState(net: Network, ctrl: ControllerSettings, p: Presentation, phi: Tensor, y: Tensor): DynState {
  return tf.tidy(() => {
    const { W, D, d } = net.params;
    const r = rate(net.activation, phi);
    const psi = tf.sub(phi, tf.add(tf.matMul(r, W, false, true), p.drive));
    const u = tf.sub(y, tf.add(tf.matMul(r, D, false, true), d));
    const uI = ctrl.ki > 0 ? tf.div(u, ctrl.ki) : u;
    return { phi: tf.keep(phi), y: tf.keep(y), uI, psi };
  });
}
