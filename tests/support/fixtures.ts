/**
 * Deterministic fake snapshot-bus state for view tests: a small tanh network (recurrent or
 * layered) is integrated here in plain JavaScript (explicit Euler, DESIGN.md §1) — free phase,
 * then dynamic-inversion control — so that φ, ψ, y, u, the traces, the markers and the last LCP
 * update are mutually consistent. No tfjs, no worker: views can be drawn in jsdom from this alone.
 */
import { Rng } from '../../src/engine/rng';
import { planeDataset } from '../../src/engine/tasks/toy';
import type { SimView, TracePoint } from '../../src/state/simView';
import { TRACE_UNITS } from '../../src/state/simView';
import type {
  LearningPoint,
  Marker,
  Matrix,
  ParamKey,
  Snapshot,
  TaskData,
  WeightsSnapshot,
} from '../../src/worker/protocol';

export interface FixtureOptions {
  /** Hidden units of a recurrent net (ignored when `layers` has more than one block). */
  n?: number;
  /** Hidden block sizes; more than one block makes a layered net (masked W, U, D). */
  layers?: number[];
  /** Inputs and outputs (the circle task forces m = k = 2). */
  m?: number;
  k?: number;
  /** 'circle' (2-D classification, cross-entropy) or 'pattern' (regression, mse). */
  task?: 'circle' | 'pattern';
  seed?: number;
  /** Weight gain of W (spectral radius roughly ≤ gain). */
  gain?: number;
  /** Euler steps of the free phase, then of the controlled phase (0: control never on). */
  freeSteps?: number;
  controlSteps?: number;
  dt?: number;
  alpha?: number;
  ki?: number;
  kp?: number;
  /** Learning-curve points (0 for none). */
  learningPoints?: number;
  /** Include Q (n×k), B (n×n) and F (n×k) in the weights. */
  feedback?: boolean;
  /** Weights version; lastUpdate/appliedStep are present unless `update` is false. */
  version?: number;
  update?: boolean;
  generation?: number;
}

const tanh = Math.tanh;
const dtanh = (v: number) => 1 - Math.tanh(v) ** 2;

function gaussian(rng: Rng, rows: number, cols: number, std: number, mask?: Float32Array): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    const v = std * rng.normal();
    data[i] = mask && mask[i] === 0 ? 0 : v;
  }
  return { rows, cols, data };
}

function scale(a: Matrix, s: number): Matrix {
  return { rows: a.rows, cols: a.cols, data: a.data.map((v) => v * s) };
}

/** Masks of a layered net (as the engine's layeredMasks), or null for a recurrent one. */
function masks(layers: number[], m: number, k: number) {
  if (layers.length < 2) return null;
  const n = layers.reduce((a, b) => a + b, 0);
  const offsets: number[] = [];
  let o = 0;
  for (const size of layers) {
    offsets.push(o);
    o += size;
  }
  const W = new Float32Array(n * n);
  for (let l = 0; l + 1 < layers.length; l++)
    for (let i = 0; i < layers[l + 1]; i++)
      for (let j = 0; j < layers[l]; j++) W[(offsets[l + 1] + i) * n + offsets[l] + j] = 1;
  const U = new Float32Array(n * m);
  for (let i = 0; i < layers[0]; i++) for (let j = 0; j < m; j++) U[i * m + j] = 1;
  const D = new Float32Array(k * n);
  const last = layers.length - 1;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < layers[last]; j++) D[i * n + offsets[last] + j] = 1;
  return { W, U, D };
}

