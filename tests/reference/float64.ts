/**
 * Independent float64 reference for LCP Lab's equations (DESIGN.md §1–2), used by tests to check
 * the engine. It is written from the design notes alone and uses a different method from the
 * engine: it solves the equilibrium equations with damped Newton iterations (analytic Jacobian,
 * Gaussian elimination with partial pivoting) instead of integrating the dynamics with Euler steps.
 *
 * Notation (all weights below are the *effective*, masked ones: W ⊙ mask, U ⊙ maskU, D ⊙ maskD):
 *
 *   free equilibrium        φ⁰ = W ρ(φ⁰) + U x + b,        y⁰ = D ρ(φ⁰) + d
 *   output control          g = ∂L/∂y(y),  u_I = −g/α,     u = k_i u_I − k_p g = −c g,  c = k_i/α + k_p
 *   controlled equilibrium  φ = W ρ(φ) + U x + b + ψ,      y = D ρ(φ) + d + u
 *   hidden control          DI:  ψ = ρ'(φ) ⊙ (Wᵀ ψ + Dᵀ u)   (energy: the same with c = 1/α)
 *                           KP:  ψ = ρ'(φ) ⊙ (B ψ + F u)     (B masked like Wᵀ)
 *                           LF:  ψ = Q u
 *
 * No tfjs here: plain numbers (IEEE float64).
 */

// ───────────────────────────────────────── types ─────────────────────────────────────────────

export type Vector = number[];
/** Row-major matrix: `A[i][j]`, row i = postsynaptic unit. */
export type Matrix = number[][];

export type ActivationName = 'tanh' | 'sigmoid' | 'linear' | 'softplus';
export type LossName = 'mse' | 'cross-entropy';
export type ControllerKind =
  'dynamic-inversion' | 'dynamic-inversion-kp' | 'linear-feedback' | 'energy';

/** `model` of a scenario file (DESIGN.md §2). */
export interface ScenarioModel {
  activation: ActivationName;
  W: Matrix;
  U: Matrix;
  b: Vector;
  D: Matrix;
  d: Vector;
  Q?: Matrix;
  B?: Matrix;
  F?: Matrix;
  mask?: Matrix;
  maskU?: Matrix;
  maskD?: Matrix;
}

export interface ScenarioController {
  kind: ControllerKind;
  alpha: number;
  ki: number;
  kp: number;
  tauPhi?: number;
  tauY?: number;
  tauU?: number;
  tauPsi?: number;
  lr?: number;
}

export interface ScenarioSolver {
  dt: number;
  tol: number;
  maxSteps: number;
}

/** One sample with explicit parameters: the JSON scenario format of DESIGN.md §2. */
export interface ReferenceScenario {
  model: ScenarioModel;
  loss: LossName;
  x: Vector;
  /** A vector for `mse`, a class index for `cross-entropy`. */
  target: Vector | number;
  controller: ScenarioController;
  solver: ScenarioSolver;
}

/** One array per learnable parameter, shaped like W, U, b, D, d. */
export interface ParameterSet {
  W: Matrix;
  U: Matrix;
  b: Vector;
  D: Matrix;
  d: Vector;
}

export type MatrixParam = 'W' | 'U' | 'D';
export type VectorParam = 'b' | 'd';
export type ParamName = MatrixParam | VectorParam;
export const PARAM_NAMES: readonly ParamName[] = ['W', 'U', 'b', 'D', 'd'];

export interface FreeSolution {
  phi: Vector;
  y: Vector;
  loss: number;
}

export interface ControlledSolution {
  phi: Vector;
  y: Vector;
  psi: Vector;
  u: Vector;
  loss: number;
}

export interface ReferenceSolution {
  free: FreeSolution & { gradient: ParameterSet };
  controlled: ControlledSolution & { update: ParameterSet };
}

// ──────────────────────────────────── linear algebra ─────────────────────────────────────────

export function zeros(n: number): Vector {
  return new Array<number>(n).fill(0);
}

export function zeroMatrix(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => zeros(cols));
}

export function identity(n: number): Matrix {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
}

export function transpose(A: Matrix, cols = A[0]?.length ?? 0): Matrix {
  return Array.from({ length: cols }, (_, j) => A.map((row) => row[j]));
}

/** A v. */
export function matVec(A: Matrix, v: Vector): Vector {
  return A.map((row) => dot(row, v));
}

