/**
 * The interactive simulation the worker runs: one network, its data, the current sample's
 * dynamic state, and the actions of the app (step, equilibrium, control, learn, train, edit).
 * Pure TypeScript on tfjs, no DOM: the worker owns one, tests drive one directly.
 */
import { rate } from './activations';
import { FIELDS, parseConfig, type ConfigKey, type TrainConfig } from './config';
import {
  disposeState,
  eulerStep,
  presentation,
  zeroState,
  type DynState,
  type Presentation,
} from './dynamics';
import { DivergenceError } from './errors';
import { controlsAt } from './learning';
import { lossPerSample } from './losses';
import { meanHalfSquaredNorm, stabilityRadius } from './metrics';
import type { ParamName } from './model';
import type { Direction } from './optimizer';
import { seededStreams } from './rng';
import { blockResiduals, BLOWUP_RMS } from './solver';
import { createDataset, type Dataset } from './tasks';
import type { MnistData } from './tasks/mnistData';
import {
  divergenceReason,
  fusedSteps,
  hasFusedKernel,
  packState,
  residualOf,
  STAT,
  STATUS,
  unpackState,
} from './kernels';
import { readFloats, tf, type Tensor } from './tf';
import { controllerSettings } from './init';
import { Trainer, type BatchResult } from './trainer';

export type SimPhase = 'idle' | 'free' | 'controlled' | 'updating' | 'training';

