/**
 * A general equilibrium system ṡ = f(s, θ) (state s, parameters θ), of which the network of
 * DESIGN.md §1 and the meta-learner's fast weights are instances, with the least-control
 * principle on it. The system gives f only; every vector–Jacobian product comes from tfjs
 * autodiff (gradients.ts registers what it needs). A state is a list of blocks (tensors), each a
 * batch [T, …] of T independent systems sharing θ (e.g. one task per row), so that one call
 * solves a whole meta-batch; θ is a list of blocks [1, …].
 *
 * Least control (loss L(s) at the equilibrium): the controller adds ψ to ṡ and minimises ½‖ψ‖²
 * subject to the controlled equilibrium minimising L; relaxed with α,
 *   E_α(s) = ½‖f(s, θ)‖² + (1/α) L(s),   ψ* = −f(s*, θ) at E_α's minimiser s*,
 * and the local update is Δθ = (∂f/∂θ)ᵀ ψ* (−∇θ of min E_α). At E_α's minimiser
 * J_sᵀ ψ* = (1/α) ∇L(s*), J_s = ∂f/∂s; as α → ∞, α·Δθ → −(∂f/∂θ)ᵀ (−J_s)⁻ᵀ ∇L(s⁰), the exact
 * gradient of L(s⁰(θ)) by implicit differentiation (s⁰ the free equilibrium), which
 * `implicitGradientSliced` computes by conjugate gradients.
 */
import { ADAM, adamMoments } from '../adam';
import { yieldClock, type Sliced } from '../sliced';
import { tf, type Tensor } from '../tf';
import { registerMetaGradients } from './gradients';

/** A state or parameter: a list of tensors, each with the batch of systems on axis 0. */
export type Blocks = Tensor[];

export interface EquilibriumSystem {
  /** ṡ = f(s, θ) for a batch of states s (θ shaped as the system says, e.g. per row). */
  f(s: Blocks, theta: Blocks): Blocks;
}

/** A loss of the state per row [T] and its gradient. */
export type StateLoss = (s: Blocks) => { loss: Tensor; grad: Blocks };

// ---------------------------------------------------------------------------------------------
// Block arithmetic (per-row scalars are [T] tensors)

export const add = (a: Blocks, b: Blocks): Blocks => a.map((x, i) => tf.add(x, b[i]));
export const sub = (a: Blocks, b: Blocks): Blocks => a.map((x, i) => tf.sub(x, b[i]));
export const scale = (a: Blocks, c: number): Blocks => a.map((x) => tf.mul(x, c));
export const neg = (a: Blocks): Blocks => a.map((x) => tf.neg(x));
export const clone = (a: Blocks): Blocks => a.map((x) => tf.clone(x));
export const zerosLike = (a: Blocks): Blocks => a.map((x) => tf.zerosLike(x));
export const dispose = (a: Blocks | null | undefined): void => a?.forEach((x) => x.dispose());
export const keep = (a: Blocks): Blocks => a.map((x) => tf.keep(x));

/** Every axis but the batch axis. */
const rowAxes = (x: Tensor) => x.shape.slice(1).map((_, i) => i + 1);

/** Σ over blocks of the per-row dot product a_t · b_t, [T]. */
export function rowDot(a: Blocks, b: Blocks): Tensor {
  return tf.addN(a.map((x, i) => tf.sum(tf.mul(x, b[i]), rowAxes(x))));
}

/** Each row of every block times the row's scalar c_t (c [T]). */
export function rowScale(a: Blocks, c: Tensor): Blocks {
  return a.map((x) => tf.mul(x, tf.reshape(c, [c.shape[0], ...x.shape.slice(1).map(() => 1)])));
}

/** ‖x_t‖ per row over all blocks, read back. */
export function rowNorms(x: Blocks): Float32Array {
  const norms = tf.tidy(() => tf.sqrt(rowDot(x, x)));
  const out = Float32Array.from(norms.dataSync());
  norms.dispose();
  return out;
}

