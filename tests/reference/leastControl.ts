/**
 * An independent float64 solve of the least-control problem with output units inside the network
 * (readout `units`, DESIGN.md §1): the smallest control that makes the last k units equal the
 * target at an equilibrium,
 *
 *   min ½‖ψ‖²  subject to  0 = −φ + W ρ(φ) + drive + ψ  and  φ_y = t   (drive = U x + b).
 *
 * The first constraint fixes ψ(φ) = φ − W ρ(φ) − drive, and the second fixes the output units, so
 * this is an unconstrained problem in the other units z: f(z) = ½‖ψ(φ(z))‖². It is solved by
 * Newton's method with the exact Hessian (backtracking on f), not by integrating any dynamics —
 * the engine's controllers reach the same point by a different road.
 */
import { ACTIVATIONS, solveLinear, type ActivationName, type Matrix, type Vector } from './float64';

export interface LeastControl {
  phi: Vector;
  psi: Vector;
  /** ½‖ψ‖² at the solution, and the gradient norm reached (≈ 0 at a minimum). */
  objective: number;
  gradientNorm: number;
}

export function leastNormControl(
  W: Matrix,
  drive: Vector,
  activation: ActivationName,
  target: Vector,
  start?: Vector,
): LeastControl {
  const act = ACTIVATIONS[activation];
  const n = drive.length;
  const k = target.length;
  const free = n - k;
  const phiOf = (z: Vector) => [...z, ...target];
  const psiOf = (phi: Vector) =>
    phi.map((p, i) => p - W[i].reduce((a, w, j) => a + w * act.f(phi[j]), 0) - drive[i]);
  const f = (z: Vector) => 0.5 * psiOf(phiOf(z)).reduce((a, v) => a + v * v, 0);
  let z = start ? start.slice(0, free) : new Array<number>(free).fill(0);
  let gradientNorm = Infinity;
  for (let iter = 0; iter < 200; iter++) {
    const phi = phiOf(z);
    const r = psiOf(phi);
    // J = ∂ψ/∂z: columns of (I − W diag ρ′) for the free units.
    const J: Matrix = r.map((_, i) =>
      Array.from({ length: free }, (_, j) => (i === j ? 1 : 0) - W[i][j] * act.df(phi[j])),
    );
    const g = Array.from({ length: free }, (_, j) => r.reduce((a, ri, i) => a + J[i][j] * ri, 0));
    gradientNorm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
    if (gradientNorm < 1e-13) break;
    // H = JᵀJ − diag(ρ″(φ_j) (Wᵀ r)_j): ψ's second derivatives are −W_ij ρ″(φ_j) on j = l.
    const H: Matrix = Array.from({ length: free }, (_, a) =>
      Array.from({ length: free }, (_, b) => {
        let v = 0;
        for (let i = 0; i < n; i++) v += J[i][a] * J[i][b];
        if (a === b) {
          let wr = 0;
          for (let i = 0; i < n; i++) wr += W[i][a] * r[i];
          v -= act.d2f(phi[a]) * wr;
        }
        return v;
      }),
    );
    let step: Vector;
    try {
      step = solveLinear(H, g);
    } catch {
      step = g;
    }
    // Not a descent direction (an indefinite H far from the minimum): a gradient step instead.
    if (step.reduce((a, v, i) => a + v * g[i], 0) <= 0) step = g;
    const f0 = f(z);
    let t = 1;
    let next = z.map((v, i) => v - t * step[i]);
    while (f(next) > f0 - 1e-4 * t * step.reduce((a, v, i) => a + v * g[i], 0) && t > 1e-12) {
      t /= 2;
      next = z.map((v, i) => v - t * step[i]);
    }
    z = next;
  }
  const phi = phiOf(z);
  const psi = psiOf(phi);
  return { phi, psi, objective: 0.5 * psi.reduce((a, v) => a + v * v, 0), gradientNorm };
}