/** Aᵀ v without forming Aᵀ. */
export function matTVec(A: Matrix, v: Vector, cols = A[0]?.length ?? 0): Vector {
  const out = zeros(cols);
  A.forEach((row, i) => row.forEach((a, j) => (out[j] += a * v[i])));
  return out;
}

export function dot(a: Vector, b: Vector): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** a bᵀ. */
export function outer(a: Vector, b: Vector): Matrix {
  return a.map((ai) => b.map((bj) => ai * bj));
}

export function add(a: Vector, b: Vector): Vector {
  return a.map((v, i) => v + b[i]);
}

export function sub(a: Vector, b: Vector): Vector {
  return a.map((v, i) => v - b[i]);
}

export function scale(a: Vector, s: number): Vector {
  return a.map((v) => v * s);
}

export function hadamard(a: Vector, b: Vector): Vector {
  return a.map((v, i) => v * b[i]);
}

/** A ⊙ mask (A unchanged when there is no mask). */
export function applyMask(A: Matrix, mask: Matrix | undefined): Matrix {
  return mask ? A.map((row, i) => row.map((a, j) => a * mask[i][j])) : A.map((row) => [...row]);
}

export function norm2(a: Vector): number {
  return Math.sqrt(dot(a, a));
}

export function normInf(a: Vector): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

export function flatten(a: Vector | Matrix): Vector {
  return (a as (number | number[])[]).flat();
}

/** Norm-wise relative error ‖a − b‖₂ / max(‖b‖₂, floor) over all entries. */
export function relativeError(a: Vector | Matrix, b: Vector | Matrix, floor = 1e-12): number {
  const fa = flatten(a);
  const fb = flatten(b);
  if (fa.length !== fb.length) throw new Error(`size mismatch: ${fa.length} vs ${fb.length}`);
  return norm2(sub(fa, fb)) / Math.max(norm2(fb), floor);
}

/** Cosine of the angle between a and b (flattened). */
export function cosine(a: Vector | Matrix, b: Vector | Matrix): number {
  const fa = flatten(a);
  const fb = flatten(b);
  return dot(fa, fb) / (norm2(fa) * norm2(fb));
}

/**
 * Solves A z = rhs by Gaussian elimination with partial pivoting (row swaps to the largest
 * |pivot| in the column). Throws when a pivot is negligible relative to A's largest entry.
 */
export function solveLinear(A: Matrix, rhs: Vector): Vector {
  const n = A.length;
  const M = A.map((row, i) => [...row, rhs[i]]);
  const scaleA = Math.max(...A.map((row) => normInf(row)), Number.MIN_VALUE);
  for (let col = 0; col < n; col++) {
    const p = pivotRow(M, col);
    if (!(Math.abs(M[p][col]) > n * Number.EPSILON * scaleA)) {
      throw new Error(`singular matrix (pivot ${M[p][col]} in column ${col})`);
    }
    [M[col], M[p]] = [M[p], M[col]];
    eliminateBelow(M, col);
  }
  return backSubstitute(M);
}

function pivotRow(M: Matrix, col: number): number {
  let best = col;
  for (let r = col + 1; r < M.length; r++) {
    if (Math.abs(M[r][col]) > Math.abs(M[best][col])) best = r;
  }
  return best;
}

function eliminateBelow(M: Matrix, col: number): void {
  const pivot = M[col];
  for (let r = col + 1; r < M.length; r++) {
    const f = M[r][col] / pivot[col];
    if (f === 0) continue;
    const row = M[r];
    for (let c = col; c < row.length; c++) row[c] -= f * pivot[c];
  }
}

/** Back substitution on an upper-triangular augmented matrix [R | r]. */
function backSubstitute(M: Matrix): Vector {
  const n = M.length;
  const z = zeros(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i][n];
    for (let j = i + 1; j < n; j++) s -= M[i][j] * z[j];
    z[i] = s / M[i][i];
  }
  return z;
}

// ─────────────────────────────────── activations, losses ──────────────────────────────────────

/** ρ, ρ' and ρ'' of one activation, elementwise. */
export interface Activation {
  f(v: number): number;
  df(v: number): number;
  d2f(v: number): number;
}

