/**
 * The fused Euler-step kernels (src/engine/kernels) against the unfused reference eulerStep, on
 * the CPU and WASM backends (the WebGL kernel is checked in Chromium: tests/e2e/kernels.e2e.ts):
 * one step within relative 1e-5, 100 steps (one dispatch) within 1e-3, for every controller
 * kind, loss and activation, with both readouts (a separate output population, and the outputs
 * as the network's last k units); relax on the fused path against the reference path;
 * divergence; and no tensor leaks over 10,000 steps.
 */
import '@tensorflow/tfjs-backend-wasm';
import v8 from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, type Activation } from '../../src/engine/activations';
import {
  disposeState,
  eulerStep,
  outputFeedback,
  presentation,
  zeroState,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from '../../src/engine/dynamics';
import {
  fusedEulerStep,
  fusedSteps,
  hasFusedKernel,
  packState,
  STAT,
  STATUS,
  unpackState,
} from '../../src/engine/kernels';
import {
  prepareWasmKernel,
  setWasmKernelOptions,
  wasmKernelFlavour,
  wasmKernelThreads,
} from '../../src/engine/kernels/wasm/kernel';
import { StepEngine } from '../../src/engine/kernels/wasm/stepper';
import type { Readout } from '../../src/engine/kinds';
import { LOSSES, type LossKind } from '../../src/engine/losses';
import { disposeNetwork, networkFromArrays, type Network } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import {
  relax,
  RelaxDivergence,
  setFusedSolver,
  usesFusedPath,
  type SolverSettings,
} from '../../src/engine/solver';
import { parseConfig } from '../../src/engine/config';
import { PRESETS } from '../../src/engine/presets';
import { Simulation } from '../../src/engine/simulation';
import { selectBackend, tf, type Tensor } from '../../src/engine/tf';
import { frozenInversionSliced, relaxLinear } from '../../src/engine/baselines';
import { slope } from '../../src/engine/activations';
import { drain } from '../../src/engine/sliced';

const KINDS = ['dynamic-inversion', 'dynamic-inversion-kp', 'linear-feedback', 'free'] as const;
type Kind = (typeof KINDS)[number];

function matrix(rng: Rng, rows: number, cols: number, scale: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => rng.normal() * scale),
  );
}

interface Case {
  net: Network;
  ctrl: ControllerSettings;
  p: Presentation;
  start: DynState;
  controlled: boolean;
  owned: Tensor[];
}

/**
 * A random network, presentation and (non-zero) starting state of the given kind. Readout
 * `units`: the same draws, D and d dropped, and the start's y is φ's last k entries (as every
 * state of such a network has it).
 */
function makeCase(
  seed: number,
  kind: Kind,
  loss: LossKind,
  activation: Activation,
  dims = { n: 20, m: 3, k: 6, batch: 5 },
  readout: Readout = 'separate',
): Case {
  const rng = new Rng(seed);
  const { n, m, k, batch } = dims;
  const gain = 0.8 / Math.sqrt(n);
  const net = networkFromArrays(
    {
      activation,
      readout,
      W: matrix(rng, n, n, gain),
      U: matrix(rng, n, m, 1),
      b: matrix(rng, 1, n, 0.5)[0],
      D: matrix(rng, k, n, 1 / Math.sqrt(n)),
      d: matrix(rng, 1, k, 0.5)[0],
      Q: matrix(rng, n, k, 1 / Math.sqrt(k)),
      B: matrix(rng, n, n, gain),
      F: matrix(rng, n, k, 1 / Math.sqrt(k * n)),
    },
    k,
  );
  const ctrl: ControllerSettings = {
    kind: kind === 'free' ? 'dynamic-inversion' : kind,
    alpha: 0.5,
    ki: 1,
    kp: 0.3,
    tauPhi: 1,
    tauY: 1.5,
    tauU: 2,
    tauPsi: 0.8,
    lr: 0.01,
  };
  const x = tf.tensor2d(matrix(rng, batch, m, 1));
  const target =
    loss === 'mse'
      ? tf.tensor2d(matrix(rng, batch, k, 1))
      : tf.tidy(() =>
          tf.cast(
            tf.oneHot(
              tf.tensor1d(
                Array.from({ length: batch }, (_, i) => i % k),
                'int32',
              ),
              k,
            ),
            'float32',
          ),
        );
  const p = presentation(net, x, target, loss);
  const start: DynState = {
    phi: tf.tensor2d(matrix(rng, batch, n, 0.7)),
    psi: tf.tensor2d(matrix(rng, batch, n, 0.2)),
    y: tf.tensor2d(matrix(rng, batch, k, 0.7)),
    uI: tf.tensor2d(matrix(rng, batch, k, 0.2)),
  };
  if (readout === 'units') {
    start.y.dispose();
    start.y = tf.slice(start.phi, [0, n - k], [batch, k]);
  }
  return { net, ctrl, p, start, controlled: kind !== 'free', owned: [x, target, p.drive] };
}

