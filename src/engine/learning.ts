import { rate, slope } from './activations';
import {
  linearFeedbackControl,
  outputControl,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import { lossGradient } from './losses';
import { applyMask, type Network, type NetworkParamName } from './model';
import { tf, type Tensor } from './tf';

/** A value per network parameter (an update or a gradient), each shaped like the parameter. */
export type ParamSet = Record<NetworkParamName, Tensor>;

export function disposeParamSet(set: Partial<Record<string, Tensor>>): void {
  for (const t of Object.values(set)) t?.dispose();
}

/** The controls at a controlled equilibrium: u* = k_i u_I − k_p ∂L/∂y and ψ* (LF: Q u*). */
export interface Controls {
  u: Tensor;
  psi: Tensor;
}

export function controlsAt(
  net: Network,
  ctrl: ControllerSettings,
  p: Presentation,
  s: DynState,
): Controls {
  return tf.tidy(() => {
    const u = outputControl(ctrl, s.uI, () => lossGradient(p.loss, s.y, p.target));
    const psi = ctrl.kind === 'linear-feedback' ? linearFeedbackControl(net, u) : s.psi.clone();
    return { u, psi };
  });
}

/**
 * Mean over the batch of the local rule "postsynaptic factor × presynaptic rate":
 *   W: hᵀ r / B,  U: hᵀ x / B,  b: mean h,  D: aᵀ r / B,  d: mean a   (masked)
 * with h the hidden factor [B, n], a the output factor [B, k], r = ρ(φ) [B, n]. With readout
 * `units` there is no D or d: their entries are zero.
 */
export function localOuterProducts(
  net: Network,
  h: Tensor,
  a: Tensor,
  r: Tensor,
  x: Tensor,
): ParamSet {
  return tf.tidy(() => {
    const scale = 1 / h.shape[0];
    const outer = (post: Tensor, pre: Tensor) => tf.mul(scale, tf.matMul(post, pre, true, false));
    const masked = (name: NetworkParamName, t: Tensor) => applyMask(net.masks, name, t);
    const units = net.readout === 'units';
    return {
      W: masked('W', outer(h, r)),
      U: masked('U', outer(h, x)),
      b: tf.mean(h, 0),
      D: units ? tf.zeros([net.k, net.n]) : masked('D', outer(a, r)),
      d: units ? tf.zeros([net.k]) : tf.mean(a, 0),
    };
  });
}

/**
 * The LCP update at the controlled equilibrium (before any optimiser):
 *   ΔW = ψ* ρ(φ*)ᵀ, ΔU = ψ* xᵀ, Δb = ψ*, ΔD = u* ρ(φ*)ᵀ, Δd = u*  (batch mean, masked);
 * for linear feedback the hidden factor is ρ'(φ*) ⊙ ψ*.
 */
export function lcpUpdate(
  net: Network,
  ctrl: ControllerSettings,
  p: Presentation,
  s: DynState,
  c: Controls,
): ParamSet {
  return tf.tidy(() => {
    const r = rate(net.activation, s.phi);
    const h =
      ctrl.kind === 'linear-feedback' ? tf.mul(slope(net.activation, s.phi, r), c.psi) : c.psi;
    return localOuterProducts(net, h, c.u, r, p.x);
  });
}

/**
 * Equilibrium propagation's update from its free equilibrium (φ⁰, y⁰) and its nudged one φ^β:
 *   ΔW = (1/β)(ρ(φ^β) − ρ(φ⁰)) ρ(φ⁰)ᵀ, ΔU = (1/β)(ρ(φ^β) − ρ(φ⁰)) xᵀ, Δb = (1/β)(ρ(φ^β) − ρ(φ⁰)),
 *   ΔD = −∂L/∂y(y⁰) ρ(φ⁰)ᵀ, Δd = −∂L/∂y(y⁰)   (batch mean, masked)
 * — ep.ts's one-sample update, derived there: −∇L up to O(β) when W is symmetric.
 */
export function epUpdate(
  net: Network,
  p: Presentation,
  free: Pick<DynState, 'phi' | 'y'>,
  nudgedPhi: Tensor,
  beta: number,
): ParamSet {
  return tf.tidy(() => {
    const r0 = rate(net.activation, free.phi);
    const h = tf.div(tf.sub(rate(net.activation, nudgedPhi), r0), beta);
    const a = tf.neg(lossGradient(p.loss, free.y, p.target));
    return localOuterProducts(net, h, a, r0, p.x);
  });
}
