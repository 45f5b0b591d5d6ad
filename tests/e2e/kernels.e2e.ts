/**
 * The fused kernels in headless Chromium (bench.html's worker): WebGL forced and the automatic
 * choice. In the browser, fused equals unfused within relative 1e-5 after one step and 1e-3 after
 * 100 steps; and the equilibria (free and controlled, by relax on the fused path) equal those
 * computed here in Node on the CPU backend with the unfused reference, within relative 1e-3 —
 * for both readouts (a separate output population, and the outputs as the last k units).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { disposeState, presentation, zeroState } from '../../src/engine/dynamics';
import { disposeNetwork, networkFromArrays } from '../../src/engine/model';
import { packState } from '../../src/engine/kernels';
import { Rng } from '../../src/engine/rng';
import { relax } from '../../src/engine/solver';
import { selectBackend, tf } from '../../src/engine/tf';
import type { CheckResult, CheckScenario, ContextLossResult } from '../../src/worker/bench.worker';
import { launch } from './browser';

function matrix(rng: Rng, rows: number, cols: number, scale: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => rng.normal() * scale),
  );
}

function scenario(
  name: string,
  seed: number,
  kind: CheckScenario['controller']['kind'],
  loss: CheckScenario['loss'],
  activation: CheckScenario['model']['activation'],
  n: number,
  k: number,
  batch: number,
  readout: 'separate' | 'units' = 'separate',
): CheckScenario {
  const rng = new Rng(seed, 'kernels-e2e');
  const m = 3;
  const gain = 0.7 / Math.sqrt(n);
  const model: CheckScenario['model'] = {
    activation,
    readout,
    W: matrix(rng, n, n, gain),
    U: matrix(rng, n, m, 1),
    b: matrix(rng, 1, n, 0.3)[0],
    // Readout `units` ignores D and d; d's length still tells networkFromArrays k.
    D: matrix(rng, k, n, 1 / Math.sqrt(n)),
    d: matrix(rng, 1, k, 0.3)[0],
    Q: matrix(rng, n, k, 1 / Math.sqrt(k)),
    B: matrix(rng, n, n, gain),
    F: matrix(rng, n, k, 1 / Math.sqrt(n * k)),
  };
  // Linear feedback on output units starts from Q = Pᵀ, as the app does (a random Q can push the
  // outputs away from the target).
  if (readout === 'units')
    model.Q = Array.from({ length: n }, (_, i) =>
      Array.from({ length: k }, (_, c) => (i === n - k + c ? 1 : 0)),
    );
  return {
    name,
    model,
    x: matrix(rng, batch, m, 1),
    target:
      loss === 'mse'
        ? matrix(rng, batch, k, 0.5)
        : Array.from({ length: batch }, (_, i) =>
            Array.from({ length: k }, (_, c) => (c === i % k ? 1 : 0)),
          ),
    loss,
    controller: {
      kind,
      alpha: 0.5,
      ki: 1,
      kp: kind === 'linear-feedback' ? 0.2 : 0,
      tauPhi: 1,
      tauY: 1,
      // Output units: the integral loop slower than the units, as the Figure 1 chapter has it
      // (with τ_u = 1 it can ring for thousands of steps).
      tauU: readout === 'units' ? 10 : 1,
      tauPsi: 1,
      lr: 0.01,
    },
    solver: { dt: 0.2, tol: 1e-5, maxSteps: 20_000 },
  };
}

const SCENARIOS: CheckScenario[] = [
  scenario('DI, mse, tanh, n=12', 1, 'dynamic-inversion', 'mse', 'tanh', 12, 3, 3),
  scenario(
    'KP, cross-entropy, sigmoid, n=20',
    2,
    'dynamic-inversion-kp',
    'cross-entropy',
    'sigmoid',
    20,
    4,
    2,
  ),
  scenario('LF, mse, softplus, n=9', 3, 'linear-feedback', 'mse', 'softplus', 9, 2, 4),
  // Several 16-column panels, 2-row register tiles and a row left over (batch 7).
  scenario('DI, mse, tanh, n=70, batch 7', 5, 'dynamic-inversion', 'mse', 'tanh', 70, 10, 7),
  scenario(
    'DI, cross-entropy, linear, n=33',
    4,
    'dynamic-inversion',
    'cross-entropy',
    'linear',
    33,
    5,
    1,
  ),
  // WebGL's two-pass step (B·n² ≥ 4096) with feedback inputs.
  scenario('KP, mse, tanh, n=48, batch 2', 6, 'dynamic-inversion-kp', 'mse', 'tanh', 48, 3, 2),
  scenario('LF, mse, sigmoid, n=64', 7, 'linear-feedback', 'mse', 'sigmoid', 64, 4, 1),
  // Readout `units`: the outputs are the last k units (Figure 1's size first).
  scenario('units: DI, mse, tanh, n=2', 21, 'dynamic-inversion', 'mse', 'tanh', 2, 1, 1, 'units'),
  scenario(
    'units: KP, cross-entropy, sigmoid, n=20',
    12,
    'dynamic-inversion-kp',
    'cross-entropy',
    'sigmoid',
    20,
    4,
    2,
    'units',
  ),
  scenario(
    'units: LF, mse, softplus, n=9',
    13,
    'linear-feedback',
    'mse',
    'softplus',
    9,
    2,
    4,
    'units',
  ),
  scenario(
    'units: DI, mse, tanh, n=70, batch 7',
    14,
    'dynamic-inversion',
    'mse',
    'tanh',
    70,
    10,
    7,
    'units',
  ),
  scenario(
    'units: DI, cross-entropy, linear, n=33',
    15,
    'dynamic-inversion',
    'cross-entropy',
    'linear',
    33,
    5,
    1,
    'units',
  ),
  scenario(
    'units: KP, mse, tanh, n=48, batch 2',
    16,
    'dynamic-inversion-kp',
    'mse',
    'tanh',
    48,
    3,
    2,
    'units',
  ),
  scenario(
    'units: LF, mse, sigmoid, n=64',
    17,
    'linear-feedback',
    'mse',
    'sigmoid',
    64,
    4,
    1,
    'units',
  ),
];

/** Equilibria in Node, CPU backend, unfused reference path. */
async function nodeEquilibria(): Promise<Map<string, { free: number[]; controlled: number[] }>> {
  await selectBackend('cpu');
  const out = new Map<string, { free: number[]; controlled: number[] }>();
  for (const sc of SCENARIOS) {
    const net = networkFromArrays(sc.model);
    const x = tf.tensor2d(sc.x);
    const target = tf.tensor2d(sc.target);
    const p = presentation(net, x, target, sc.loss);
    const solver = { ...sc.solver, fused: false };
    const batch = sc.x.length;
    const flat = (controlled: boolean) => {
      const r = relax(net, sc.controller, solver, p, zeroState(batch, net.n, net.k), controlled);
      expect(r.converged, `${sc.name}: ${controlled ? 'controlled' : 'free'} in Node`).toBe(true);
      const t = packState(r.state);
      const v = Array.from(t.dataSync());
      t.dispose();
      disposeState(r.state);
      return v;
    };
    out.set(sc.name, { free: flat(false), controlled: flat(true) });
    tf.dispose([x, target, p.drive]);
    disposeNetwork(net);
  }
  return out;
}