export interface MatrixData {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** What the status bar and views read about the current sample. */
export interface SimMetrics {
  /** Loss at the free equilibrium of the current sample (NaN before the first relaxation). */
  loss: number;
  /** ½‖ψ*‖² of the last controlled equilibrium (NaN before the first one). */
  controlPsi: number;
  /** ½‖u*‖² of the last controlled equilibrium. */
  controlU: number;
  /** ρ(W diag ρ′(φ⁰)) at the last free equilibrium. */
  spectralRadius: number;
  /** Largest relative change per unit time of the last step (the stopping rule's residual). */
  residual: number;
  /** Has the current mode's dynamics settled? */
  settled: boolean;
  /** Cosine of the last LCP update with −∇L on its batch (NaN until measured). */
  cosine: number;
  /** ‖φ* − φ⁰‖ of the last controlled equilibrium. */
  displacement: number;
}

/** Everything needed to continue a run on another backend (plain arrays, no tensors). */
export interface Checkpoint {
  params: Partial<Record<ParamName, MatrixData>>;
  state: { phi: Float32Array; y: Float32Array; uI: Float32Array; psi: Float32Array };
  sample: number;
  t: number;
  step: number;
  control: boolean;
  updates: number;
  epoch: number;
}

/** One point of the learning curves, appended after every update. */
export interface LearningPoint {
  update: number;
  epoch: number;
  /** Loss and accuracy at the free equilibrium of the batch, before its update. */
  loss: number;
  accuracy: number | null;
  /** ½‖ψ*‖² + ½‖u*‖² of the batch (0 for RBP). */
  control: number;
  /** Cosine of the update with −∇L (NaN when not measured for this point). */
  cosine: number;
  testLoss?: number;
  testAccuracy?: number | null;
}

export type MarkerKind = 'control-on' | 'control-off' | 'update' | 'sample';

export interface SimMarker {
  t: number;
  kind: MarkerKind;
}

/** Networks with at most this many hidden units × batch get a −∇L cosine on every update. */
const COSINE_EVERY_UPDATE = 4096;

/** Fields whose change needs a new network or new data (all others apply live). */
export function needsRebuild(before: TrainConfig, after: TrainConfig): boolean {
  return (Object.keys(FIELDS) as ConfigKey[]).some(
    (k) => !FIELDS[k].live && JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
}

export class Simulation {
  config: TrainConfig;
  data!: Dataset;
  trainer!: Trainer;
  /** Index of the current sample in the training split. */
  sample = 0;
  control = false;
  phase: SimPhase = 'idle';
  t = 0;
  step = 0;
  weightsVersion = 0;
  metrics: SimMetrics = emptyMetrics();
  lastUpdate: Partial<Record<ParamName, MatrixData>> | null = null;
  appliedStep: Partial<Record<ParamName, MatrixData>> | null = null;
  freePhi: Float32Array | null = null;
  /** Points and markers produced since the caller last took them. */
  pendingLearning: LearningPoint[] = [];
  pendingMarkers: SimMarker[] = [];
  private state!: DynState;
  private p!: Presentation;
  private order: Uint32Array = new Uint32Array(0);
  private orderPos = 0;

  constructor(
    config: TrainConfig,
    private readonly mnist?: MnistData,
  ) {
    this.config = parseConfig(config);
    this.build();
  }

  private build(): void {
    const streams = seededStreams(this.config.seed);
    this.data = createDataset(this.config, streams.stream('data'), this.mnist);
    this.trainer = new Trainer(this.config, this.data, {
      init: streams.stream('init'),
      order: streams.stream('order'),
      noise: streams.stream('noise'),
    });
    this.trainer.updateObserver = (direction, applied) => {
      this.lastUpdate = readParams(direction);
      this.appliedStep = readParams(applied);
    };
    this.sample = 0;
    this.orderPos = 0;
    this.order = new Uint32Array(0);
    this.weightsVersion++;
    this.lastUpdate = null;
    this.appliedStep = null;
    this.present(0);
  }

  /** Replace the configuration: live fields apply at once, others rebuild (same seed). */
  configure(next: TrainConfig): 'live' | 'rebuilt' {
    const parsed = parseConfig(next);
    const rebuild = needsRebuild(this.config, parsed);
    if (rebuild) {
      this.dispose();
      this.config = parsed;
      this.build();
      return 'rebuilt';
    }
    this.config = parsed;
    // The trainer reads its settings from its own config: give it the live values too.
    Object.assign(this.trainer.config, parsed);
    Object.assign(this.trainer.ctrl, controllerSettings(parsed));
    return 'live';
  }

  /** Start over with the same configuration (and optionally another seed). */
  reset(seed?: number): void {
    this.dispose();
    if (seed !== undefined) this.config = { ...this.config, seed };
    this.control = false;
    this.build();
  }

  get n(): number {
    return this.trainer.net.n;
  }

  /** The current sample's presentation (drive U x + b and target) and state, for field maps. */
  get presentation(): Presentation {
    return this.p;
  }

  get dynState(): DynState {
    return this.state;
  }

  /** Show sample `index` of the training split from the zero state. */
  present(index: number): void {
    if (this.p) tf.dispose([this.p.x, this.p.target, this.p.drive]);
    if (this.state) disposeState(this.state);
    this.sample = index % this.data.train.count;
    const { m, k } = this.data;
    const x = tf.tensor2d(this.data.train.x.slice(this.sample * m, (this.sample + 1) * m), [1, m]);
    const target = tf.tensor2d(
      this.data.train.target.slice(this.sample * k, (this.sample + 1) * k),
      [1, k],
    );
    this.p = presentation(this.trainer.net, x, target, this.data.loss);
    this.state = zeroState(1, this.n, k);
    this.t = 0;
    this.phase = 'idle';
    this.metrics = { ...this.metrics, residual: NaN, settled: false };
    this.pendingMarkers.push({ t: 0, kind: 'sample' });
    this.refreshFree();
  }

  /** The next sample in a seeded order (the same order Train uses). */
  nextSample(): void {
    this.present(this.nextIndex());
  }

  private nextIndex(): number {
    if (this.orderPos >= this.order.length) {
      this.order = this.trainer.streams.order.permutation(this.data.train.count);
      this.orderPos = 0;
    }
    return this.order[this.orderPos++];
  }

  /** The free equilibrium of the current sample (not shown; for loss, ρ and ‖φ* − φ⁰‖). */
  private refreshFree(): void {
    try {
      const free = this.trainer.freeEquilibrium(this.p, this.trainer.solver);
      const loss = lossPerSample(this.p.loss, free.state.y, this.p.target);
      this.freePhi = readFloats(free.state.phi);
      this.metrics.loss = loss.dataSync()[0];
      this.metrics.spectralRadius = stabilityRadius(
        this.trainer.net.params.W,
        this.freePhi,
        this.trainer.net.activation,
      );
      loss.dispose();
      disposeState(free.state);
    } catch (e) {
      if (!(e instanceof DivergenceError)) throw e;
      this.freePhi = null;
      this.metrics.loss = NaN;
      this.metrics.spectralRadius = NaN;
    }
  }

  setControl(on: boolean): void {
    if (on === this.control) return;
    this.control = on;
    this.pendingMarkers.push({ t: this.t, kind: on ? 'control-on' : 'control-off' });
    if (!on) {
      // Without control there is no ψ or u: the integrator and the inversion state start afresh.
      const { uI, psi } = this.state;
      this.state = { ...this.state, uI: tf.zerosLike(uI), psi: tf.zerosLike(psi) };
      tf.dispose([uI, psi]);
    }
    this.metrics.settled = false;
  }

  /**
   * Advance `steps` Euler steps in the current mode (free or controlled). On divergence the
   * state before the failing chunk is kept and a DivergenceError is thrown.
   */
  advance(steps: number): void {
    if (steps <= 0) return;
    const controlled = this.control;
    this.phase = controlled ? 'controlled' : 'free';
    const dt = this.config.dt;
    const next = hasFusedKernel()
      ? this.fusedChunk(steps, controlled)
      : this.unfusedChunk(steps, controlled);
    if (!Number.isFinite(next.residual) || next.diverged) {
      if (next.state !== this.state) disposeState(next.state);
      this.metrics.settled = false;
      throw new DivergenceError(
        this.phase,
        this.step + steps,
        next.diverged ?? 'non-finite values',
      );
    }
    this.metrics.residual = next.residual;
    this.metrics.settled = next.residual <= this.config.tol;
    const s = next.state;
    disposeState(this.state);
    this.state = s;
    this.t += steps * dt;
    this.step += steps;
    if (controlled && this.metrics.settled) this.recordControl();
  }

  /**
   * `steps` steps in one fused dispatch from the current state; the kernel's stats give the last
   * step's residual (and any divergence, in which case the current state stays).
   */
  private fusedChunk(
    steps: number,
    controlled: boolean,
  ): { state: DynState; residual: number; diverged: string | null } {
    const { net, ctrl } = this.trainer;
    const packed = packState(this.state);
    const out = fusedSteps(net, ctrl, this.config.dt, this.p, packed, controlled, {
      steps,
      tol: -1,
    });
    const st = out.stats.dataSync();
    const status = st[STAT.status];
    const sizes = [net.n, net.k, net.k, net.n];
    const { residual, rms } =
      status === STATUS.notEvaluated
        ? residualOf(st, STAT.sums, sizes, this.config.dt)
        : { residual: st[STAT.residual], rms: st[STAT.rms] };
    const diverged = divergenceOf(
      status === STATUS.nonFinite ? NaN : residual,
      status === STATUS.blowUp ? Infinity : rms,
    );
    const state = diverged ? this.state : unpackState(out.state, net.n, net.k);
    tf.dispose([packed, out.state, out.stats]);
    return { state, residual, diverged };
  }

  /** The unfused reference (backends without the kernel): one eulerStep at a time. */
  private unfusedChunk(
    steps: number,
    controlled: boolean,
  ): { state: DynState; residual: number; diverged: string | null } {
    const { net, ctrl } = this.trainer;
    const dt = this.config.dt;
    let s = this.state;
    let r = { residual: NaN, rms: NaN };
    for (let i = 0; i < steps; i++) {
      const next = eulerStep(net, ctrl, dt, this.p, s, controlled);
      if (i === steps - 1) r = blockResiduals(s, next, dt);
      if (s !== this.state) disposeState(s);
      s = next;
    }
    const diverged = !Number.isFinite(r.residual)
      ? 'non-finite values'
      : r.rms > BLOWUP_RMS
        ? 'the state blew up'
        : null;
    return { state: s, residual: r.residual, diverged };
  }

  /** ½‖ψ*‖², ½‖u*‖² and ‖φ* − φ⁰‖ at the current (settled) controlled state. */
  private recordControl(): void {
    const c = controlsAt(this.trainer.net, this.trainer.ctrl, this.p, this.state);
    this.metrics.controlPsi = meanHalfSquaredNorm(c.psi);
    this.metrics.controlU = meanHalfSquaredNorm(c.u);
    if (this.freePhi) {
      const phi = this.state.phi.dataSync();
      let d = 0;
      for (let i = 0; i < phi.length; i++) d += (phi[i] - this.freePhi[i]) ** 2;
      this.metrics.displacement = Math.sqrt(d);
    }
    tf.dispose([c.u, c.psi]);
  }

  /** Run the current mode until it settles (or maxSteps); returns the steps taken. */
  equilibrium(chunk = 50): number {
    let taken = 0;
    while (taken < this.config.maxSteps) {
      const n = Math.min(chunk, this.config.maxSteps - taken);
      this.advance(n);
      taken += n;
      if (this.metrics.settled) break;
    }
    return taken;
  }

  /**
   * Learn: relax → control → update on the current sample (batch = 1) or on a batch that starts
   * with it, then present the next sample. Returns the learning-curve point.
   */
  learn(): LearningPoint {
    this.phase = 'updating';
    const indices = [this.sample];
    while (indices.length < Math.min(this.config.batch, this.data.train.count))
      indices.push(this.nextIndex());
    const { r, point } = this.update(indices, this.n * indices.length <= COSINE_EVERY_UPDATE);
    this.metrics.cosine = r.cosine;
    this.metrics.controlPsi = r.controlPsi;
    this.metrics.controlU = r.control - r.controlPsi;
    this.pendingLearning.push(point);
    this.pendingMarkers.push({ t: this.t, kind: 'update' });
    return point;
  }

  /** One trainer update on these training samples, and its learning-curve point. */
  private update(
    indices: number[],
    measureCosine: boolean,
  ): { r: BatchResult; point: LearningPoint } {
    const r = this.trainer.trainBatch(indices, measureCosine);
    this.weightsVersion++;
    const point: LearningPoint = {
      update: this.trainer.updates,
      epoch: this.trainer.epoch,
      loss: r.loss,
      accuracy: this.data.classification ? r.accuracy : null,
      control: r.control,
      cosine: r.cosine,
    };
    return { r, point };
  }

  /** After an update: the network changed, so the current sample's free equilibrium did too. */
  afterUpdate(advance: boolean): void {
    if (advance && this.data.train.count > 1) this.nextSample();
    else this.present(this.sample);
  }

  /** One Train step: an update on the next batch of the seeded order. */
  trainStep(): LearningPoint {
    this.phase = 'training';
    const B = Math.min(this.config.batch, this.data.train.count);
    const indices = Array.from({ length: B }, () => this.nextIndex());
    const measure = this.trainer.updates % 10 === 0 || this.n * B <= COSINE_EVERY_UPDATE;
    const { point } = this.update(indices, measure);
    if (this.trainer.updates % this.trainer.batchesPerEpoch === 0) {
      this.trainer.epoch++;
      const test = this.trainer.evaluate(this.data.test);
      point.testLoss = test.loss;
      point.testAccuracy = this.data.classification ? test.accuracy : null;
    }
    this.pendingLearning.push(point);
    return point;
  }

  /** Hand edits: a weight, an input or a target of the current sample. */
  editParam(name: ParamName, row: number, col: number, value: number): void {
    const t = this.trainer.net.params[name];
    if (!t || !Number.isFinite(value)) return;
    const values = t.dataSync().slice();
    const cols = t.shape.length === 2 ? t.shape[1] : 1;
    const i = t.shape.length === 2 ? row * cols + col : row;
    if (i < 0 || i >= values.length) return;
    values[i] = value;
    this.trainer.net.params[name] = tf.tensor(values, t.shape);
    t.dispose();
    this.weightsVersion++;
    this.refreshPresentation();
  }

  editSample(which: 'input' | 'target', index: number, value: number): void {
    if (!Number.isFinite(value)) return;
    const split = this.data.train;
    const size = which === 'input' ? this.data.m : this.data.k;
    if (index < 0 || index >= size) return;
    const arr = which === 'input' ? split.x : split.target;
    arr[this.sample * size + index] = value;
    this.refreshPresentation();
  }

  /** Rebuild the presentation (drive U x + b, target) keeping the dynamic state. */
  private refreshPresentation(): void {
    const { m, k } = this.data;
    tf.dispose([this.p.x, this.p.target, this.p.drive]);
    const x = tf.tensor2d(this.data.train.x.slice(this.sample * m, (this.sample + 1) * m), [1, m]);
    const target = tf.tensor2d(
      this.data.train.target.slice(this.sample * k, (this.sample + 1) * k),
      [1, k],
    );
    this.p = presentation(this.trainer.net, x, target, this.data.loss);
    this.metrics.settled = false;
    this.refreshFree();
  }

  /** Arrays of the current sample's state for a snapshot. */
  read(): {
    phi: Float32Array;
    rate: Float32Array;
    psi: Float32Array;
    y: Float32Array;
    u: Float32Array;
    x: Float32Array;
    target: Float32Array;
  } {
    // Without control there is no ψ or u to compute (this runs for every snapshot).
    const c = this.control
      ? controlsAt(this.trainer.net, this.trainer.ctrl, this.p, this.state)
      : null;
    const r = rate(this.trainer.net.activation, this.state.phi);
    const out = {
      phi: readFloats(this.state.phi),
      rate: readFloats(r),
      psi: c ? readFloats(c.psi) : new Float32Array(this.n),
      y: readFloats(this.state.y),
      u: c ? readFloats(c.u) : new Float32Array(this.data.k),
      x: readFloats(this.p.x),
      target: readFloats(this.p.target),
    };
    tf.dispose(c ? [c.u, c.psi, r] : [r]);
    return out;
  }

  /** Copy the dynamic state (and the given parameter arrays) to a checkpoint. */
  captureCheckpoint(params: Partial<Record<ParamName, MatrixData>>): Checkpoint {
    const st = this.state;
    return {
      params,
      state: {
        phi: readFloats(st.phi),
        y: readFloats(st.y),
        uI: readFloats(st.uI),
        psi: readFloats(st.psi),
      },
      sample: this.sample,
      t: this.t,
      step: this.step,
      control: this.control,
      updates: this.trainer.updates,
      epoch: this.trainer.epoch,
    };
  }

  /** Continue from a checkpoint taken on another backend (the optimiser's moments restart). */
  restoreCheckpoint(cp: Checkpoint): void {
    for (const [name, m] of Object.entries(cp.params) as [ParamName, MatrixData][]) {
      const old = this.trainer.net.params[name];
      if (!old) continue;
      this.trainer.net.params[name] = tf.tensor(m.data, old.shape);
      old.dispose();
    }
    this.present(cp.sample);
    const k = this.data.k;
    disposeState(this.state);
    this.state = {
      phi: tf.tensor2d(cp.state.phi, [1, this.n]),
      y: tf.tensor2d(cp.state.y, [1, k]),
      uI: tf.tensor2d(cp.state.uI, [1, k]),
      psi: tf.tensor2d(cp.state.psi, [1, this.n]),
    };
    this.t = cp.t;
    this.step = cp.step;
    this.control = cp.control;
    this.trainer.updates = cp.updates;
    this.trainer.epoch = cp.epoch;
    this.weightsVersion++;
  }

  /** The network's parameters as arrays. */
  readWeights(): Partial<Record<ParamName, MatrixData>> {
    return readParams(this.trainer.net.params as Direction);
  }

  dispose(): void {
    if (this.p) tf.dispose([this.p.x, this.p.target, this.p.drive]);
    if (this.state) disposeState(this.state);
    this.trainer?.dispose();
  }
}

/** The solver's divergence message for a step's residual and RMS, or null when it is fine. */
function divergenceOf(residual: number, rms: number): string | null {
  if (!Number.isFinite(residual)) return divergenceReason(STATUS.nonFinite, rms);
  return rms > BLOWUP_RMS ? divergenceReason(STATUS.blowUp, rms) : null;
}

function emptyMetrics(): SimMetrics {
  return {
    loss: NaN,
    controlPsi: NaN,
    controlU: NaN,
    spectralRadius: NaN,
    residual: NaN,
    settled: false,
    cosine: NaN,
    displacement: NaN,
  };
}

/** Copy tensors to arrays with their shapes ([n] vectors become n×1). */
export function readParams(set: Direction): Partial<Record<ParamName, MatrixData>> {
  const out: Partial<Record<ParamName, MatrixData>> = {};
  for (const [name, t] of Object.entries(set) as [ParamName, Tensor | undefined][]) {
    if (!t) continue;
    out[name] = {
      rows: t.shape[0] ?? 1,
      cols: t.shape.length === 2 ? t.shape[1] : 1,
      data: readFloats(t),
    };
  }
  return out;
}