/** Task data as the worker sends it on reset. */
export function fixtureTask(task: 'circle' | 'pattern', m: number, k: number, seed = 1): TaskData {
  const rng = new Rng(seed, 'fixture-task');
  if (task === 'circle') {
    const ds = planeDataset('circle', 200, 100, 0.1, rng);
    return {
      task: 'circle',
      m: 2,
      k: 2,
      classification: true,
      image: null,
      trainX: ds.train.x,
      trainY: Float32Array.from(ds.train.labels ?? []),
      testX: ds.test.x,
      testY: Float32Array.from(ds.test.labels ?? []),
    };
  }
  const x = gaussian(rng, 1, m, 1).data;
  const t = new Float32Array(k).map(() => 1.6 * rng.uniform() - 0.8);
  return {
    task: 'pattern',
    m,
    k,
    classification: false,
    image: null,
    trainX: x,
    trainY: t,
    testX: x.slice(),
    testY: t.slice(),
  };
}

/** Learning curves that look like a run: loss and control decay, accuracy rises. */
export function fixtureLearning(count: number, classification: boolean, seed = 1): LearningPoint[] {
  const rng = new Rng(seed, 'fixture-learning');
  const points: LearningPoint[] = [];
  for (let i = 0; i < count; i++) {
    const noise = () => 0.02 * rng.normal();
    const p: LearningPoint = {
      update: i + 1,
      epoch: Math.floor(i / 10),
      loss: 0.7 * Math.exp(-i / 15) + 0.05 + Math.abs(noise()),
      accuracy: classification ? Math.min(1, 0.5 + 0.48 * (1 - Math.exp(-i / 10)) + noise()) : null,
      control: 0.3 * Math.exp(-i / 12) + 1e-3,
      cosine: i % 5 === 0 ? NaN : 0.9 + noise(),
      cosineReliable: true,
    };
    if ((i + 1) % 10 === 0) {
      p.testLoss = p.loss * 1.1;
      p.testAccuracy = classification ? Math.max(0, (p.accuracy ?? 0) - 0.03) : null;
    }
    points.push(p);
  }
  return points;
}