function logistic(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

export const ACTIVATIONS: Record<ActivationName, Activation> = {
  /** tanh' = 1 − tanh², tanh'' = −2 tanh (1 − tanh²). */
  tanh: {
    f: Math.tanh,
    df: (v) => 1 - Math.tanh(v) ** 2,
    d2f: (v) => {
      const t = Math.tanh(v);
      return -2 * t * (1 - t * t);
    },
  },
  /** σ' = σ(1 − σ), σ'' = σ(1 − σ)(1 − 2σ). */
  sigmoid: {
    f: logistic,
    df: (v) => logistic(v) * (1 - logistic(v)),
    d2f: (v) => {
      const s = logistic(v);
      return s * (1 - s) * (1 - 2 * s);
    },
  },
  linear: { f: (v) => v, df: () => 1, d2f: () => 0 },
  /** softplus = log(1 + eᵛ), softplus' = σ, softplus'' = σ(1 − σ). */
  softplus: {
    f: (v) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v))),
    df: logistic,
    d2f: (v) => logistic(v) * (1 - logistic(v)),
  },
};

/** A per-sample loss with its target bound: value L(y), gradient ∂L/∂y and Hessian ∂²L/∂y². */
export interface BoundLoss {
  value(y: Vector): number;
  gradient(y: Vector): Vector;
  hessian(y: Vector): Matrix;
}

/** mse: L = ½‖y − t‖² (summed, no 1/k); ∂L/∂y = y − t; Hessian I. */
export function mseLoss(t: Vector): BoundLoss {
  return {
    value: (y) => 0.5 * dot(sub(y, t), sub(y, t)),
    gradient: (y) => sub(y, t),
    hessian: (y) => identity(y.length),
  };
}

export function softmax(y: Vector): Vector {
  const mx = Math.max(...y);
  const e = y.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

/**
 * cross-entropy: L = logΣⱼ exp(yⱼ) − y_c for class c; ∂L/∂y = softmax(y) − e_c;
 * Hessian diag(p) − p pᵀ with p = softmax(y).
 */
export function crossEntropyLoss(c: number): BoundLoss {
  return {
    value: (y) => {
      const mx = Math.max(...y);
      return mx + Math.log(y.reduce((a, v) => a + Math.exp(v - mx), 0)) - y[c];
    },
    gradient: (y) => softmax(y).map((p, j) => p - (j === c ? 1 : 0)),
    hessian: (y) => {
      const p = softmax(y);
      return p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
    },
  };
}

export function boundLoss(s: ReferenceScenario): BoundLoss {
  if (s.loss === 'mse') {
    if (!Array.isArray(s.target)) throw new Error('mse needs a target vector');
    return mseLoss(s.target);
  }
  const c = s.target;
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= s.model.d.length) {
    throw new Error('cross-entropy needs a class index in [0, k)');
  }
  return crossEntropyLoss(c);
}

// ─────────────────────────────────────── the network ─────────────────────────────────────────

/** A scenario's network with the masks applied once (effective weights). */
export interface Network {
  n: number;
  k: number;
  act: Activation;
  W: Matrix;
  U: Matrix;
  b: Vector;
  D: Matrix;
  d: Vector;
  x: Vector;
  loss: BoundLoss;
}

export function effectiveNetwork(s: ReferenceScenario): Network {
  const m = s.model;
  return {
    n: m.b.length,
    k: m.d.length,
    act: ACTIVATIONS[m.activation],
    W: applyMask(m.W, m.mask),
    U: applyMask(m.U, m.maskU),
    b: m.b,
    D: applyMask(m.D, m.maskD),
    d: m.d,
    x: s.x,
    loss: boundLoss(s),
  };
}

const rho = (net: Network, phi: Vector): Vector => phi.map(net.act.f);
const rhoPrime = (net: Network, phi: Vector): Vector => phi.map(net.act.df);
const rhoSecond = (net: Network, phi: Vector): Vector => phi.map(net.act.d2f);

/** The hidden drive without control: W ρ(φ) + U x + b. */
function hiddenDrive(net: Network, phi: Vector): Vector {
  return add(add(matVec(net.W, rho(net, phi)), matVec(net.U, net.x)), net.b);
}

/** The output drive without control: D ρ(φ) + d. */
function outputDrive(net: Network, phi: Vector): Vector {
  return add(matVec(net.D, rho(net, phi)), net.d);
}