/** Readout `units`: every sample's y block (packed) equals the last k entries of its φ, bit for bit. */
function expectOutputsAreUnits(packed: Float32Array, n: number, k: number): void {
  const width = 2 * n + 2 * k;
  for (let b = 0; b * width < packed.length; b++) {
    const row = packed.subarray(b * width, (b + 1) * width);
    expect(Array.from(row.subarray(2 * n, 2 * n + k))).toEqual(Array.from(row.subarray(n - k, n)));
  }
}

function disposeCase(c: Case): void {
  disposeNetwork(c.net);
  disposeState(c.start);
  tf.dispose(c.owned);
}

function flat(s: DynState): Float32Array {
  const t = packState(s);
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

/** Norm-wise relative difference ‖a − b‖ / ‖b‖. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30);
}

/** `steps` unfused Euler steps from c.start. */
function reference(c: Case, dt: number, steps: number): Float32Array {
  let s = c.start;
  for (let i = 0; i < steps; i++) {
    const next = eulerStep(c.net, c.ctrl, dt, c.p, s, c.controlled);
    if (s !== c.start) disposeState(s);
    s = next;
  }
  const out = flat(s);
  if (s !== c.start) disposeState(s);
  return out;
}

/** `steps` fused steps from c.start in one dispatch. */
function fused(c: Case, dt: number, steps: number): Float32Array {
  const packed = packState(c.start);
  const out = fusedSteps(c.net, c.ctrl, dt, c.p, packed, c.controlled, { steps });
  const v = out.state.dataSync() as Float32Array;
  tf.dispose([packed, out.state, out.stats]);
  return v;
}

const BACKENDS = ['cpu', 'wasm'] as const;

describe.each(BACKENDS)('fused Euler step on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend);
  });
  afterAll(async () => {
    await selectBackend('cpu');
  });

  it('has the kernel registered, and relax uses it', () => {
    expect(hasFusedKernel(backend)).toBe(true);
    expect(usesFusedPath({})).toBe(true);
    expect(usesFusedPath({ fused: false })).toBe(false);
    // Both readouts run on the kernel.
    expect(usesFusedPath({}, { readout: 'separate' })).toBe(true);
    expect(usesFusedPath({}, { readout: 'units' })).toBe(true);
    if (backend === 'wasm') expect(wasmKernelFlavour(tf.backend())).toMatch(/^simd/);
  });

  const combos = KINDS.flatMap((kind) =>
    LOSSES.flatMap((loss) => ACTIVATIONS.map((act) => [kind, loss, act] as const)),
  );
  it.each(combos)('%s, %s, %s: 1 step within 1e-5, 100 steps within 1e-3', (kind, loss, act) => {
    const c = makeCase(11, kind, loss, act);
    try {
      const dt = 0.2;
      expect(relDiff(fused(c, dt, 1), reference(c, dt, 1))).toBeLessThan(1e-5);
      expect(relDiff(fused(c, dt, 100), reference(c, dt, 100))).toBeLessThan(1e-3);
    } finally {
      disposeCase(c);
    }
  });

  it.each(combos)(
    'readout units: %s, %s, %s: 1 step within 1e-5, 100 steps within 1e-3, y ≡ φ_y',
    (kind, loss, act) => {
      const c = makeCase(12, kind, loss, act, { n: 20, m: 3, k: 6, batch: 5 }, 'units');
      try {
        const dt = 0.2;
        const one = fused(c, dt, 1);
        expect(relDiff(one, reference(c, dt, 1))).toBeLessThan(1e-5);
        const many = fused(c, dt, 100);
        expect(relDiff(many, reference(c, dt, 100))).toBeLessThan(1e-3);
        expectOutputsAreUnits(one, 20, 6);
        expectOutputsAreUnits(many, 20, 6);
      } finally {
        disposeCase(c);
      }
    },
  );

  it('readout units: Figure 1’s size, every unit an output, outputs across a SIMD tile, energy', () => {
    for (const dims of [
      { n: 2, m: 1, k: 1, batch: 1 },
      { n: 5, m: 1, k: 5, batch: 7 },
      { n: 33, m: 2, k: 2, batch: 3 },
      { n: 37, m: 2, k: 3, batch: 1 },
      { n: 64, m: 4, k: 10, batch: 9 },
    ]) {
      for (const kind of KINDS) {
        for (const kp of [0, 0.3]) {
          const c = makeCase(6, kind, 'mse', 'tanh', dims, 'units');
          c.ctrl.kp = kp;
          try {
            const what = `${kind}, k_p = ${kp}, n=${dims.n}, k=${dims.k}, batch ${dims.batch}`;
            const many = fused(c, 0.1, 100);
            expect(relDiff(fused(c, 0.1, 1), reference(c, 0.1, 1)), what).toBeLessThan(1e-5);
            expect(relDiff(many, reference(c, 0.1, 100)), what).toBeLessThan(1e-3);
            expectOutputsAreUnits(many, dims.n, dims.k);
            if (kind === 'dynamic-inversion') {
              c.ctrl.kind = 'energy';
              expect(relDiff(fused(c, 0.1, 3), reference(c, 0.1, 3)), what).toBeLessThan(1e-5);
            }
          } finally {
            disposeCase(c);
          }
        }
      }
    }
  });

  it('handles sizes that are not multiples of the SIMD width, batch 1, k_p = 0, energy', () => {
    for (const dims of [
      { n: 37, m: 2, k: 3, batch: 1 },
      { n: 5, m: 1, k: 1, batch: 7 },
      { n: 64, m: 4, k: 10, batch: 9 },
    ]) {
      const c = makeCase(5, 'dynamic-inversion', 'mse', 'tanh', dims);
      c.ctrl.kp = 0;
      try {
        expect(relDiff(fused(c, 0.1, 1), reference(c, 0.1, 1))).toBeLessThan(1e-5);
        expect(relDiff(fused(c, 0.1, 100), reference(c, 0.1, 100))).toBeLessThan(1e-3);
        // `energy` plays dynamic inversion's dynamics, in both implementations.
        c.ctrl.kind = 'energy';
        expect(relDiff(fused(c, 0.1, 3), reference(c, 0.1, 3))).toBeLessThan(1e-5);
      } finally {
        disposeCase(c);
      }
    }
  });

  it('fusedEulerStep keeps eulerStep’s contract (new tensors, input untouched)', () => {
    const c = makeCase(3, 'linear-feedback', 'cross-entropy', 'sigmoid');
    try {
      const before = flat(c.start);
      const a = fusedEulerStep(c.net, c.ctrl, 0.1, c.p, c.start, true);
      const b = eulerStep(c.net, c.ctrl, 0.1, c.p, c.start, true);
      expect(relDiff(flat(a), flat(b))).toBeLessThan(1e-5);
      expect(flat(c.start)).toEqual(before);
      expect(a.phi.shape).toEqual(c.start.phi.shape);
      expect(a.uI.shape).toEqual(c.start.uI.shape);
      disposeState(a);
      disposeState(b);
    } finally {
      disposeCase(c);
    }
  });

  it.each(['dynamic-inversion', 'linear-feedback', 'free'] as const)(
    'relax (%s): same steps and equilibrium as the reference path',
    (kind) => {
      const c = makeCase(21, kind, 'mse', 'tanh', { n: 24, m: 3, k: 4, batch: 6 });
      const solver: SolverSettings = { dt: 0.2, tol: 1e-5, maxSteps: 5000 };
      try {
        const ref = relax(
          c.net,
          c.ctrl,
          { ...solver, fused: false },
          c.p,
          zeroState(6, 24, 4),
          c.controlled,
        );
        const fus = relax(c.net, c.ctrl, solver, c.p, zeroState(6, 24, 4), c.controlled);
        expect(ref.converged).toBe(true);
        expect(fus.converged).toBe(true);
        // The kernel checks the rule after every step: the same stopping step (± one for a
        // residual that lands within float rounding of tol).
        expect(Math.abs(fus.steps - ref.steps)).toBeLessThanOrEqual(1);
        expect(relDiff(flat(fus.state), flat(ref.state))).toBeLessThan(1e-4);
        expect(fus.residual).toBeLessThanOrEqual(solver.tol);
        disposeState(ref.state);
        disposeState(fus.state);
      } finally {
        disposeCase(c);
      }
    },
  );

  it.each(['dynamic-inversion', 'dynamic-inversion-kp', 'linear-feedback', 'free'] as const)(
    'readout units, relax (%s): same steps and equilibrium as the reference path',
    (kind) => {
      const c = makeCase(22, kind, 'mse', 'tanh', { n: 24, m: 3, k: 4, batch: 6 }, 'units');
      const solver: SolverSettings = { dt: 0.2, tol: 1e-5, maxSteps: 5000 };
      if (kind === 'linear-feedback') {
        // Q = Pᵀ, as the app starts it on output units (a random Q can push the outputs away
        // from the target, and the controlled run diverges on either path).
        c.net.params.Q!.dispose();
        c.net.params.Q = tf.tidy(() =>
          tf.pad(tf.eye(4), [
            [20, 0],
            [0, 0],
          ]),
        );
      }
      try {
        const ref = relax(
          c.net,
          c.ctrl,
          { ...solver, fused: false },
          c.p,
          zeroState(6, 24, 4),
          c.controlled,
        );
        const fus = relax(c.net, c.ctrl, solver, c.p, zeroState(6, 24, 4), c.controlled);
        expect(ref.converged).toBe(true);
        expect(fus.converged).toBe(true);
        expect(Math.abs(fus.steps - ref.steps)).toBeLessThanOrEqual(1);
        const state = flat(fus.state);
        expect(relDiff(state, flat(ref.state))).toBeLessThan(1e-4);
        expectOutputsAreUnits(state, 24, 4);
        expect(fus.residual).toBeLessThanOrEqual(solver.tol);
        disposeState(ref.state);
        disposeState(fus.state);
      } finally {
        disposeCase(c);
      }
    },
  );

  it('Simulation.advance steps the Figure 1 chapter on the kernel as the reference does', () => {
    const config = parseConfig(PRESETS['figure-1'].config);
    const states = [true, false].map((fusedPath) => {
      setFusedSolver(fusedPath);
      const sim = new Simulation(config);
      try {
        expect(usesFusedPath({}, { readout: 'units' })).toBe(fusedPath);
        sim.setControl(true);
        sim.advance(150);
        const s = sim.read();
        return { phi: Array.from(s.phi), y: Array.from(s.y), settled: sim.metrics.settled };
      } finally {
        sim.dispose();
        setFusedSolver(true);
      }
    });
    const [fus, ref] = states;
    expect(relDiff(fus.phi, ref.phi)).toBeLessThan(1e-5);
    expect(fus.y[0]).toBe(fus.phi[1]);
    expect(fus.settled).toBe(ref.settled);
  });

  it('stops on divergence with the last good state, like the reference path', () => {
    const c = makeCase(8, 'free', 'mse', 'linear', { n: 8, m: 2, k: 2, batch: 2 });
    // W = 3 I: φ grows like e^{2t}.
    const W = c.net.params.W;
    c.net.params.W = tf.mul(3, tf.eye(8));
    W.dispose();
    const solver: SolverSettings = { dt: 0.5, tol: 1e-6, maxSteps: 10_000 };
    try {
      const run = (fusedPath: boolean) => {
        try {
          relax(c.net, c.ctrl, { ...solver, fused: fusedPath }, c.p, zeroState(2, 8, 2), false);
        } catch (e) {
          expect(e).toBeInstanceOf(RelaxDivergence);
          const d = e as RelaxDivergence;
          const phi = d.lastGood.phi.dataSync();
          disposeState(d.lastGood);
          expect(Array.from(phi).every(Number.isFinite)).toBe(true);
          return { step: d.step, goodStep: d.lastGoodStep, reason: d.reason };
        }
        throw new Error('expected divergence');
      };
      const ref = run(false);
      const fus = run(true);
      expect(fus.reason).toMatch(/exceeds|non-finite/);
      expect(fus.reason).toBe(ref.reason);
      expect(fus.step).toBe(ref.step);
      expect(fus.goodStep).toBe(ref.goodStep);
    } finally {
      disposeCase(c);
    }
  });

  it('reports its steps and residual sums in the stats', () => {
    const c = makeCase(4, 'dynamic-inversion', 'mse', 'tanh');
    try {
      const packed = packState(c.start);
      const out = fusedSteps(c.net, c.ctrl, 0.1, c.p, packed, true, { steps: 7 });
      const s = out.stats.dataSync();
      expect(s[STAT.steps]).toBe(7);
      for (let i = 0; i < 8; i++) expect(s[STAT.sums + i]).toBeGreaterThan(0);
      const state = unpackState(out.state, c.net.n, c.net.k);
      expect(state.y.shape).toEqual([5, 6]);
      tf.dispose([packed, out.state, out.stats]);
      disposeState(state);
    } finally {
      disposeCase(c);
    }
  });

  it.each(['separate', 'units'] as const)(
    'the frozen inversion (RBP’s adjoint) on the kernel equals the unfused linear relaxation (readout %s)',
    (readout) => {
      const c = makeCase(12, 'dynamic-inversion', 'cross-entropy', 'tanh', undefined, readout);
      const solver: SolverSettings = { dt: 0.5, tol: 1e-7, maxSteps: 2000 };
      const v = tf.tidy(() => tf.sub(tf.softmax(c.start.y), c.p.target));
      const before = tf.memory().numTensors;
      try {
        // δ = ρ'(φ) ⊙ (Wᵀδ) + source, relaxed op by op as relaxLinear does …
        const { s, source } = tf.tidy(() => {
          const s = slope(c.net.activation, c.start.phi);
          return { s, source: outputFeedback(c.net, s, v) };
        });
        const reference = relaxLinear(
          (d) => tf.add(tf.mul(s, tf.matMul(d, c.net.params.W)), source),
          tf.zerosLike(c.start.phi),
          solver,
          'reference',
        );
        tf.dispose([s, source]);
        // … and by the fused step with φ, y and u_I frozen.
        const fused = drain(
          frozenInversionSliced(c.net, solver, c.start.phi, c.start.y, v, 'adjoint'),
        );
        expect(reference.converged && fused.converged).toBe(true);
        const a = reference.value.dataSync();
        const b = fused.value.dataSync();
        let num = 0;
        let den = 0;
        for (let i = 0; i < a.length; i++) {
          num += (a[i] - b[i]) ** 2;
          den += a[i] ** 2;
        }
        expect(den).toBeGreaterThan(1e-6);
        expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
        // The kernel checks every step (the reference every 8th) and stops where float32 stops
        // resolving the change (observed 43–44 steps against 56), never later.
        expect(fused.steps).toBeGreaterThan(10);
        expect(fused.steps).toBeLessThanOrEqual(reference.steps);
        tf.dispose([reference.value, fused.value]);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        v.dispose();
        disposeCase(c);
      }
    },
  );

  it.each(['separate', 'units'] as const)(
    'leaks no tensors (readout %s): tf.memory().numTensors is the same after 10,000 steps as after 100',
    (readout) => {
      const c = makeCase(
        9,
        'dynamic-inversion',
        'mse',
        'tanh',
        { n: 16, m: 2, k: 3, batch: 2 },
        readout,
      );
      const solver: SolverSettings = { dt: 0.1, tol: 0, maxSteps: 0 };
      try {
        // The solver's path (tol = 0: never settles, so it runs all maxSteps) …
        const runRelax = (steps: number) => {
          const r = relax(
            c.net,
            c.ctrl,
            { ...solver, maxSteps: steps },
            c.p,
            zeroState(2, 16, 3),
            true,
          );
          disposeState(r.state);
        };
        // … and stepping frame by frame, one dispatch per step.
        const runFrames = (steps: number) => {
          let s = zeroState(2, 16, 3);
          for (let i = 0; i < steps; i++) {
            const next = fusedEulerStep(c.net, c.ctrl, 0.1, c.p, s, true);
            disposeState(s);
            s = next;
          }
          disposeState(s);
        };
        // The backend's own count also sees data that is not a tensor (kernel intermediates).
        const buffers = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
        runRelax(100);
        runFrames(100);
        const after100 = tf.memory().numTensors;
        const buffers100 = buffers();
        runRelax(10_000);
        runFrames(10_000);
        expect(tf.memory().numTensors).toBe(after100);
        expect(buffers()).toBe(buffers100);
      } finally {
        disposeCase(c);
      }
    },
  );
});