/** A plausible, deterministic snapshot-bus state (see FixtureOptions for the knobs). */
export function fixtureSimView(options: FixtureOptions = {}): SimView {
  const seed = options.seed ?? 1;
  const taskName = options.task ?? 'circle';
  const m = taskName === 'circle' ? 2 : (options.m ?? 4);
  const k = taskName === 'circle' ? 2 : (options.k ?? 2);
  const layers =
    options.layers && options.layers.length > 1
      ? options.layers
      : [options.n ?? options.layers?.[0] ?? 6];
  const n = layers.reduce((a, b) => a + b, 0);
  const classification = taskName === 'circle';
  const dt = options.dt ?? 0.2;
  const alpha = options.alpha ?? 1;
  const ki = options.ki ?? 1;
  const kp = options.kp ?? 0;
  const freeSteps = options.freeSteps ?? 60;
  const controlSteps = options.controlSteps ?? 90;
  const rng = new Rng(seed, 'fixture');

  // Parameters (row = postsynaptic unit), masked for layered nets.
  const mk = masks(layers, m, k);
  const fanW = mk ? Math.max(...layers) : n;
  const W = gaussian(rng.stream('W'), n, n, (options.gain ?? 0.9) / Math.sqrt(fanW), mk?.W);
  const U = gaussian(rng.stream('U'), n, m, 1 / Math.sqrt(m), mk?.U);
  const b = gaussian(rng.stream('b'), n, 1, 0.1);
  b.cols = 1;
  const D = gaussian(rng.stream('D'), k, n, 1 / Math.sqrt(layers[layers.length - 1]), mk?.D);
  const d = { rows: k, cols: 1, data: new Float32Array(k) };

  // The sample: the first training point of the task.
  const task = fixtureTask(taskName, m, k, seed);
  const x = Float64Array.from(task.trainX.subarray(0, m));
  const target = new Float64Array(k);
  if (classification) target[task.trainY[0]] = 1;
  else target.set(task.trainY.subarray(0, k));

  // State and explicit Euler integration (free, then dynamic inversion).
  const phi = new Float64Array(n);
  const y = new Float64Array(k);
  const psi = new Float64Array(n);
  const uI = new Float64Array(k);
  const u = new Float64Array(k);
  const drive = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b.data[i];
    for (let j = 0; j < m; j++) s += U.data[i * m + j] * x[j];
    drive[i] = s;
  }
  const lossGrad = (out: Float64Array): Float64Array => {
    if (!classification) return out.map((v, i) => v - target[i]);
    const mx = Math.max(...out);
    const e = out.map((v) => Math.exp(v - mx));
    const z = e.reduce((a, v) => a + v, 0);
    return e.map((v, i) => v / z - target[i]);
  };
  const lossOf = (out: Float64Array): number => {
    if (!classification) return 0.5 * out.reduce((a, v, i) => a + (v - target[i]) ** 2, 0);
    const mx = Math.max(...out);
    const z = out.reduce((a, v) => a + Math.exp(v - mx), 0);
    const c = target.indexOf(1);
    return -(out[c] - mx - Math.log(z));
  };
  const traces: TracePoint[] = [];
  const units = Math.min(TRACE_UNITS, n);
  const record = (t: number) =>
    traces.push({
      t,
      step: traces.length,
      phi: Float32Array.from(phi.subarray(0, units)),
      psi: Float32Array.from(psi.subarray(0, units)),
      y: Float32Array.from(y),
      u: Float32Array.from(u),
      target: Float32Array.from(target),
    });
  let t = 0;
  let residual = 0;
  let freePhi: Float64Array | null = null;
  record(t);
  for (let step = 0; step < freeSteps + controlSteps; step++) {
    const control = step >= freeSteps;
    if (control && !freePhi) freePhi = phi.slice();
    const r = phi.map(tanh);
    const dphi = new Float64Array(n);
    const dy = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      let s = -phi[i] + drive[i] + (control ? psi[i] : 0);
      for (let j = 0; j < n; j++) s += W.data[i * n + j] * r[j];
      dphi[i] = s;
    }
    for (let i = 0; i < k; i++) {
      let s = -y[i] + d.data[i] + (control ? u[i] : 0);
      for (let j = 0; j < n; j++) s += D.data[i * n + j] * r[j];
      dy[i] = s;
    }
    if (control) {
      const g = lossGrad(y);
      const dpsi = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += W.data[i * n + j] * psi[i];
        for (let i = 0; i < k; i++) s += D.data[i * n + j] * u[i];
        dpsi[j] = -psi[j] + dtanh(phi[j]) * s;
      }
      for (let i = 0; i < k; i++) uI[i] += dt * (-g[i] - alpha * uI[i]);
      for (let j = 0; j < n; j++) psi[j] += dt * dpsi[j];
      for (let i = 0; i < k; i++) u[i] = ki * uI[i] - kp * g[i];
    }
    residual = 0;
    for (let i = 0; i < n; i++) {
      phi[i] += dt * dphi[i];
      residual = Math.max(residual, Math.abs(dphi[i]));
    }
    for (let i = 0; i < k; i++) y[i] += dt * dy[i];
    t = Math.round((step + 1) * dt * 1e6) / 1e6;
    record(t);
  }
  const phi0 = freePhi ?? phi.slice();
  const control = controlSteps > 0;
  const rate = phi.map(tanh);

  // Loss at the free equilibrium: y⁰ = Dρ(φ⁰) + d.
  const y0 = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = d.data[i];
    for (let j = 0; j < n; j++) s += D.data[i * n + j] * tanh(phi0[j]);
    y0[i] = s;
  }
  // Spectral radius of W diag(ρ'(φ⁰)) by power iteration.
  let v = new Float64Array(n).fill(1 / Math.sqrt(n));
  let radius = 0;
  for (let it = 0; it < 60; it++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) w[i] += W.data[i * n + j] * dtanh(phi0[j]) * v[j];
    const norm = Math.hypot(...w);
    radius = norm;
    if (norm === 0) break;
    v = w.map((e) => e / norm);
  }
  const half = (a: Float64Array) => 0.5 * a.reduce((s, e) => s + e * e, 0);

  // The LCP update at the final (controlled) state, masked, and an SGD step of 0.05 of it.
  const outer = (left: Float64Array, right: Float64Array, mask?: Float32Array): Matrix => {
    const data = new Float32Array(left.length * right.length);
    for (let i = 0; i < left.length; i++)
      for (let j = 0; j < right.length; j++) {
        const idx = i * right.length + j;
        data[idx] = mask && mask[idx] === 0 ? 0 : left[i] * right[j];
      }
    return { rows: left.length, cols: right.length, data };
  };
  const col = (a: Float64Array): Matrix => ({
    rows: a.length,
    cols: 1,
    data: Float32Array.from(a),
  });
  const lastUpdate: Partial<Record<ParamKey, Matrix>> = {
    W: outer(psi, rate, mk?.W),
    U: outer(psi, x, mk?.U),
    b: col(psi),
    D: outer(u, rate, mk?.D),
    d: col(u),
  };
  const appliedStep: Partial<Record<ParamKey, Matrix>> = {};
  for (const [key, value] of Object.entries(lastUpdate) as [ParamKey, Matrix][])
    appliedStep[key] = scale(value, 0.05);

  const params: Partial<Record<ParamKey, Matrix>> = { W, U, b, D, d };
  if (options.feedback) {
    params.Q = gaussian(rng.stream('Q'), n, k, 1 / Math.sqrt(k));
    const Bm = gaussian(rng.stream('B'), n, n, 0.05);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Bm.data[i * n + j] += W.data[j * n + i];
    params.B = Bm;
    params.F = gaussian(rng.stream('F'), n, k, 1 / Math.sqrt(k * n));
  }
  const withUpdate = options.update ?? true;
  const weights: WeightsSnapshot = {
    version: options.version ?? 7,
    params,
    lastUpdate: withUpdate ? lastUpdate : null,
    appliedStep: withUpdate ? appliedStep : null,
    lastUpdateAt: null,
    maskW: mk ? mk.W : null,
    layers: layers.slice(),
  };

  const tOn = Math.round(freeSteps * dt * 1e6) / 1e6;
  const markers: Marker[] = [{ t: 0, kind: 'sample' }];
  if (control) markers.push({ t: tOn, kind: 'control-on' }, { t, kind: 'update' });
  const learning = fixtureLearning(options.learningPoints ?? 40, classification, seed);
  const latest: Snapshot = {
    seq: freeSteps + controlSteps,
    t,
    step: freeSteps + controlSteps,
    phase: control ? 'controlled' : 'free',
    control,
    playing: false,
    acked: { play: 0, control: 0 },
    n,
    m,
    k,
    sample: 0,
    epoch: learning.length ? learning[learning.length - 1].epoch : 0,
    updates: learning.length,
    phi: Float32Array.from(phi),
    rate: Float32Array.from(rate),
    psi: Float32Array.from(psi),
    y: Float32Array.from(y),
    u: Float32Array.from(u),
    x: Float32Array.from(x),
    target: Float32Array.from(target),
    freePhi: Float32Array.from(phi0),
    metrics: {
      scope: 'sample',
      loss: lossOf(y0),
      controlPsi: control ? half(psi) : NaN,
      controlU: control ? half(u) : NaN,
      spectralRadius: radius,
      residual,
      settled: residual < 1e-3,
      cosine: learning.length ? 0.93 : NaN,
      displacement: Math.hypot(...phi.map((e, i) => e - phi0[i])),
      freeSteps,
    },
    weights,
    learning: [],
    trace: [],
    markers: [],
    busy: null,
  };
  return {
    latest,
    traces,
    learning,
    markers,
    weights,
    task,
    generation: options.generation ?? 1,
    awaitingBuild: false,
  };
}