/** W diag(ρ'(φ)), i.e. ∂(W ρ(φ))/∂φ. */
function weightsTimesSlope(net: Network, phi: Vector): Matrix {
  const r1 = rhoPrime(net, phi);
  return net.W.map((row) => row.map((w, j) => w * r1[j]));
}

// ───────────────────────────────────────── Newton ────────────────────────────────────────────

/** F(z) = 0 with its Jacobian ∂F/∂z. */
export interface NonlinearSystem {
  residual(z: Vector): Vector;
  jacobian(z: Vector): Matrix;
}

/** Converged when ‖F(z)‖∞ ≤ NEWTON_TOLERANCE · (1 + ‖z‖∞). */
export const NEWTON_TOLERANCE = 1e-12;
const NEWTON_MAX_ITERATIONS = 200;
const LINE_SEARCH_HALVINGS = 50;

/**
 * Damped Newton: z ← z + t Δ with J Δ = −F(z), t halved from 1 until the Armijo condition
 * ‖F(z + tΔ)‖₂ ≤ (1 − 10⁻⁴ t) ‖F(z)‖₂ holds. Throws if it does not reach NEWTON_TOLERANCE.
 */
export function newtonSolve(system: NonlinearSystem, z0: Vector, label: string): Vector {
  let z = [...z0];
  let F = system.residual(z);
  for (let it = 0; it <= NEWTON_MAX_ITERATIONS; it++) {
    if (!F.every(Number.isFinite)) throw new Error(`${label}: non-finite residual`);
    if (normInf(F) <= NEWTON_TOLERANCE * (1 + normInf(z))) return z;
    const step = solveLinear(system.jacobian(z), scale(F, -1));
    const next = backtrack(system, z, F, step);
    if (!next) {
      throw new Error(`${label}: Newton line search failed at ‖F‖∞ = ${normInf(F)}`);
    }
    [z, F] = next;
  }
  throw new Error(`${label}: Newton did not converge (‖F‖∞ = ${normInf(F)})`);
}

function backtrack(
  system: NonlinearSystem,
  z: Vector,
  F: Vector,
  step: Vector,
): [Vector, Vector] | undefined {
  const f0 = norm2(F);
  let t = 1;
  for (let h = 0; h < LINE_SEARCH_HALVINGS; h++, t /= 2) {
    const trial = add(z, scale(step, t));
    const Ft = system.residual(trial);
    if (Ft.every(Number.isFinite) && norm2(Ft) <= (1 - 1e-4 * t) * f0) return [trial, Ft];
  }
  return undefined;
}

/**
 * Newton on a family F_λ, λ ∈ [0, 1], whose λ = 0 member is solved from z0: first directly at
 * λ = 1, then (if that fails) by continuation through λ = j/N for N = 10, 100.
 */