/**
 * The blocks of θ [1, …] repeated for T rows, and their sum over rows back to [1, …]: written as
 * products with a column of ones, which tfjs's CPU backend computes far faster than tile or a
 * sum over axis 0.
 */
export function tileRows(theta: Blocks, count: number): Blocks {
  const ones = tf.ones([count, 1]);
  return theta.map((x) =>
    tf.reshape(tf.matMul(ones, tf.reshape(x, [1, -1])), [count, ...x.shape.slice(1)]),
  );
}

export function sumRows(x: Blocks): Blocks {
  return x.map((b) => {
    const T = b.shape[0];
    return tf.reshape(tf.matMul(tf.ones([1, T]), tf.reshape(b, [T, -1])), [1, ...b.shape.slice(1)]);
  });
}

/** Finite everywhere (read back). */
export function allFinite(a: Blocks): boolean {
  return tf.tidy(() => tf.all(tf.stack(a.map((x) => tf.all(tf.isFinite(x))))).dataSync()[0]) === 1;
}

// ---------------------------------------------------------------------------------------------
// Vector–Jacobian products by autodiff

/** f(s, θ) and (∂f/∂s)ᵀ v, from one autodiff pass. */
export function fAndVjpState(
  sys: EquilibriumSystem,
  s: Blocks,
  theta: Blocks,
  v: Blocks,
): { f: Blocks; vjp: Blocks } {
  registerMetaGradients();
  let fOut: Blocks = [];
  const vjp = tf.grads((...x: Tensor[]) => {
    const fx = sys.f(x, theta);
    fOut = keep(fx);
    return tf.addN(fx.map((b, i) => tf.sum(tf.mul(b, v[i]))));
  })(s);
  // A kept tensor escapes every tidy: hand the caller's scope a clone (shared data) instead.
  const f = fOut.map((t) => {
    const c = tf.clone(t);
    t.dispose();
    return c;
  });
  return { f, vjp };
}

/** (∂f/∂θ)ᵀ v. */
export function vjpParams(sys: EquilibriumSystem, s: Blocks, theta: Blocks, v: Blocks): Blocks {
  registerMetaGradients();
  return tf.grads((...p: Tensor[]) => tf.addN(sys.f(s, p).map((b, i) => tf.sum(tf.mul(b, v[i])))))(
    theta,
  );
}

// ---------------------------------------------------------------------------------------------
// Solvers

export interface RelaxResult {
  s: Blocks;
  steps: number;
  /** max over rows of ‖f(s)‖ / ‖f(s0)‖ at the end. */
  residual: number;
}

export interface RelaxOptions {
  dt: number;
  /** Heavy-ball momentum β (0: Euler on ṡ = f). */
  momentum: number;
  steps: number;
  tol: number;
}

/** Steps between residual read-backs (a read-back costs about as much as a step). */
const CHECK_EVERY = 10;

function maxOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Number.isNaN(a[i]) ? Infinity : a[i]);
  return m;
}

/** Replace `old` by `next` (disposing old), returning next. */
function swap(old: Blocks, next: Blocks): Blocks {
  dispose(old);
  return next;
}

/**
 * The free equilibrium from s0: v ← βv + dt·f(s, θ), s ← s + v (β = 0 is Euler on ṡ = f),
 * until every row's ‖f‖ is at most tol times its value at s0, or `steps`. Returns new blocks.
 * Throws when the state stops being finite (dt too large for the system's stiffness).
 */
