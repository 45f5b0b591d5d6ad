import { rate, slope } from './activations';
import { lossGradient, type LossKind } from './losses';
import { onOutputUnits, outputUnits, type Network } from './model';
import { tf, type Tensor } from './tf';

import type { ControllerKind } from './kinds';

export { CONTROLLER_KINDS, type ControllerKind } from './kinds';

/** Controller and time constants of DESIGN.md §1 (all τ default to 1). */
export interface ControllerSettings {
  kind: ControllerKind;
  alpha: number;
  ki: number;
  kp: number;
  tauPhi: number;
  tauY: number;
  tauU: number;
  tauPsi: number;
  /** Adam learning rate on the states (energy only). */
  lr: number;
  /** Energy only: halve lr when ‖∇E‖ stops improving (absent or false: constant rate). */
  plateau?: boolean;
}

/** The state of one batch: φ, ψ [B, n]; y, u_I [B, k]. */
export interface DynState {
  phi: Tensor;
  y: Tensor;
  uI: Tensor;
  psi: Tensor;
}

/** What a batch presents to the network: the constant drive U x + b [B, n] and the targets [B, k]. */
export interface Presentation {
  x: Tensor;
  drive: Tensor;
  target: Tensor;
  loss: LossKind;
}

export function presentation(
  net: Network,
  x: Tensor,
  target: Tensor,
  loss: LossKind,
): Presentation {
  const drive = tf.tidy(() => tf.add(tf.matMul(x, net.params.U, false, true), net.params.b));
  return { x, drive, target, loss };
}

export function zeroState(batch: number, n: number, k: number): DynState {
  return {
    phi: tf.zeros([batch, n]),
    y: tf.zeros([batch, k]),
    uI: tf.zeros([batch, k]),
    psi: tf.zeros([batch, n]),
  };
}

export function disposeState(s: DynState): void {
  s.phi.dispose();
  s.y.dispose();
  s.uI.dispose();
  s.psi.dispose();
}

/** u = k_i u_I − k_p ∂L/∂y: the output control (k_p = 0 skips the loss gradient). */
export function outputControl(
  ctrl: ControllerSettings,
  uI: Tensor,
  lossGrad: () => Tensor,
): Tensor {
  return tf.tidy(() => {
    const integral = tf.mul(ctrl.ki, uI);
    return ctrl.kp === 0 ? integral : tf.sub(integral, tf.mul(ctrl.kp, lossGrad()));
  });
}

/** ψ of linear feedback, Q u [B, n]. */
export function linearFeedbackControl(net: Network, u: Tensor): Tensor {
  const Q = net.params.Q;
  if (!Q) throw new Error('linear-feedback needs Q');
  return tf.matMul(u, Q, false, true);
}

/**
 * The output drive a controlled network feeds back to its hidden units through dynamic inversion:
 * ρ'(φ) ⊙ (Dᵀ u) for a separate readout, Pᵀ u (u on the output units, no slope) for `units`.
 */
export function outputFeedback(net: Network, slopes: Tensor, u: Tensor, F?: Tensor): Tensor {
  if (net.readout === 'units') return onOutputUnits(net, u);
  return tf.mul(slopes, F ? tf.matMul(u, F, false, true) : tf.matMul(u, net.params.D));
}

/**
 * One explicit Euler step of every state, the single place where the dynamics are written.
 *
 * Free (controlled = false):
 *   φ ← φ + (dt/τ_φ)(−φ + W ρ(φ) + U x + b),  y ← y + (dt/τ_y)(−y + D ρ(φ) + d)
 * Controlled adds u = k_i u_I − k_p ∂L/∂y to y's drive and ψ to φ's drive, with
 *   u_I ← u_I + (dt/τ_u)(−∂L/∂y − α u_I)
 *   DI: ψ ← ψ + (dt/τ_ψ)(−ψ + ρ'(φ) ⊙ (Wᵀ ψ + Dᵀ u));  KP: B, F in place of Wᵀ, Dᵀ;
 *   LF: ψ = Q u (instantaneous; the state keeps the ψ this step used).
 * Readout `units` (y ≡ φ_y, no D, d): y is φ_y after the step, u reaches the network only
 * through ψ, and DI's inversion is ψ ← ψ + (dt/τ_ψ)(−ψ + ρ'(φ) ⊙ (Wᵀψ) + Pᵀu) (KP: B for Wᵀ).
 * All right-hand sides use the state before the step. `energy` has no dynamics of its own; its
 * controlled play uses dynamic inversion's (the same fixed point for k_p = 0).
 *
 * This is the reference. The fused kernels of kernels/ (one dispatch for one or several steps,
 * state packed on the device; what relax runs when the backend has them) compute the same step
 * for the separate readout and are held to it by tests/unit/kernels.test.ts and
 * tests/e2e/kernels.e2e.ts.
 */
export function eulerStep(
  net: Network,
  ctrl: ControllerSettings,
  dt: number,
  p: Presentation,
  s: DynState,
  controlled: boolean,
): DynState {
  return tf.tidy(() => {
    const { W, D, d } = net.params;
    const units = net.readout === 'units';
    const r = rate(net.activation, s.phi);
    const phiDrive = tf.add(tf.matMul(r, W, false, true), p.drive);
    const yOf = (phi: Tensor, u: Tensor | null) =>
      units
        ? outputUnits(net, phi)
        : tf.add(
            s.y,
            tf.mul(
              dt / ctrl.tauY,
              tf.sub(
                u
                  ? tf.add(tf.add(tf.matMul(r, D, false, true), d), u)
                  : tf.add(tf.matMul(r, D, false, true), d),
                s.y,
              ),
            ),
          );
    if (!controlled) {
      const phi = tf.add(s.phi, tf.mul(dt / ctrl.tauPhi, tf.sub(phiDrive, s.phi)));
      return { phi, y: yOf(phi, null), uI: s.uI.clone(), psi: s.psi.clone() };
    }
    const g = lossGradient(p.loss, s.y, p.target);
    const u = outputControl(ctrl, s.uI, () => g);
    let psi = s.psi;
    let nextPsi: Tensor;
    if (ctrl.kind === 'linear-feedback') {
      psi = linearFeedbackControl(net, u);
      nextPsi = psi;
    } else {
      const sl = slope(net.activation, s.phi, r);
      const useKp = ctrl.kind === 'dynamic-inversion-kp';
      const { B, F } = net.params;
      if (useKp && (!B || !F)) throw new Error('dynamic-inversion-kp needs B and F');
      const recurrent = useKp ? tf.matMul(s.psi, B!, false, true) : tf.matMul(s.psi, W);
      const drive = tf.add(
        tf.mul(sl, recurrent),
        outputFeedback(net, sl, u, useKp ? F : undefined),
      );
      nextPsi = tf.add(s.psi, tf.mul(dt / ctrl.tauPsi, tf.sub(drive, s.psi)));
    }
    const phi = tf.add(s.phi, tf.mul(dt / ctrl.tauPhi, tf.sub(tf.add(phiDrive, psi), s.phi)));
    return {
      phi,
      y: yOf(phi, u),
      uI: tf.add(s.uI, tf.mul(dt / ctrl.tauU, tf.neg(tf.add(g, tf.mul(ctrl.alpha, s.uI))))),
      psi: nextPsi,
    };
  });
}
