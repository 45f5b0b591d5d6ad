/**
 * The job block ("ctx") that the JavaScript side fills and the WASM step module reads: sizes,
 * coefficients, pointers to every buffer, the stopping rule's carried state, its outputs and the
 * words the threads synchronise on. Offsets in bytes from the block's start.
 */

/** Threads one job can use (the caller's plus helpers). */
export const MAX_THREADS = 8;
export const CTX_BYTES = 2048;

/** i32 words (byte offset = 4 × index). */
export const I = {
  B: 0,
  n: 1,
  k: 2,
  np: 3,
  kq: 4,
  /** One of KIND. */
  kind: 5,
  /** 0 mse, 1 cross-entropy. */
  loss: 6,
  /** One of ACT. */
  act: 7,
  steps: 8,
  threads: 9,
  /** 0: threads take rows (samples) of the batch; 1: threads take column panels. */
  split: 10,
  /** State sets: set s, block b (0 φ, 1 ψ, 2 y, 3 u_I) at sets + 4s + b. Three sets in turn. */
  sets: 11,
  drive: 23,
  target: 24,
  d: 25,
  /** Packed right-hand factors (16-column panels): Y0 = Wᵀ, Yd = Dᵀ, Y1 = W or Bᵀ, Y2 = D, Fᵀ or Qᵀ. */
  Y0: 26,
  Yd: 27,
  Y1: 28,
  Y2: 29,
  A: 30,
  P: 31,
  yd: 32,
  /** Two per-row sum arrays [B][8] f64, used by step parity (rows split). */
  rowSums: 33,
  /** Per thread: r, s, g, u, private row sums — at thread + 5·tid + j. */
  thread: 35,
  /** 1: readout `units` (y ≡ φ_y, no D, d; u enters ψ unscaled on the last k units); 0: separate. */
  units: 75,
  /** Outputs (and growing, carried in and out). */
  done: 80,
  status: 81,
  cur: 82,
  growing: 83,
  /** One of JOB: which function a dispatch runs. */
  job: 86,
  /**
   * A product job: C[M, panels] = X[M, K]·Y (gemm's operands; X, Y, C addresses, ldx and ldc in
   * bytes), threads taking `rowsEach` rows each.
   */
  pX: 87,
  pLdx: 88,
  pY: 89,
  pC: 90,
  pLdc: 91,
  pM: 92,
  pPanels: 93,
  pK: 94,
  pRowsEach: 95,
} as const;

/** Jobs of the step module's dispatch: Euler steps, or one product. */
export const JOB = { steps: 0, product: 1 } as const;

/** f32 words from byte F32_AT. */
export const F32_AT = 384;
export const F = { cPhi: 0, cY: 1, cU: 2, cPsi: 3, alpha: 4, ki: 5, kp: 6 } as const;

/** f64 words from byte F64_AT. */
export const F64_AT = 512;
export const D = {
  dt: 0,
  tol: 1,
  lastResidual: 2,
  best: 3,
  residual: 4,
  rms: 5,
  raw: 6,
  /** ‖ΔX‖², ‖X‖² per block (φ, y, u_I, ψ). */
  sums: 7,
  /** Block sizes for the RMS. */
  sizes: 15,
  /** dt/τ per block, for the float32 floors. */
  coef: 19,
} as const;

/** Synchronisation words, one cache line each. */
export const SYNC = {
  jobGen: 1024,
  barCount: 1088,
  barGen: 1152,
  waiters: 1216,
  quit: 1280,
  /** Per thread (64 bytes apart): the last step whose row sums it has written (rows split). */
  posted: 1344,
} as const;

export const KIND = { free: 0, dynamic: 1, linear: 2 } as const;
export const ACT = { tanh: 0, sigmoid: 1, linear: 2, softplus: 3 } as const;

/** Rows of the K dimension per cache block of the GEMM (a 16-column panel of 256 rows is 16 KB). */
export const KC = 256;