export function* relaxSliced(
  sys: EquilibriumSystem,
  s0: Blocks,
  theta: Blocks,
  opts: RelaxOptions,
): Sliced<RelaxResult> {
  let s = clone(s0);
  let v = zerosLike(s0);
  const due = yieldClock();
  const f0 = tf.tidy(() => sys.f(s0, theta));
  const start = rowNorms(f0).map((x) => Math.max(x, 1e-12));
  dispose(f0);
  const residualOf = (f: Blocks) => maxOf(rowNorms(f).map((x, i) => x / start[i]));
  let steps = 0;
  try {
    while (steps < opts.steps) {
      steps++;
      const check = steps % CHECK_EVERY === 0;
      const [nv, ns, f] = tf.tidy(() => {
        const fs = sys.f(s, theta);
        const vel = add(scale(v, opts.momentum), scale(fs, opts.dt));
        return [vel, add(s, vel), check ? fs : []];
      });
      v = swap(v, nv);
      s = swap(s, ns);
      if (check) {
        const r = residualOf(f);
        dispose(f);
        if (!Number.isFinite(r)) throw new Error(`the free dynamics diverged at step ${steps}`);
        if (r <= opts.tol) break;
      }
      if (due()) yield { stage: 'free adaptation', done: steps, total: opts.steps };
    }
    const f = tf.tidy(() => sys.f(s, theta));
    const residual = residualOf(f);
    dispose(f);
    const out = { s, steps, residual };
    s = [];
    return out;
  } finally {
    dispose(s);
    dispose(v);
  }
}

export interface ControlResult {
  /** The controlled equilibrium s* and the least control ψ* (ψ* = −f(s*, θ) at equilibrium). */
  s: Blocks;
  psi: Blocks;
  steps: number;
  /** max over rows of ‖f(s*) + ψ*‖ / ‖ψ*‖ (0 for energy, where ψ ≡ −f). */
  residual: number;
}

export interface ControlOptions {
  alpha: number;
  steps: number;
  /** Euler step (dynamic inversion) or Adam's rate (energy). */
  lr: number;
  /** Dynamic inversion: heavy-ball momentum β (default 0, plain Euler). */
  momentum?: number;
}

/**
 * Dynamic inversion on the state from (s0, ψ = 0):
 *   ṡ = f(s, θ) + ψ,   ψ̇ = J_sᵀ ψ − (1/α) ∇L(s),
 * integrated like the free dynamics (Euler with heavy-ball momentum β; β = 0 is plain Euler).
 * At its fixed point ψ = −f(s*) and J_sᵀ ψ = (1/α)∇L(s*), E_α's stationarity condition. The ψ
 * dynamics are stable when −J_s is positive definite (a gradient flow, as here).
 */
export function* dynamicInversionSliced(
  sys: EquilibriumSystem,
  loss: StateLoss,
  s0: Blocks,
  theta: Blocks,
  opts: ControlOptions,
): Sliced<ControlResult> {
  let s = clone(s0);
  let psi = zerosLike(s0);
  let vs = zerosLike(s0);
  let vpsi = zerosLike(s0);
  const beta = opts.momentum ?? 0;
  const due = yieldClock();
  try {
    for (let step = 1; step <= opts.steps; step++) {
      const [ns, npsi, nvs, nvpsi] = tf.tidy(() => {
        const { f, vjp } = fAndVjpState(sys, s, theta, psi);
        const { grad } = loss(s);
        const ds = add(scale(vs, beta), scale(add(f, psi), opts.lr));
        const dpsi = add(scale(vpsi, beta), scale(sub(vjp, scale(grad, 1 / opts.alpha)), opts.lr));
        return [add(s, ds), add(psi, dpsi), ds, dpsi];
      });
      s = swap(s, ns);
      psi = swap(psi, npsi);
      vs = swap(vs, nvs);
      vpsi = swap(vpsi, nvpsi);
      if (due()) yield { stage: 'controlled (dynamic inversion)', done: step, total: opts.steps };
    }
    const mismatch = tf.tidy(() => add(sys.f(s, theta), psi));
    const num = rowNorms(mismatch);
    dispose(mismatch);
    const den = rowNorms(psi);
    const residual = maxOf(num.map((x, i) => x / Math.max(den[i], 1e-30)));
    const out = { s, psi, steps: opts.steps, residual };
    s = [];
    psi = [];
    return out;
  } finally {
    dispose(s);
    dispose(psi);
    dispose(vs);
    dispose(vpsi);
  }
}

