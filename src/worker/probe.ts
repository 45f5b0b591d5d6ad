/**
 * The benchmark's probe network and the step-rate measurements that the automatic backend choice
 * and the benchmarks use (no browser API: Node scripts and tests import it too).
 */
import { disposeState, presentation, type ControllerSettings } from '../engine/dynamics';
import { fusedSteps, STAT } from '../engine/kernels';
import { disposeNetwork, networkFromArrays, type Network } from '../engine/model';
import { relax } from '../engine/solver';
import { tf } from '../engine/tf';

/** A deterministic normal draw (Box–Muller on a small LCG): the probe needs no seeded streams. */
export function normals(count: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out: number[] = [];
  while (out.length < count) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out.push(r * Math.cos(a), r * Math.sin(a));
  }
  return out.slice(0, count);
}

export function rows(data: number[], r: number, c: number, scale: number): number[][] {
  return Array.from({ length: r }, (_, i) => data.slice(i * c, (i + 1) * c).map((v) => v * scale));
}

export interface Probe {
  net: Network;
  ctrl: ControllerSettings;
  p: ReturnType<typeof presentation>;
  dispose(): void;
}

/**
 * The torch reference's set-up (../shared/bench/torch_reference.py): W ~ N(0, 0.25/n),
 * D ~ N(0, 1/n), d = 0, drive = U x + b ~ N(0, 1), targets ~ N(0, 1), dt = 0.1, α = 0.1,
 * k_i = 1, k_p = 0, every τ = 1.
 */
export function makeProbe(n: number, batch: number, k = 10, seed = 1): Probe {
  const net = networkFromArrays({
    activation: 'tanh',
    W: rows(normals(n * n, seed), n, n, 0.5 / Math.sqrt(n)),
    U: rows(normals(n, seed + 1), n, 1, 1),
    b: new Array<number>(n).fill(0),
    D: rows(normals(k * n, seed + 2), k, n, 1 / Math.sqrt(n)),
    d: new Array<number>(k).fill(0),
  });
  const ctrl: ControllerSettings = {
    kind: 'dynamic-inversion',
    alpha: 0.1,
    ki: 1,
    kp: 0,
    tauPhi: 1,
    tauY: 1,
    tauU: 1,
    tauPsi: 1,
    lr: 0.01,
  };
  const x = tf.zeros([batch, 1]);
  const target = tf.tensor2d(rows(normals(batch * k, seed + 3), batch, k, 1));
  const p = presentation(net, x, target, 'mse');
  p.drive.dispose();
  p.drive = tf.tensor2d(rows(normals(batch * n, seed + 4), batch, n, 1));
  return {
    net,
    ctrl,
    p,
    dispose() {
      tf.dispose([x, target, p.drive]);
      disposeNetwork(net);
    },
  };
}

/**
 * Controlled steps per second of relax on the current backend (the fused path unless
 * fused = false), from the probe's zero state; tol = 0 so that it never stops early. Runs
 * relaxations of doubling length until `ms` milliseconds have passed (after one warm-up
 * relaxation of `warmupSteps`, which compiles shaders and fills caches).
 */
export function measureSteps(
  probe: Probe,
  ms: number,
  opts: { fused?: boolean; warmupSteps?: number; maxChunk?: number } = {},
): number {
  const { net, ctrl, p } = probe;
  const batch = p.drive.shape[0];
  const run = (steps: number) => {
    const r = relax(
      net,
      ctrl,
      { dt: 0.1, tol: 0, maxSteps: steps, fused: opts.fused },
      p,
      {
        phi: tf.zeros([batch, net.n]),
        y: tf.zeros([batch, net.k]),
        uI: tf.zeros([batch, net.k]),
        psi: tf.zeros([batch, net.n]),
      },
      true,
    );
    // A read-back that waits for the device (WebGL runs asynchronously).
    r.state.y.dataSync();
    disposeState(r.state);
    return r.steps;
  };
  run(opts.warmupSteps ?? 2);
  let chunk = 1;
  let steps = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    const c0 = performance.now();
    steps += run(chunk);
    const took = performance.now() - c0;
    elapsed = performance.now() - t0;
    if (took < (ms - elapsed) / 4) chunk = Math.min(chunk * 2, opts.maxChunk ?? 1 << 16);
  }
  return steps / (elapsed / 1000);
}

/**
 * Steps per second of the fused kernel alone (what 'auto' compares): dispatches of doubling
 * length from a zero packed state, each followed by the read-back of its stats, as relax does.
 * Only the kernel's own programs are compiled (one warm-up dispatch).
 */
export function measureKernel(probe: Probe, ms: number): number {
  const { net, ctrl, p } = probe;
  const batch = p.drive.shape[0];
  let packed = tf.zeros([batch, 2 * net.n + 2 * net.k]);
  // tol < 0: never settles, so every dispatch runs all its steps (it reports how many it ran).
  const dispatch = (steps: number) => {
    const out = fusedSteps(net, ctrl, 0.1, p, packed, true, { steps, tol: -1 });
    const done = out.stats.dataSync()[STAT.steps];
    out.stats.dispose();
    packed.dispose();
    packed = out.state;
    return done;
  };
  try {
    dispatch(1);
    let chunk = 1;
    let steps = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      const c0 = performance.now();
      steps += dispatch(chunk);
      const took = performance.now() - c0;
      elapsed = performance.now() - t0;
      if (took < (ms - elapsed) / 4) chunk = Math.min(chunk * 2, 4096);
    }
    return steps / (elapsed / 1000);
  } finally {
    packed.dispose();
  }
}