function newtonWithContinuation(
  family: (lambda: number) => NonlinearSystem,
  z0: Vector,
  label: string,
): Vector {
  let lastError: unknown;
  for (const N of [1, 10, 100]) {
    try {
      let z = z0;
      for (let j = 1; j <= N; j++) z = newtonSolve(family(j / N), z, `${label} (λ = ${j}/${N})`);
      return z;
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

// ───────────────────────────────────── free equilibrium ──────────────────────────────────────

/** F(φ) = −φ + W ρ(φ) + U x + b; ∂F/∂φ = −I + W diag(ρ'(φ)). */
export function freeSystem(net: Network): NonlinearSystem {
  return {
    residual: (phi) => sub(hiddenDrive(net, phi), phi),
    jacobian: (phi) =>
      weightsTimesSlope(net, phi).map((row, i) => row.map((a, j) => a - (i === j ? 1 : 0))),
  };
}

/** Free equilibrium φ⁰ = W ρ(φ⁰) + U x + b (Newton from φ = 0), y⁰ = D ρ(φ⁰) + d, L(y⁰). */
export function solveFree(s: ReferenceScenario): FreeSolution {
  const net = effectiveNetwork(s);
  const phi = newtonSolve(freeSystem(net), zeros(net.n), 'free equilibrium');
  const y = outputDrive(net, phi);
  return { phi, y, loss: net.loss.value(y) };
}

/**
 * Solves (I − diag(ρ'(φ)) A) z = ρ'(φ) ⊙ v, i.e. z = ρ'(φ) ⊙ (A z + v): the fixed point of the
 * adjoint (A = Wᵀ) and of dynamic inversion (A = Wᵀ or B).
 */
function slopeWeightedSolve(r1: Vector, A: Matrix, v: Vector): Vector {
  const lhs = A.map((row, i) => row.map((a, j) => (i === j ? 1 : 0) - r1[i] * a));
  return solveLinear(lhs, hadamard(r1, v));
}

/**
 * RBP: −∇L at the free equilibrium. Adjoint δ = (I − diag(ρ'(φ⁰)) Wᵀ)⁻¹ diag(ρ'(φ⁰)) Dᵀ g with
 * g = ∂L/∂y(y⁰); then −∇W = −δ ρ(φ⁰)ᵀ, −∇U = −δ xᵀ (masked), −∇b = −δ, −∇D = −g ρ(φ⁰)ᵀ (masked),
 * −∇d = −g.
 */
export function rbpGradient(s: ReferenceScenario, free: FreeSolution = solveFree(s)): ParameterSet {
  const net = effectiveNetwork(s);
  const g = net.loss.gradient(free.y);
  const r = rho(net, free.phi);
  const delta = slopeWeightedSolve(
    rhoPrime(net, free.phi),
    transpose(net.W, net.n),
    matTVec(net.D, g, net.n),
  );
  return maskedOuterProducts(s, scale(delta, -1), scale(g, -1), r);
}

/**
 * {W: h rᵀ, U: h xᵀ, b: h, D: o rᵀ, d: o}, with the scenario's masks on W, U and D: the shape of
 * both the RBP gradient and the LCP update (postsynaptic factor × presynaptic rate).
 */
function maskedOuterProducts(s: ReferenceScenario, h: Vector, o: Vector, r: Vector): ParameterSet {
  const m = s.model;
  return {
    W: applyMask(outer(h, r), m.mask),
    U: applyMask(outer(h, s.x), m.maskU),
    b: [...h],
    D: applyMask(outer(o, r), m.maskD),
    d: [...o],
  };
}

// ────────────────────────────────── controlled equilibrium ───────────────────────────────────

/**
 * c in u* = −c ∂L/∂y(y*). From τ_u u̇_I = −g − α u_I = 0: u_I = −g/α and u = k_i u_I − k_p g,
 * so c = k_i/α + k_p. For `energy`, the minimiser of E_α has u = −g/α (c = 1/α; k_i, k_p unused).
 */
export function controlGain(c: ScenarioController): number {
  if (!(c.alpha > 0)) throw new Error('the reference needs alpha > 0 (u_I = −g/α at equilibrium)');
  return c.kind === 'energy' ? 1 / c.alpha : c.ki / c.alpha + c.kp;
}

/** How ψ is computed: the inversion fixed point ψ = ρ'(φ) ⊙ (A ψ + C u), or ψ = Q u. */
type HiddenFeedback = { type: 'inversion'; A: Matrix; C: Matrix } | { type: 'linear'; Q: Matrix };

function hiddenFeedback(s: ReferenceScenario, net: Network): HiddenFeedback {
  const m = s.model;
  switch (s.controller.kind) {
    case 'dynamic-inversion':
    case 'energy':
      return { type: 'inversion', A: transpose(net.W, net.n), C: transpose(net.D, net.n) };
    case 'dynamic-inversion-kp': {
      if (!m.B || !m.F) throw new Error('dynamic-inversion-kp needs B and F');
      const maskT = m.mask ? transpose(m.mask, net.n) : undefined;
      return { type: 'inversion', A: applyMask(m.B, maskT), C: m.F };
    }
    case 'linear-feedback':
      if (!m.Q) throw new Error('linear-feedback needs Q');
      return { type: 'linear', Q: m.Q };
  }
}

/** Splits z = [φ (n), y (k), ψ (n)]. */
function splitState(z: Vector, n: number, k: number): { phi: Vector; y: Vector; psi: Vector } {
  return { phi: z.slice(0, n), y: z.slice(n, n + k), psi: z.slice(n + k, 2 * n + k) };
}

/**
 * The controlled equilibrium as F(z) = 0 in z = [φ, y, ψ], with u = −λ c g(y) (λ = 1 is the
 * scenario; λ < 1 is used only for continuation):
 *
 *   F_φ = −φ + W ρ(φ) + U x + b + ψ
 *   F_y = −y + D ρ(φ) + d + u
 *   F_ψ = −ψ + ρ'(φ) ⊙ (A ψ + C u)      (DI, KP, energy)     or     −ψ + Q u      (LF)
 *
 * Jacobian, with S = diag(ρ'(φ)), ∂u/∂y = −λ c H(y) (H the loss Hessian):
 *
 *   ∂F_φ = [ −I + W S,                     0,              I        ]
 *   ∂F_y = [ D S,                          −I + ∂u/∂y,     0        ]
 *   ∂F_ψ = [ diag(ρ''(φ) ⊙ (A ψ + C u)),   S C ∂u/∂y,      −I + S A ]   or   [ 0, Q ∂u/∂y, −I ]
 */
export function controlledSystem(s: ReferenceScenario, lambda = 1): NonlinearSystem {
  const net = effectiveNetwork(s);
  const { n, k } = net;
  const gain = lambda * controlGain(s.controller);
  const fb = hiddenFeedback(s, net);
  const control = (y: Vector): Vector => scale(net.loss.gradient(y), -gain);
  return {
    residual(z) {
      const { phi, y, psi } = splitState(z, n, k);
      const u = control(y);
      const Fphi = add(sub(hiddenDrive(net, phi), phi), psi);
      const Fy = add(sub(outputDrive(net, phi), y), u);
      const target =
        fb.type === 'linear'
          ? matVec(fb.Q, u)
          : hadamard(rhoPrime(net, phi), add(matVec(fb.A, psi), matVec(fb.C, u)));
      return [...Fphi, ...Fy, ...sub(target, psi)];
    },
    jacobian(z) {
      const { phi, y, psi } = splitState(z, n, k);
      const u = control(y);
      const dudy = net.loss.hessian(y).map((row) => scale(row, -gain));
      const J = zeroMatrix(2 * n + k, 2 * n + k);
      const r1 = rhoPrime(net, phi);
      const slopeRows = (A: Matrix): Matrix => A.map((row, i) => scale(row, r1[i]));
      const slopeCols = (A: Matrix): Matrix => A.map((row) => hadamard(row, r1));
      place(J, 0, 0, weightsTimesSlope(net, phi));
      place(J, 0, n + k, identity(n));
      place(J, n, 0, slopeCols(net.D));
      place(J, n, n, dudy);
      if (fb.type === 'linear') {
        place(J, n + k, n, matMul(fb.Q, dudy));
      } else {
        const inner = add(matVec(fb.A, psi), matVec(fb.C, u));
        place(J, n + k, 0, diagonal(hadamard(rhoSecond(net, phi), inner)));
        place(J, n + k, n, slopeRows(matMul(fb.C, dudy)));
        place(J, n + k, n + k, slopeRows(fb.A));
      }
      for (let i = 0; i < J.length; i++) J[i][i] -= 1;
      return J;
    },
  };
}

/** diag(v). */
function diagonal(v: Vector): Matrix {
  return v.map((vi, i) => v.map((_, j) => (i === j ? vi : 0)));
}

/** J[r0 + i][c0 + j] += B[i][j]. */
function place(J: Matrix, r0: number, c0: number, B: Matrix): void {
  B.forEach((row, i) => row.forEach((v, j) => (J[r0 + i][c0 + j] += v)));
}

function matMul(A: Matrix, B: Matrix): Matrix {
  const cols = B[0]?.length ?? 0;
  return A.map((row) => {
    const out = zeros(cols);
    row.forEach((a, l) => B[l].forEach((bv, j) => (out[j] += a * bv)));
    return out;
  });
}

/**
 * Controlled equilibrium (φ*, y*, ψ*, u*) by Newton from the free equilibrium (φ⁰, y⁰, ψ = 0),
 * with continuation in the control gain if the direct solve fails.
 */
export function solveControlled(
  s: ReferenceScenario,
  free: FreeSolution = solveFree(s),
): ControlledSolution {
  const net = effectiveNetwork(s);
  const z0 = [...free.phi, ...free.y, ...zeros(net.n)];
  const z = newtonWithContinuation((l) => controlledSystem(s, l), z0, 'controlled equilibrium');
  const { phi, y, psi } = splitState(z, net.n, net.k);
  const u = scale(net.loss.gradient(y), -controlGain(s.controller));
  return { phi, y, psi, u, loss: net.loss.value(y) };
}

/**
 * The LCP update at the controlled equilibrium (before the learning rate), masked:
 * ΔW = h ρ(φ*)ᵀ, ΔU = h xᵀ, Δb = h, ΔD = u* ρ(φ*)ᵀ, Δd = u*, with h = ψ* (DI, KP, energy)
 * or h = ρ'(φ*) ⊙ ψ* (linear-feedback).
 */
export function lcpUpdate(s: ReferenceScenario, eq: ControlledSolution): ParameterSet {
  const net = effectiveNetwork(s);
  const h =
    s.controller.kind === 'linear-feedback' ? hadamard(rhoPrime(net, eq.phi), eq.psi) : eq.psi;
  return maskedOuterProducts(s, h, eq.u, rho(net, eq.phi));
}

/** Everything `solve FILE` reports (DESIGN.md §2), without the solver's step counts. */
export function referenceSolve(s: ReferenceScenario): ReferenceSolution {
  const free = solveFree(s);
  const controlled = solveControlled(s, free);
  return {
    free: { ...free, gradient: rbpGradient(s, free) },
    controlled: { ...controlled, update: lcpUpdate(s, controlled) },
  };
}

/**
 * ψ-operator of dynamic inversion at φ: M(φ) = (I − diag(ρ'(φ)) Wᵀ)⁻¹ diag(ρ'(φ)) Dᵀ (n×k),
 * built column by column (masked W and D).
 */
export function inversionMatrix(s: ReferenceScenario, phi: Vector): Matrix {
  const net = effectiveNetwork(s);
  const r1 = rhoPrime(net, phi);
  const Wt = transpose(net.W, net.n);
  const Dt = transpose(net.D, net.n);
  const columns = transpose(Dt, net.k).map((col) => slopeWeightedSolve(r1, Wt, col));
  return transpose(columns, net.n);
}

// ────────────────────────────── objectives and finite differences ────────────────────────────

/** L(y⁰(θ)): the loss at the free equilibrium. */
export function freeLoss(s: ReferenceScenario): number {
  return solveFree(s).loss;
}

/**
 * Least-control objective H_α(θ) = min over (φ, y) of
 *   E_α = ½‖−φ + Wρ(φ) + Ux + b‖² + ½‖−y + Dρ(φ) + d‖² + (1/α) L(y)
 * evaluated at DI's fixed point with k_i = 1, k_p = 0 (the stationary point of E_α), where it
 * equals ½‖ψ*‖² + ½‖u*‖² + (1/α) L(y*). Evaluating E_α itself (not ψ*, u*) keeps the error
 * second order in the solver's residual. Its negative gradient in θ is DI's LCP update.
 */
export function leastControlObjective(s: ReferenceScenario): number {
  const c = s.controller;
  if (c.kind !== 'dynamic-inversion' && c.kind !== 'energy') {
    throw new Error('leastControlObjective is defined for dynamic-inversion (or energy)');
  }
  if (c.kind === 'dynamic-inversion' && (c.ki !== 1 || c.kp !== 0)) {
    throw new Error('leastControlObjective needs k_i = 1 and k_p = 0');
  }
  const net = effectiveNetwork(s);
  const eq = solveControlled(s);
  const rPhi = sub(hiddenDrive(net, eq.phi), eq.phi);
  const rY = sub(outputDrive(net, eq.phi), eq.y);
  return 0.5 * dot(rPhi, rPhi) + 0.5 * dot(rY, rY) + net.loss.value(eq.y) / c.alpha;
}

/** A copy of s with model[param][i][j] (or model[param][i]) increased by delta. */
function perturbed(s: ReferenceScenario, param: ParamName, i: number, j: number, delta: number) {
  const copy = structuredClone(s);
  if (param === 'b' || param === 'd') copy.model[param][i] += delta;
  else copy.model[param][i][j] += delta;
  return copy;
}

/** Default central-difference step for parameters of order 0.1–1. */
export const FD_STEP = 1e-5;

/**
 * −∂objective/∂θ for every entry of model[param], by central differences
 * −(f(θ + h eᵢ) − f(θ − h eᵢ)) / 2h, each evaluation re-solving its equilibria from scratch.
 */
export function negativeFiniteDifference(
  s: ReferenceScenario,
  param: ParamName,
  objective: (s: ReferenceScenario) => number,
  h = FD_STEP,
): Matrix | Vector {
  const entry = (i: number, j: number): number =>
    -(objective(perturbed(s, param, i, j, h)) - objective(perturbed(s, param, i, j, -h))) / (2 * h);
  if (param === 'b' || param === 'd') return s.model[param].map((_, i) => entry(i, 0));
  return s.model[param].map((row, i) => row.map((_, j) => entry(i, j)));
}

/** −∂L/∂θ at the free equilibrium by central differences of L(y⁰(θ)) (checks the RBP reference). */
export function finiteDifferenceGradient(s: ReferenceScenario, param: MatrixParam): Matrix;
export function finiteDifferenceGradient(s: ReferenceScenario, param: VectorParam): Vector;
export function finiteDifferenceGradient(s: ReferenceScenario, param: ParamName): Matrix | Vector;
export function finiteDifferenceGradient(s: ReferenceScenario, param: ParamName): Matrix | Vector {
  return negativeFiniteDifference(s, param, freeLoss);
}

// ─────────────────────────── Euler (for the scenario generator only) ─────────────────────────

export interface EulerResult {
  phi: Vector;
  y: Vector;
  psi: Vector;
  u: Vector;
  steps: number;
  converged: boolean;
}

/**
 * Explicit Euler on the dynamics of DESIGN.md §1 from the zero state, in float64. Not part of the
 * reference answer (which is Newton's): the scenario generator uses it to keep only scenarios whose
 * dynamics reach Newton's equilibrium from zero. Stops when ‖Δz‖∞/dt ≤ tol · max(1, ‖z‖∞).
 * Supports dynamic-inversion, dynamic-inversion-kp and linear-feedback.
 */
export function simulateEuler(
  s: ReferenceScenario,
  controlled: boolean,
  maxSteps: number,
  tol = 1e-10,
): EulerResult {
  const net = effectiveNetwork(s);
  const c = s.controller;
  const dt = s.solver.dt;
  const fb = controlled ? hiddenFeedback(s, net) : undefined;
  if (c.kind === 'energy' && controlled) throw new Error('simulateEuler: energy is not a dynamics');
  let phi = zeros(net.n);
  let y = zeros(net.k);
  let uI = zeros(net.k);
  let psi = zeros(net.n);
  /** The reported state: u from u_I and y, and ψ = Q u for linear feedback. */
  const observe = (): Pick<EulerResult, 'phi' | 'y' | 'psi' | 'u'> => {
    const u = controlled ? sub(scale(uI, c.ki), scale(net.loss.gradient(y), c.kp)) : zeros(net.k);
    return { phi, y, psi: fb?.type === 'linear' ? matVec(fb.Q, u) : psi, u };
  };
  for (let step = 1; step <= maxSteps; step++) {
    const g = net.loss.gradient(y);
    const u = controlled ? sub(scale(uI, c.ki), scale(g, c.kp)) : zeros(net.k);
    const psiNow = fb?.type === 'linear' ? matVec(fb.Q, u) : psi;
    const dPhi = scale(add(sub(hiddenDrive(net, phi), phi), psiNow), 1 / (c.tauPhi ?? 1));
    const dY = scale(add(sub(outputDrive(net, phi), y), u), 1 / (c.tauY ?? 1));
    const dUI = controlled
      ? scale(sub(scale(g, -1), scale(uI, c.alpha)), 1 / (c.tauU ?? 1))
      : zeros(net.k);
    const dPsi =
      fb?.type === 'inversion'
        ? scale(
            sub(hadamard(rhoPrime(net, phi), add(matVec(fb.A, psi), matVec(fb.C, u))), psi),
            1 / (c.tauPsi ?? 1),
          )
        : zeros(net.n);
    phi = add(phi, scale(dPhi, dt));
    y = add(y, scale(dY, dt));
    uI = add(uI, scale(dUI, dt));
    psi = add(psi, scale(dPsi, dt));
    const z = [...phi, ...y, ...uI, ...psi];
    if (!z.every(Number.isFinite)) return { phi, y, psi, u, steps: step, converged: false };
    const rate = normInf([...dPhi, ...dY, ...dUI, ...dPsi]);
    if (rate <= tol * Math.max(1, normInf(z)))
      return { ...observe(), steps: step, converged: true };
  }
  return { ...observe(), steps: maxSteps, converged: false };
}