function relDiff(a: number[], b: number[]): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30);
}

let browser: Browser;
let page: Page;
let reference: Map<string, { free: number[]; controlled: number[] }>;

interface WasmCheck {
  fma?: boolean;
  threads?: number | 'auto';
  threadFrom?: number;
}

async function check(backend: string, wasm?: WasmCheck) {
  return page.evaluate(
    (req) =>
      (
        window as unknown as {
          lcpBench: {
            check(r: unknown): Promise<{
              results: CheckResult[];
              backend: string;
              reason: string;
              tensors?: {
                after100: number;
                after10000: number;
                buffers100: number;
                buffers10000: number;
              };
              wasm?: { flavour: string; threads: number[]; isolated: boolean };
            }>;
          };
        }
      ).lcpBench.check(req),
    { backend, scenarios: SCENARIOS, leaks: true, wasm },
  );
}

describe('fused kernels in headless Chromium', () => {
  beforeAll(async () => {
    reference = await nodeEquilibria();
    browser = await launch();
    page = await browser.newPage();
    await page.goto(new URL('bench.html', inject('baseUrl')).href);
    // The page may reload once under its service worker (cross-origin isolation).
    await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, {
      timeout: 60_000,
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  const RUNS: { name: string; backend: string; wasm?: WasmCheck }[] = [
    { name: 'webgl', backend: 'webgl' },
    { name: 'auto', backend: 'auto' },
    { name: 'wasm', backend: 'wasm' },
    // Threads at every size (the default keeps small steps on one thread), relaxed SIMD's FMA.
    { name: 'wasm, 2 threads, FMA', backend: 'wasm', wasm: { threads: 2, threadFrom: 0 } },
    // The plain SIMD path (no relaxed SIMD), one thread.
    { name: 'wasm, plain SIMD', backend: 'wasm', wasm: { fma: false, threads: 1 } },
  ];
  for (const run of RUNS) {
    it(`${run.name}: fused = unfused in the browser, equilibria = Node's CPU values, no leaks`, async () => {
      const { backend } = run;
      const out = await check(backend, run.wasm);
      if (backend === 'webgl') {
        // Forced WebGL must really run on WebGL (SwiftShader here), not fall back.
        expect(out.backend, out.reason).toBe('webgl');
      }
      if (backend === 'wasm') {
        expect(out.backend, out.reason).toBe('wasm');
        // bench.html made itself cross-origin isolated through its service worker (the test
        // server sends no special headers), so the kernel's threads are available.
        expect(out.wasm!.isolated).toBe(true);
        expect(out.wasm!.flavour).toBe(run.wasm?.fma === false ? 'simd' : 'simd+fma');
        // Two threads wherever the shape can be split (a single panel and a small batch cannot).
        if (run.wasm?.threads === 2) {
          expect(out.wasm!.threads).toContain(2);
          expect(Math.max(...out.wasm!.threads)).toBe(2);
        }
        if (run.wasm?.threads === 1) expect(new Set(out.wasm!.threads)).toEqual(new Set([1]));
      }
      expect(out.results).toHaveLength(SCENARIOS.length);
      // No tensor leaks on this backend: as many tensors after 10,000 steps as after 100.
      expect(out.tensors!.after10000).toBe(out.tensors!.after100);
      expect(out.tensors!.buffers10000).toBe(out.tensors!.buffers100);
      for (const r of out.results) {
        const ref = reference.get(r.name)!;
        if (process.env.E2E_VERBOSE)
          console.log(
            `${run.name} → ${r.backend} ${r.name}: 1 step ${r.rel1.toExponential(1)}, 100 steps ${r.rel100.toExponential(1)}, ` +
              `free ${relDiff(r.free.state, ref.free).toExponential(1)} (${r.free.steps} steps), ` +
              `controlled ${relDiff(r.controlled.state, ref.controlled).toExponential(1)} (${r.controlled.steps} steps)`,
          );
        expect(r.backend, r.name).toBe(out.backend);
        expect(r.rel1, `${r.name}: 1 step`).toBeLessThan(1e-5);
        expect(r.rel100, `${r.name}: 100 steps`).toBeLessThan(1e-3);
        expect(r.free.converged, `${r.name}: free converged`).toBe(true);
        expect(r.controlled.converged, `${r.name}: controlled converged`).toBe(true);
        expect(relDiff(r.free.state, ref.free), `${r.name}: free equilibrium`).toBeLessThan(1e-3);
        expect(
          relDiff(r.controlled.state, ref.controlled),
          `${r.name}: controlled equilibrium`,
        ).toBeLessThan(1e-3);
        const sc = SCENARIOS.find((c) => c.name === r.name)!;
        if (sc.model.readout === 'units') {
          // y ≡ φ_y: the y block is a copy of the last k units, bit for bit.
          const n = sc.model.W.length;
          const k = sc.model.d!.length;
          for (const state of [r.free.state, r.controlled.state])
            for (let b = 0; b < sc.x.length; b++) {
              const row = state.slice(b * (2 * n + 2 * k), (b + 1) * (2 * n + 2 * k));
              expect(row.slice(2 * n, 2 * n + k), `${r.name}: y ≡ φ_y`).toEqual(
                row.slice(n - k, n),
              );
            }
        }
      }
    });
  }

  it('WebGL context loss: the state moves to another backend and the run goes on', async () => {
    const out = await page.evaluate(() =>
      (
        window as unknown as {
          lcpBench: { contextLoss(r: unknown): Promise<{ result: ContextLossResult }> };
        }
      ).lcpBench.contextLoss({ to: 'wasm' }),
    );
    expect(out.result.after, out.result.reason).toBe('wasm');
    expect(out.result.restored).toBe(true);
    expect(out.result.relaxedSteps).toBeGreaterThan(0);
  });
});