/**
 * Energy-based control: Adam on s (from s0) over E_α(s) = ½‖f(s, θ)‖² + (1/α) L(s), whose
 * gradient is J_sᵀ f + (1/α) ∇L (J_sᵀ f by autodiff); then ψ* = −f(s*, θ).
 */
export function* energyControlSliced(
  sys: EquilibriumSystem,
  loss: StateLoss,
  s0: Blocks,
  theta: Blocks,
  opts: ControlOptions,
): Sliced<ControlResult> {
  let s = clone(s0);
  let m = zerosLike(s0);
  let v = zerosLike(s0);
  const due = yieldClock();
  try {
    for (let step = 1; step <= opts.steps; step++) {
      const c1 = 1 - ADAM.beta1 ** step;
      const c2 = 1 - ADAM.beta2 ** step;
      const [ns, nm, nv] = tf.tidy(() => {
        const f0 = sys.f(s, theta);
        const { vjp } = fAndVjpState(sys, s, theta, f0);
        const g = add(vjp, scale(loss(s).grad, 1 / opts.alpha));
        const moments = g.map((gi, i) => adamMoments(gi, m[i], v[i]));
        const mm = moments.map((x) => x.m);
        const vv = moments.map((x) => x.v);
        const next = s.map((x, i) =>
          tf.sub(
            x,
            tf.div(tf.mul(mm[i], opts.lr / c1), tf.add(tf.sqrt(tf.mul(vv[i], 1 / c2)), ADAM.eps)),
          ),
        );
        return [next, mm, vv];
      });
      s = swap(s, ns);
      m = swap(m, nm);
      v = swap(v, nv);
      if (due()) yield { stage: 'controlled (energy)', done: step, total: opts.steps };
    }
    const psi = tf.tidy(() => neg(sys.f(s, theta)));
    const out = { s, psi, steps: opts.steps, residual: 0 };
    s = [];
    return out;
  } finally {
    dispose(s);
    dispose(m);
    dispose(v);
  }
}

/**
 * The implicit gradient dL(s⁰(θ))/dθ = (∂f/∂θ)ᵀ z with (−J_s)ᵀ z = ∇L(s⁰), z by `steps`
 * conjugate-gradient iterations per row from z = 0 (−J_s symmetric positive definite, as for a
 * gradient flow: −J_s = H + λI here). Returns the gradient summed over the rows, and z.
 */
export function* implicitGradientSliced(
  sys: EquilibriumSystem,
  s0: Blocks,
  theta: Blocks,
  lossGrad: Blocks,
  steps: number,
): Sliced<{ grad: Blocks; z: Blocks }> {
  const matvec = (p: Blocks) => neg(fAndVjpState(sys, s0, theta, p).vjp);
  let z = zerosLike(lossGrad);
  let r = clone(lossGrad);
  let p = clone(lossGrad);
  let rr = tf.tidy(() => rowDot(r, r));
  const due = yieldClock();
  try {
    for (let k = 0; k < steps; k++) {
      const [nz, nr, np, nrr] = tf.tidy(() => {
        const Ap = matvec(p);
        // A solved row (zero residual) stays as it is.
        const a = tf.div(rr, tf.add(rowDot(p, Ap), 1e-30));
        const nz = add(z, rowScale(p, a));
        const nr = sub(r, rowScale(Ap, a));
        const nrr = rowDot(nr, nr);
        const beta = tf.div(nrr, tf.add(rr, 1e-30));
        return [nz, nr, add(nr, rowScale(p, beta)), [nrr]];
      });
      z = swap(z, nz);
      r = swap(r, nr);
      p = swap(p, np);
      rr.dispose();
      rr = nrr[0];
      if (due()) yield { stage: 'implicit gradient (CG)', done: k + 1, total: steps };
    }
    const grad = tf.tidy(() => vjpParams(sys, s0, theta, z));
    const out = { grad, z };
    z = [];
    return out;
  } finally {
    dispose(z);
    dispose(r);
    dispose(p);
    rr.dispose();
  }
}