describe('WASM kernel without SIMD (plain loops on the WASM heap)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
    setWasmKernelOptions({ simd: false });
  });
  afterAll(async () => {
    setWasmKernelOptions({ simd: true });
    await selectBackend('cpu');
  });

  it.each(['separate', 'units'] as const)('matches the reference (readout %s)', (readout) => {
    expect(wasmKernelFlavour(tf.backend())).toBe('js');
    const c = makeCase(13, 'dynamic-inversion-kp', 'cross-entropy', 'softplus', undefined, readout);
    try {
      expect(relDiff(fused(c, 0.2, 1), reference(c, 0.2, 1))).toBeLessThan(1e-5);
      expect(relDiff(fused(c, 0.2, 100), reference(c, 0.2, 100))).toBeLessThan(1e-3);
    } finally {
      disposeCase(c);
    }
  });
});

describe('WASM step module: blocked products, threads, relaxed SIMD', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  afterAll(async () => {
    setWasmKernelOptions({ threads: 'auto', fma: true, threadFrom: undefined, spin: undefined });
    await selectBackend('cpu');
  });

  /** Final packed state and stats of `steps` fused steps from c.start (tol < 0: all steps). */
  function fusedRun(c: Case, dt: number, steps: number, tol = -1) {
    const packed = packState(c.start);
    const out = fusedSteps(c.net, c.ctrl, dt, c.p, packed, c.controlled, { steps, tol });
    const state = Float32Array.from(out.state.dataSync());
    const stats = Float32Array.from(out.stats.dataSync());
    tf.dispose([packed, out.state, out.stats]);
    return { state, stats };
  }

  // 256 × 64: the benchmark's large size (16 panels, 2-row tiles); 300: two cache blocks of the
  // K dimension (KC = 256) and a partial panel; k = 17: two panels for Dᵀ; odd batches: tail rows.
  const shapes = [
    { n: 256, m: 3, k: 10, batch: 64 },
    { n: 300, m: 2, k: 17, batch: 3 },
    { n: 40, m: 2, k: 17, batch: 5 },
  ];
  it.each(shapes)('equals the reference at n=$n, k=$k, batch $batch', (dims) => {
    for (const readout of ['separate', 'units'] as const) {
      for (const kind of [
        'dynamic-inversion',
        'dynamic-inversion-kp',
        'linear-feedback',
      ] as const) {
        const c = makeCase(31, kind, 'mse', 'tanh', dims, readout);
        try {
          expect(relDiff(fused(c, 0.2, 1), reference(c, 0.2, 1)), readout).toBeLessThan(1e-5);
          expect(relDiff(fused(c, 0.2, 20), reference(c, 0.2, 20)), readout).toBeLessThan(1e-4);
        } finally {
          disposeCase(c);
        }
      }
    }
  });

  it('packs weights into 16-column panels, by rows and transposed, with zero padding', () => {
    const eng = new StepEngine({ fma: false, threads: 1 });
    try {
      // 32 × 48: whole panels and blocks of four; 13 × 37: a partial panel, rows left over.
      for (const [rows, cols] of [
        [32, 48],
        [13, 37],
        [10, 256],
      ]) {
        const src = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 1e3 + i);
        for (const transpose of [false, true]) {
          const [m, N] = transpose ? [cols, rows] : [rows, cols];
          const panels = Math.ceil(N / 16);
          const at = eng.alloc(rows * cols * 4);
          const dst = eng.alloc(panels * m * 64);
          eng.f32.set(src, at >> 2);
          eng.f32.fill(NaN, dst >> 2, (dst >> 2) + panels * m * 16);
          eng.exports.packPanels(at, cols, dst, m, N, transpose ? 1 : 0);
          const got = eng.f32.slice(dst >> 2, (dst >> 2) + panels * m * 16);
          const want = new Float32Array(panels * m * 16);
          for (let p = 0; p < panels; p++)
            for (let r = 0; r < m; r++)
              for (let l = 0; l < 16; l++) {
                const j = 16 * p + l;
                want[(p * m + r) * 16 + l] =
                  j >= N ? 0 : transpose ? src[j * cols + r] : src[r * cols + j];
              }
          expect(Array.from(got), `${rows}×${cols}, transpose ${transpose}`).toEqual(
            Array.from(want),
          );
          eng.free(dst);
          eng.free(at);
        }
      }
    } finally {
      eng.dispose();
    }
  });

  it('gives the same bits on 1 and 2 threads (rows split and panel split)', async () => {
    // Readout units with k = 130: the output units' columns 126 … 255 lie in both threads'
    // panels when the panels are split, and each thread writes its part of y.
    for (const [dims, readout] of [
      [{ n: 256, m: 3, k: 10, batch: 16 }, 'separate'],
      [{ n: 256, m: 3, k: 10, batch: 1 }, 'separate'],
      [{ n: 256, m: 3, k: 10, batch: 16 }, 'units'],
      [{ n: 256, m: 3, k: 130, batch: 1 }, 'units'],
    ] as const) {
      const c = makeCase(41, 'dynamic-inversion', 'cross-entropy', 'tanh', dims, readout);
      try {
        setWasmKernelOptions({ threads: 1 });
        expect(wasmKernelThreads(dims.batch, dims.n, dims.k)).toBe(1);
        const one = fusedRun(c, 0.1, 30);
        // threadFrom 0: threads at any size (by default small steps stay on one thread).
        setWasmKernelOptions({ threads: 2, threadFrom: 0 });
        const prepared = await prepareWasmKernel();
        expect(prepared.threads).toBe(2);
        expect(wasmKernelThreads(dims.batch, dims.n, dims.k)).toBe(2);
        const two = fusedRun(c, 0.1, 30);
        expect(two.stats[STAT.steps]).toBe(30);
        expect(two.state).toEqual(one.state);
        expect(two.stats).toEqual(one.stats);
        // And both equal the reference.
        expect(relDiff(two.state, reference(c, 0.1, 30))).toBeLessThan(1e-4);
        if (readout === 'units') expectOutputsAreUnits(two.state, dims.n, dims.k);
      } finally {
        disposeCase(c);
      }
    }
  });

  it('ends a job on the same step on 1 and 2 threads: settled, diverged, or out of steps', async () => {
    // Rows split: a thread computes step t before it decides on step t − 1 (docs/performance.md),
    // so a job that ends early drops one step computed ahead; the result must not show it.
    const dims = { n: 256, m: 3, k: 10, batch: 16 };
    const ends: number[] = [];
    // spin 1: a thread that waits for the other sleeps at once (memory.atomic.wait32).
    for (const [dt, tol, gain, spin] of [
      [0.2, 1e-3, 1, undefined],
      [0.2, 1e-3, 1, 1],
      [0.2, 1e-5, 1, 1],
      [0.2, -1, 1, 1],
      [1.9, 1e-6, 60, 1],
    ] as const) {
      const c = makeCase(53, 'dynamic-inversion', 'mse', 'tanh', dims);
      const big = tf.mul(c.net.params.W, gain);
      c.net.params.W.dispose();
      c.net.params.W = big;
      try {
        setWasmKernelOptions({ threads: 1 });
        const one = fusedRun(c, dt, 200, tol);
        setWasmKernelOptions({ threads: 2, threadFrom: 0, spin });
        expect((await prepareWasmKernel()).threads).toBe(2);
        expect(wasmKernelThreads(dims.batch, dims.n, dims.k)).toBe(2);
        const two = fusedRun(c, dt, 200, tol);
        expect(two.state).toEqual(one.state);
        expect(two.stats).toEqual(one.stats);
        ends.push(one.stats[STAT.status]);
      } finally {
        disposeCase(c);
      }
    }
    expect(ends.slice(0, 4)).toEqual([
      STATUS.converged,
      STATUS.converged,
      STATUS.converged,
      STATUS.running,
    ]);
    expect(ends[4]).toBeGreaterThanOrEqual(STATUS.nonFinite);
  });

  it('relax on 2 threads stops on the same step as the reference path', async () => {
    setWasmKernelOptions({ threads: 2, threadFrom: 0 });
    await prepareWasmKernel();
    const c = makeCase(43, 'dynamic-inversion', 'mse', 'tanh', { n: 128, m: 3, k: 4, batch: 8 });
    const solver: SolverSettings = { dt: 0.2, tol: 1e-5, maxSteps: 5000 };
    try {
      const ref = relax(
        c.net,
        c.ctrl,
        { ...solver, fused: false },
        c.p,
        zeroState(8, 128, 4),
        true,
      );
      const fus = relax(c.net, c.ctrl, solver, c.p, zeroState(8, 128, 4), true);
      expect(fus.converged).toBe(true);
      expect(Math.abs(fus.steps - ref.steps)).toBeLessThanOrEqual(1);
      expect(relDiff(flat(fus.state), flat(ref.state))).toBeLessThan(1e-4);
      disposeState(ref.state);
      disposeState(fus.state);
    } finally {
      disposeCase(c);
    }
  });

  it('with relaxed SIMD (FMA) and without it, equals the reference', () => {
    // Node 20 has relaxed SIMD behind a flag; Chromium has it on (tests/e2e/kernels.e2e.ts).
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    for (const fma of [true, false]) {
      setWasmKernelOptions({ fma, threads: 1 });
      expect(wasmKernelFlavour()).toBe(fma ? 'simd+fma' : 'simd');
      for (const [kind, loss, act, readout] of [
        ['dynamic-inversion', 'mse', 'tanh', 'separate'],
        ['linear-feedback', 'cross-entropy', 'softplus', 'separate'],
        ['dynamic-inversion-kp', 'mse', 'sigmoid', 'separate'],
        ['dynamic-inversion', 'cross-entropy', 'tanh', 'units'],
        ['linear-feedback', 'mse', 'linear', 'units'],
        ['dynamic-inversion-kp', 'mse', 'softplus', 'units'],
        ['free', 'mse', 'sigmoid', 'units'],
      ] as const) {
        const c = makeCase(47, kind, loss, act, { n: 70, m: 2, k: 5, batch: 7 }, readout);
        try {
          expect(relDiff(fused(c, 0.2, 1), reference(c, 0.2, 1))).toBeLessThan(1e-5);
          expect(relDiff(fused(c, 0.2, 100), reference(c, 0.2, 100))).toBeLessThan(1e-3);
        } finally {
          disposeCase(c);
        }
      }
    }
  });
});
