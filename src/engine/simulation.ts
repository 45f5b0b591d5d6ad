/**
 * The interactive simulation the worker runs: one network, its data, the current sample's
 * dynamic state, and the actions of the app (step, equilibrium, control, learn, train, edit).
 * Pure TypeScript on tfjs, no DOM: the worker owns one, tests drive one directly.
 *
 * Every action that can take long has a sliced form (…Sliced, see sliced.ts) that the worker runs
 * a piece at a time, so that it can show progress and stop between pieces; the plain methods run
 * them to the end (tests, scripts).
 */
import { confusionMatrix, type TestEvaluation } from './digits';
import { rate } from './activations';
import { INPUT_LIMIT, needsRebuild, parseConfig, type TrainConfig } from './config';
import {
  disposeState,
  eulerStep,
  presentation,
  zeroState,
  type DynState,
  type Presentation,
} from './dynamics';
import { DivergenceError, InputError } from './errors';
import { feedbackAngles, linearFeedbackAlignment } from './feedback';
import { controlsAt } from './learning';
import { lossPerSample } from './losses';
import { meanHalfSquaredNorm, stabilityRadiusSliced } from './metrics';
import type { ParamName } from './model';
import type { Direction } from './optimizer';
import { seededStreams } from './rng';
import { drain, type Sliced } from './sliced';
import { blockResiduals, BLOWUP_RMS, usesFusedPath } from './solver';
import { createDataset, type Dataset } from './tasks';
import type { MnistData } from './tasks/mnistData';
import {
  divergenceReason,
  fusedSteps,
  packState,
  residualOf,
  STAT,
  STATUS,
  unpackState,
} from './kernels';
import { readFloats, tf, type Tensor } from './tf';
import { TRACE_UNITS, type TraceSample } from './trace';

export type { TraceSample } from './trace';
import { initNetworkSliced } from './init';
import { Trainer, TrainingDivergence, type BatchResult, type UpdateOrigin } from './trainer';

export type SimPhase = 'idle' | 'free' | 'controlled' | 'updating' | 'training';

export interface MatrixData {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * What the status bar and views read. `scope` says what the numbers describe: the current
 * sample (its free equilibrium φ⁰, y⁰ and its last controlled one φ*), or, while training, the
 * mean over the last batch.
 */
export interface SimMetrics {
  scope: 'sample' | 'batch';
  /** L(y⁰): the loss at the free equilibrium (NaN when there is none). */
  loss: number;
  /** ½‖ψ*‖² at the last controlled equilibrium (NaN before there is one). */
  controlPsi: number;
  /** ½‖u*‖² at the last controlled equilibrium. */
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
  /** Steps the last free solve took (backprop through time would keep that many states). */
  freeSteps: number;
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
  /**
   * False when the update is at the float32 noise of its solve (ψ* of RMS below
   * CONTROL_NOISE_RMS): its direction, and so its cosine, means nothing.
   */
  cosineReliable: boolean;
  testLoss?: number;
  testAccuracy?: number | null;
  /**
   * Linear feedback: cos(Q u*, M(φ*) u*) — how close ψ = Q u* comes to dynamic inversion's
   * control for the same u* — at the controlled equilibrium of the update's first sample, with
   * the weights (and Q) the update started from. NaN when not measured for this point; absent
   * for other controllers.
   */
  alignmentQ?: number;
  /**
   * Kolen–Pollack: the angle (degrees) between B and Wᵀ after the update, 0 when B = Wᵀ. NaN
   * when not measured for this point; absent for other controllers.
   */
  angleB?: number;
}

/** Trace samples kept for the caller (the worker takes them with every snapshot). */
const MAX_PENDING_TRACE = 20_000;

export type MarkerKind = 'control-on' | 'control-off' | 'update' | 'sample';

export interface SimMarker {
  t: number;
  kind: MarkerKind;
}

/** Networks with at most this many hidden units × batch get a −∇L cosine on every update. */
export const COSINE_EVERY_UPDATE = 4096;

/**
 * ψ* of RMS below this is float32 noise of a solve with O(1) states at tol ≈ 1e-6: the update's
 * direction (and its cosine with −∇L) is meaningless there.
 */
export const CONTROL_NOISE_RMS = 1e-5;

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
  /** The last update's direction and applied step, read back on first use (a snapshot). */
  private heldUpdate: { direction: Direction; applied: Direction } | null = null;
  private readUpdate: {
    direction: Partial<Record<ParamName, MatrixData>>;
    applied: Partial<Record<ParamName, MatrixData>>;
  } | null = null;
  /** The last LCP update's first sample at its controlled equilibrium (ψ*, φ*, ρ(φ*)). */
  lastUpdateAt: UpdateState | null = null;
  /** The current sample's free equilibrium φ⁰ (null until known, or where there is none). */
  freePhi: Float32Array | null = null;
  /** Points and markers produced since the caller last took them. */
  pendingLearning: LearningPoint[] = [];
  /** The test split's evaluation at the end of the last epoch, until the caller takes it. */
  pendingTestEvaluation: TestEvaluation | null = null;
  /** The last epoch whose test evaluation ran to its end. */
  private testedEpoch = 0;
  pendingMarkers: SimMarker[] = [];
  /** Trace samples taken since the caller last took them (see advance). */
  pendingTrace: TraceSample[] = [];
  /** t = tBase + (step − stepBase)·dt: the time of the sample's presentation (or of a dt change). */
  private tBase = 0;
  private stepBase = 0;
  /** Told of every successful advance (the worker's action log counts the steps). */
  onAdvance: ((steps: number) => void) | null = null;
  /** Milliseconds per Euler step of the current sample, measured (for slicing play). */
  msPerStep = 0.05;
  /** The last batch's first free φ while training (its ρ(W diag ρ′) is computed on demand). */
  private batchPhi0: Float32Array | null = null;
  private state!: DynState;
  private p!: Presentation;
  private order: Uint32Array = new Uint32Array(0);
  private orderPos = 0;

  /**
   * A simulation built at once (tests, scripts): network, data, sample 0 and its free
   * equilibrium (metrics stay NaN if it diverges). The worker uses Simulation.create instead.
   */
  constructor(
    config: TrainConfig,
    private readonly mnist?: MnistData,
    build = true,
  ) {
    this.config = parseConfig(config);
    if (!build) return;
    drain(this.buildSliced());
    try {
      drain(this.refreshSliced());
    } catch (e) {
      if (!(e instanceof DivergenceError)) throw e;
    }
  }

  /**
   * Build in slices: network and data, sample 0 presented from the zero state. The free
   * equilibrium is not computed: run refreshSliced next. Stopped early, nothing is left behind.
   */
  static *create(config: TrainConfig, mnist?: MnistData): Sliced<Simulation> {
    const sim = new Simulation(config, mnist, false);
    let built = false;
    try {
      yield* sim.buildSliced();
      built = true;
      return sim;
    } finally {
      if (!built) sim.dispose();
    }
  }

  private *buildSliced(): Sliced<void> {
    const streams = seededStreams(this.config.seed);
    this.data = createDataset(this.config, streams.stream('data'), this.mnist);
    const init = streams.stream('init');
    const net = yield* initNetworkSliced(this.config, this.data.m, this.data.k, init);
    this.trainer = new Trainer(
      this.config,
      this.data,
      { init, order: streams.stream('order'), noise: streams.stream('noise') },
      net,
    );
    this.trainer.updateObserver = (direction, applied, at) => {
      // Kept, not read: a snapshot reads the last one (Train 1 epoch makes hundreds between two).
      this.releaseHeldUpdate();
      const keep = (set: Direction): Direction => {
        const kept: Direction = {};
        for (const [name, t] of Object.entries(set) as [ParamName, Tensor | undefined][])
          if (t) kept[name] = tf.keep(t.clone());
        return kept;
      };
      this.heldUpdate = { direction: keep(direction), applied: keep(applied) };
      this.readUpdate = null;
      this.lastUpdateAt = at ? readUpdateState(this.trainer.net.activation, at) : null;
    };
    this.weightsVersion++;
    this.setPresentation(0);
  }

  /**
   * Apply a configuration that needs no rebuild (see needsRebuild): solver, controller (with the
   * feedback weights a new controller needs), optimiser. Returns false if it needs a rebuild.
   */
  configure(next: TrainConfig): boolean {
    const parsed = parseConfig(next);
    if (needsRebuild(this.config, parsed)) return false;
    const feedbackBefore = Object.keys(this.trainer.net.params).length;
    // A new dt counts from now: the time so far stays.
    this.tBase = this.t;
    this.stepBase = this.step;
    this.config = parsed;
    this.trainer.reconfigure(parsed);
    if (Object.keys(this.trainer.net.params).length !== feedbackBefore) this.weightsVersion++;
    this.metrics.settled = false;
    return true;
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

  /** Show sample `index` of the training split from the zero state (no free solve yet). */
  private setPresentation(index: number): void {
    if (this.p) tf.dispose([this.p.x, this.p.target, this.p.drive]);
    if (this.state) disposeState(this.state);
    this.sample = index % this.data.train.count;
    this.p = this.presentSample();
    this.state = zeroState(1, this.n, this.data.k);
    this.t = 0;
    this.tBase = 0;
    this.stepBase = this.step;
    this.phase = 'idle';
    this.freePhi = null;
    this.metrics = { ...this.metrics, scope: 'sample', residual: NaN, settled: false };
    this.pendingMarkers.push({ t: 0, kind: 'sample' });
  }

  /** A training sample (the current one by default) as a presentation (new tensors, owned by
   *  the caller). */
  private presentSample(index = this.sample): Presentation {
    const { m, k } = this.data;
    const x = tf.tensor2d(this.data.train.x.slice(index * m, (index + 1) * m), [1, m]);
    const target = tf.tensor2d(this.data.train.target.slice(index * k, (index + 1) * k), [1, k]);
    return presentation(this.trainer.net, x, target, this.data.loss);
  }

  /** Show sample `index` from the zero state, and find its free equilibrium. */
  present(index: number): void {
    drain(this.presentSliced(index));
  }

  *presentSliced(index: number): Sliced<void> {
    this.setPresentation(index);
    yield* this.refreshSliced();
  }

  /** The next sample in a seeded order (the same order Train uses). */
  nextSample(): void {
    drain(this.nextSampleSliced());
  }

  *nextSampleSliced(): Sliced<void> {
    yield* this.presentSliced(this.nextIndex());
  }

  private nextIndex(): number {
    if (this.orderPos >= this.order.length) this.nextEpochOrder();
    return this.order[this.orderPos++];
  }

  private nextEpochOrder(): void {
    this.order = this.trainer.streams.order.permutation(this.data.train.count);
    this.orderPos = 0;
  }

  /**
   * The current sample's equilibria, found in the background (they are not shown): the free one
   * φ⁰ gives L(y⁰), ρ(W diag ρ′); the controlled one gives ½‖ψ*‖², ½‖u*‖² and ‖φ* − φ⁰‖ — the
   * control this sample needs, whether or not control is on in the animation. It works on its
   * own copy of the presentation, so edits in between are safe. If the free solve diverges right
   * after an update, the update is rolled back (TrainingDivergence, with the metrics of the
   * restored weights); other divergences leave the metrics NaN and are thrown.
   */
  *refreshSliced(): Sliced<void> {
    const version = this.weightsVersion;
    const p = this.presentSample();
    const owned: Tensor[] = [p.x, p.target, p.drive];
    try {
      let free;
      try {
        free = yield* this.trainer.freeEquilibriumSliced(p, this.trainer.solver);
        try {
          this.trainer.checkSettledAfterUpdate(free);
        } catch (e) {
          disposeState(free.state);
          throw e;
        }
      } catch (e) {
        if (!(e instanceof DivergenceError)) throw e;
        this.metrics = { ...this.metrics, ...NO_EQUILIBRIUM, scope: 'sample' };
        this.freePhi = null;
        if (this.trainer.restoreLastGood()) {
          this.weightsVersion++;
          yield* this.refreshSliced();
          throw new TrainingDivergence(e, 1);
        }
        throw e;
      }
      owned.push(free.state.phi, free.state.y, free.state.uI, free.state.psi);
      const loss = lossPerSample(p.loss, free.state.y, p.target);
      owned.push(loss);
      const phi = readFloats(free.state.phi);
      const lossValue = loss.dataSync()[0];
      const W = this.trainer.net.params.W.dataSync();
      const radius = yield* stabilityRadiusSliced(W, phi, this.trainer.net.activation);
      // Weights edited or trained meanwhile: these numbers describe the old ones.
      if (version !== this.weightsVersion) return;
      this.freePhi = phi;
      this.metrics = {
        ...this.metrics,
        scope: 'sample',
        loss: lossValue,
        spectralRadius: radius,
        freeSteps: free.steps,
      };
      if (this.config.method !== 'lcp') {
        this.trainer.confirmWeights();
        return;
      }
      let controlled;
      try {
        controlled = yield* this.trainer.controlledEquilibriumSliced(p, free.state);
        owned.push(
          controlled.state.phi,
          controlled.state.y,
          controlled.state.uI,
          controlled.state.psi,
        );
        this.trainer.checkSettledAfterUpdate(controlled, 'controlled');
      } catch (e) {
        if (!(e instanceof DivergenceError)) throw e;
        this.metrics = { ...this.metrics, controlPsi: NaN, controlU: NaN };
        if (this.trainer.restoreLastGood()) {
          this.weightsVersion++;
          yield* this.refreshSliced();
          throw new TrainingDivergence(e, 1);
        }
        throw e;
      }
      this.trainer.confirmWeights();
      if (version !== this.weightsVersion) return;
      const c = controlsAt(this.trainer.net, this.trainer.ctrl, p, controlled.state);
      owned.push(c.u, c.psi);
      this.metrics.controlPsi = meanHalfSquaredNorm(c.psi);
      this.metrics.controlU = meanHalfSquaredNorm(c.u);
      const phiStar = controlled.state.phi.dataSync();
      let d = 0;
      for (let i = 0; i < phiStar.length; i++) d += (phiStar[i] - phi[i]) ** 2;
      this.metrics.displacement = Math.sqrt(d);
    } finally {
      tf.dispose(owned);
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
   * Advance `steps` Euler steps in the current mode (free or controlled), in chunks that end on
   * multiples of the trace stride. On divergence the state before the failing chunk is kept (the
   * steps before it stand, and were reported to onAdvance) and a DivergenceError is thrown.
   */
  advance(steps: number): void {
    // Chunks end on multiples of the trace stride, where a trace sample is taken: the samples
    // (and so the traces a user exports) do not depend on how calls group the steps.
    const stride = this.traceStride();
    for (let left = steps; left > 0;) {
      const n = Math.min(left, stride - (this.step % stride));
      this.advanceChunk(n);
      left -= n;
      if (this.step % stride === 0) {
        // Nobody takes them (a script): keep the latest only.
        if (this.pendingTrace.length >= MAX_PENDING_TRACE) this.pendingTrace.shift();
        this.pendingTrace.push(this.traceSample());
      }
    }
  }

  /**
   * Steps between trace samples. Each ends a kernel dispatch (~0.1–0.3 ms with its read-backs on
   * WASM), so every 4th step of a small network keeps Play near 15,000 steps/s; every 16th of a
   * larger one (whose steps cost more), every 50th on WebGL, where every read-back stalls.
   */
  traceStride(): number {
    if (tf.getBackend() === 'webgl') return 50;
    return this.n <= 64 ? 4 : 16;
  }

  /** The first TRACE_UNITS units' φ and ψ, and y, u, t, at the current step. */
  private traceSample(): TraceSample {
    const units = Math.min(TRACE_UNITS, this.n);
    const c = this.control
      ? controlsAt(this.trainer.net, this.trainer.ctrl, this.p, this.state)
      : null;
    const sample = {
      t: this.t,
      step: this.step,
      phi: readFloats(this.state.phi).slice(0, units),
      psi: c ? readFloats(c.psi).slice(0, units) : new Float32Array(units),
      y: readFloats(this.state.y),
      u: c ? readFloats(c.u) : new Float32Array(this.data.k),
      target: readFloats(this.p.target),
    };
    if (c) tf.dispose([c.u, c.psi]);
    return sample;
  }

  private advanceChunk(steps: number): void {
    if (steps <= 0) return;
    const started = performance.now();
    const controlled = this.control;
    this.phase = controlled ? 'controlled' : 'free';
    const dt = this.config.dt;
    const next = usesFusedPath({}, this.trainer.net)
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
    this.step += steps;
    // Time from the step count (not a running sum): the same whatever the grouping of steps.
    this.t = this.tBase + (this.step - this.stepBase) * dt;
    if (controlled && this.metrics.settled) this.recordControl();
    this.onAdvance?.(steps);
    // A running estimate, so that callers can size their slices.
    const perStep = (performance.now() - started) / steps;
    this.msPerStep = 0.7 * this.msPerStep + 0.3 * perStep;
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

  /** The unfused reference (backends without the kernel, readout `units`): eulerStep by step. */
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
    this.metrics.scope = 'sample';
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
    return drain(this.equilibriumSliced(chunk));
  }

  /** equilibrium in slices of `chunk` steps (the worker sizes chunks from msPerStep). */
  *equilibriumSliced(chunk = 50): Sliced<number> {
    let taken = 0;
    this.metrics.settled = false;
    while (taken < this.config.maxSteps) {
      const n = Math.min(chunk, this.config.maxSteps - taken);
      this.advance(n);
      taken += n;
      if (this.metrics.settled) break;
      yield {
        stage: this.control ? 'controlled' : 'free',
        done: taken,
        total: this.config.maxSteps,
      };
    }
    return taken;
  }

  /** `steps` Euler steps in slices of `chunk` (Step, and Play's larger strides). */
  *stepsSliced(steps: number, chunk = 50): Sliced<void> {
    for (let taken = 0; taken < steps;) {
      const n = Math.min(chunk, steps - taken);
      this.advance(n);
      taken += n;
      if (taken < steps)
        yield { stage: this.control ? 'controlled' : 'free', done: taken, total: steps };
    }
  }

  /**
   * Learn: relax → control → update on the current sample (batch = 1) or on a batch that starts
   * with it; the same sample stays, shown from the zero state with the new weights (so its
   * L(y⁰) and ½‖ψ*‖² can be compared). Returns the learning-curve point.
   */
  learn(): LearningPoint {
    return drain(this.learnSliced());
  }

  *learnSliced(): Sliced<LearningPoint> {
    return yield* this.undoneIfStopped(this.learnWork());
  }

  private *learnWork(): Sliced<LearningPoint> {
    this.phase = 'updating';
    const indices = [this.sample];
    while (indices.length < Math.min(this.config.batch, this.data.train.count))
      indices.push(this.nextIndex());
    // One click, one update: its feedback alignment is always worth measuring.
    const { r, point } = yield* this.update(
      indices,
      this.n * indices.length <= COSINE_EVERY_UPDATE,
      true,
    );
    this.metrics.cosine = r.cosine;
    this.metrics.controlPsi = r.controlPsi;
    this.metrics.controlU = r.control - r.controlPsi;
    this.pendingLearning.push(point);
    this.pendingMarkers.push({ t: this.t, kind: 'update' });
    return point;
  }

  /**
   * An update's work such that, stopped before its weights change (the caller returned the
   * generator early), it leaves no trace: the samples it took from the seeded order and the
   * noise it drew are put back, so the next update is the one it would have been. (A divergence
   * keeps what it drew: a replay of the same actions meets it again.)
   */
  private *undoneIfStopped<T>(work: Sliced<T>): Sliced<T> {
    const { order, noise } = this.trainer.streams;
    const mark = {
      order: this.order,
      orderPos: this.orderPos,
      orderRng: order.save(),
      noise: noise.save(),
      updates: this.trainer.updates,
    };
    let ended = false;
    try {
      const result = yield* work;
      ended = true;
      return result;
    } catch (e) {
      ended = true;
      throw e;
    } finally {
      if (!ended && this.trainer.updates === mark.updates) {
        this.order = mark.order;
        this.orderPos = mark.orderPos;
        order.restore(mark.orderRng);
        noise.restore(mark.noise);
      }
    }
  }

  /** One trainer update on these training samples, and its learning-curve point. */
  private *update(
    indices: number[],
    measureCosine: boolean,
    measureFeedback = measureCosine,
  ): Sliced<{ r: BatchResult; point: LearningPoint }> {
    const kind = this.trainer.ctrl.kind;
    const lcp = this.config.method === 'lcp';
    // Before the update: the alignment of the Q that computes this update's control.
    const alignmentQ =
      lcp && kind === 'linear-feedback'
        ? measureFeedback
          ? yield* this.feedbackAlignmentSliced(indices[0])
          : NaN
        : undefined;
    let r: BatchResult;
    try {
      r = yield* this.trainer.trainBatchSliced(indices, measureCosine);
    } catch (e) {
      if (e instanceof TrainingDivergence && e.restored > 0) this.weightsVersion++;
      throw e;
    }
    this.weightsVersion++;
    this.batchPhi0 = r.phi0;
    const psiRms = Math.sqrt((2 * r.controlPsi) / this.n);
    const point: LearningPoint = {
      update: this.trainer.updates,
      epoch: this.trainer.epoch,
      loss: r.loss,
      accuracy: this.data.classification ? r.accuracy : null,
      control: r.control,
      cosine: r.cosine,
      cosineReliable: this.config.method !== 'lcp' || psiRms >= CONTROL_NOISE_RMS,
    };
    if (alignmentQ !== undefined) point.alignmentQ = alignmentQ;
    if (lcp && kind === 'dynamic-inversion-kp')
      point.angleB = measureFeedback ? feedbackAngles(this.trainer.net).B : NaN;
    return { r, point };
  }

  /**
   * cos(Q u*, M(φ*) u*) on one training sample at the current weights: its free and controlled
   * equilibria (solves of their own, from rest, drawing no random numbers), then dynamic
   * inversion's control M(φ*) u* for the same u* (linearFeedbackAlignment). NaN where a solve
   * diverges or without Q.
   */
  private *feedbackAlignmentSliced(index: number): Sliced<number> {
    if (!this.trainer.net.params.Q) return NaN;
    const p = this.presentSample(index);
    const owned: Tensor[] = [p.x, p.target, p.drive];
    try {
      const free = yield* this.trainer.freeEquilibriumSliced(p, this.trainer.solver);
      owned.push(free.state.phi, free.state.y, free.state.uI, free.state.psi);
      const controlled = yield* this.trainer.controlledEquilibriumSliced(p, free.state);
      const st = controlled.state;
      owned.push(st.phi, st.y, st.uI, st.psi);
      const c = controlsAt(this.trainer.net, this.trainer.ctrl, p, st);
      owned.push(c.u, c.psi);
      return linearFeedbackAlignment(this.trainer.net, st.phi, c.u, this.trainer.solver);
    } catch (e) {
      if (e instanceof DivergenceError) return NaN;
      throw e;
    } finally {
      tf.dispose(owned);
    }
  }

  /** After an update: the network changed, so the current sample's free equilibrium did too. */
  afterUpdate(advance: boolean): void {
    drain(this.afterUpdateSliced(advance));
  }

  *afterUpdateSliced(advance: boolean): Sliced<void> {
    if (advance && this.data.train.count > 1) yield* this.nextSampleSliced();
    else yield* this.presentSliced(this.sample);
  }

  /** One Train step: an update on the next batch of the seeded order. */
  trainStep(): LearningPoint {
    return drain(this.trainStepSliced());
  }

  /**
   * trainStep in slices. While training the status describes the batch: L(y⁰) and ½‖ψ*‖², ½‖u*‖²
   * are its means (scope 'batch'); an epoch's end adds the test loss to the point.
   */
  *trainStepSliced(): Sliced<LearningPoint> {
    return yield* this.undoneIfStopped(this.trainStepWork());
  }

  private *trainStepWork(): Sliced<LearningPoint> {
    this.phase = 'training';
    // Batches follow the epochs of the seeded order, the last one of an epoch partial, as the
    // CLI's `train` makes them: Train from a fresh network is the CLI's run update for update.
    if (this.orderPos >= this.order.length) this.nextEpochOrder();
    const B = Math.min(this.config.batch, this.order.length - this.orderPos);
    const indices = Array.from({ length: B }, () => this.nextIndex());
    const measure = this.trainer.updates % 10 === 0 || this.n * B <= COSINE_EVERY_UPDATE;
    const { r, point } = yield* this.update(indices, measure);
    this.metrics = {
      ...this.metrics,
      scope: 'batch',
      loss: r.loss,
      controlPsi: this.config.method === 'lcp' ? r.controlPsi : NaN,
      controlU: this.config.method === 'lcp' ? r.control - r.controlPsi : NaN,
      cosine: Number.isNaN(r.cosine) ? this.metrics.cosine : r.cosine,
      spectralRadius: NaN,
    };
    try {
      if (this.trainer.updates % this.trainer.batchesPerEpoch === 0) {
        this.trainer.epoch++;
        const test = yield* this.testEvaluationSliced();
        point.testLoss = test.loss;
        point.testAccuracy = this.data.classification ? test.accuracy : null;
      }
    } finally {
      // Stopped in the test evaluation, the update stands: its point too (without the test loss).
      this.pendingLearning.push(point);
    }
    return point;
  }

  /**
   * The test split at the free equilibrium, at the end of an epoch: loss, accuracy and (classes)
   * the confusion matrix, left in pendingTestEvaluation for the caller.
   */
  *testEvaluationSliced(): Sliced<{ loss: number; accuracy: number }> {
    const test = yield* this.trainer.evaluateSliced(this.data.test);
    this.testedEpoch = this.trainer.epoch;
    if (test.predictions && this.data.test.labels) {
      const k = this.data.k;
      this.pendingTestEvaluation = {
        epoch: this.trainer.epoch,
        updates: this.trainer.updates,
        loss: test.loss,
        accuracy: test.accuracy,
        k,
        confusion: Array.from(confusionMatrix(this.data.test.labels, test.predictions, k)),
      };
    }
    return test;
  }

  /**
   * Did a stop come between an epoch's last update and its test evaluation? (Train 1 epoch then
   * evaluates, and trains no further.)
   */
  get testEvaluationMissing(): boolean {
    return (
      this.trainer.epoch > this.testedEpoch &&
      this.trainer.updates % this.trainer.batchesPerEpoch === 0
    );
  }

  /**
   * Train updates until the current epoch ends (its test evaluation): a whole epoch,
   * ⌈train size / batch⌉, from an epoch's start, the rest of it after a stop.
   */
  get updatesLeftInEpoch(): number {
    const per = this.trainer.batchesPerEpoch;
    return per - (this.trainer.updates % per);
  }

  /** ρ(W diag ρ′) at the last training batch's first free equilibrium (while training). */
  *batchRadiusSliced(): Sliced<void> {
    const phi = this.batchPhi0;
    if (!phi || this.metrics.scope !== 'batch') return;
    const W = this.trainer.net.params.W.dataSync();
    const radius = yield* stabilityRadiusSliced(W, phi, this.trainer.net.activation);
    // Training goes on meanwhile: the radius of weights an update or two old is still the batch's.
    if (this.metrics.scope === 'batch') this.metrics.spectralRadius = radius;
  }

  /**
   * Hand edits of a weight. The caller refreshes the free equilibrium (refreshSliced). Throws
   * InputError (nothing changed) for an unknown parameter, an entry out of range or a value that
   * is not a number within ±INPUT_LIMIT.
   */
  editParam(name: ParamName, row: number, col: number, value: number): void {
    const t = this.trainer.net.params[name];
    if (!t) throw InputError.single(name, 'this network has no such parameter');
    checkEditValue(name, value);
    const values = t.dataSync().slice();
    const cols = t.shape.length === 2 ? t.shape[1] : 1;
    const i = t.shape.length === 2 ? row * cols + col : row;
    const inside =
      Number.isInteger(row) &&
      Number.isInteger(col) &&
      row >= 0 &&
      row < t.shape[0] &&
      col >= 0 &&
      col < cols;
    if (!inside)
      throw InputError.single(`${name}[${row}][${col}]`, `no such entry (${t.shape.join('×')})`);
    values[i] = value;
    this.trainer.net.params[name] = tf.tensor(values, t.shape);
    t.dispose();
    // The weights the trainer kept to roll back to no longer describe this network.
    this.trainer.confirmWeights();
    this.weightsVersion++;
    this.refreshPresentation();
  }

  /**
   * Hand edits of the current sample's input or target; the caller refreshes (refreshSliced).
   * Throws InputError for an index out of range or a value beyond ±INPUT_LIMIT.
   */
  editSample(which: 'input' | 'target', index: number, value: number): void {
    checkEditValue(which, value);
    const split = this.data.train;
    const size = which === 'input' ? this.data.m : this.data.k;
    if (!Number.isInteger(index) || index < 0 || index >= size)
      throw InputError.single(`${which}[${index}]`, `no such entry (0…${size - 1})`);
    const arr = which === 'input' ? split.x : split.target;
    arr[this.sample * size + index] = value;
    this.refreshPresentation();
  }

  /** Rebuild the presentation (drive U x + b, target) keeping the dynamic state. */
  private refreshPresentation(): void {
    tf.dispose([this.p.x, this.p.target, this.p.drive]);
    this.p = this.presentSample();
    this.metrics.settled = false;
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

  /**
   * Continue from a checkpoint taken on another backend or before a reload (the optimiser's
   * moments restart). The caller refreshes the free equilibrium (refreshSliced).
   */
  restoreCheckpoint(cp: Checkpoint): void {
    for (const [name, m] of Object.entries(cp.params) as [ParamName, MatrixData][]) {
      const old = this.trainer.net.params[name];
      if (!old || old.size !== m.data.length) continue;
      this.trainer.net.params[name] = tf.tensor(m.data, old.shape);
      old.dispose();
    }
    this.setPresentation(cp.sample);
    const k = this.data.k;
    if (cp.state.phi.length === this.n && cp.state.y.length === k) {
      disposeState(this.state);
      this.state = {
        phi: tf.tensor2d(cp.state.phi, [1, this.n]),
        y: tf.tensor2d(cp.state.y, [1, k]),
        uI: tf.tensor2d(cp.state.uI, [1, k]),
        psi: tf.tensor2d(cp.state.psi, [1, this.n]),
      };
      this.t = cp.t;
    }
    this.step = cp.step;
    this.tBase = this.t;
    this.stepBase = this.step;
    this.control = cp.control;
    this.trainer.updates = cp.updates;
    this.trainer.epoch = cp.epoch;
    this.testedEpoch = cp.epoch;
    this.weightsVersion++;
  }

  /** The network's parameters as arrays. */
  readWeights(): Partial<Record<ParamName, MatrixData>> {
    return readParams(this.trainer.net.params as Direction);
  }

  /** The last update's direction (per parameter), or null before the first. */
  get lastUpdate(): Partial<Record<ParamName, MatrixData>> | null {
    return this.updateRead()?.direction ?? null;
  }

  /** The step the optimiser applied for it. */
  get appliedStep(): Partial<Record<ParamName, MatrixData>> | null {
    return this.updateRead()?.applied ?? null;
  }

  private updateRead(): typeof this.readUpdate {
    const held = this.heldUpdate;
    if (held) {
      this.readUpdate = {
        direction: readParams(held.direction),
        applied: readParams(held.applied),
      };
      this.releaseHeldUpdate();
    }
    return this.readUpdate;
  }

  private releaseHeldUpdate(): void {
    if (!this.heldUpdate) return;
    tf.dispose([
      ...Object.values(this.heldUpdate.direction),
      ...Object.values(this.heldUpdate.applied),
    ]);
    this.heldUpdate = null;
  }

  dispose(): void {
    this.releaseHeldUpdate();
    if (this.p) tf.dispose([this.p.x, this.p.target, this.p.drive]);
    if (this.state) disposeState(this.state);
    this.trainer?.dispose();
  }
}

/**
 * A value typed into a weight, input or target: a finite number within ±INPUT_LIMIT (beyond, every
 * unit it reaches saturates or float32 overflows, and nothing meaningful is left to compute).
 */
function checkEditValue(field: string, value: number): void {
  if (!Number.isFinite(value) || Math.abs(value) > INPUT_LIMIT)
    throw InputError.single(
      field,
      `expected a number within ±${INPUT_LIMIT.toExponential(0)}, got ${String(value)}; nothing changed`,
    );
}

/** The solver's divergence message for a step's residual and RMS, or null when it is fine. */
function divergenceOf(residual: number, rms: number): string | null {
  if (!Number.isFinite(residual)) return divergenceReason(STATUS.nonFinite, rms);
  return rms > BLOWUP_RMS ? divergenceReason(STATUS.blowUp, rms) : null;
}

/** The metrics of a sample whose free equilibrium does not exist. */
const NO_EQUILIBRIUM = {
  loss: NaN,
  spectralRadius: NaN,
  controlPsi: NaN,
  controlU: NaN,
  displacement: NaN,
  freeSteps: NaN,
} as const;

function emptyMetrics(): SimMetrics {
  return {
    scope: 'sample',
    loss: NaN,
    controlPsi: NaN,
    controlU: NaN,
    spectralRadius: NaN,
    residual: NaN,
    settled: false,
    cosine: NaN,
    displacement: NaN,
    freeSteps: NaN,
  };
}

/** Copy tensors to arrays with their shapes ([n] vectors become n×1). */
/**
 * The first sample of an update's controlled equilibrium: ΔW[post, pre] of a one-sample batch is
 * ψ*_post · ρ(φ*_pre) exactly (the local rule), which the network view shows beside ΔW.
 */
export interface UpdateState {
  phi: Float32Array;
  psi: Float32Array;
  rate: Float32Array;
}

function readUpdateState(activation: TrainConfig['activation'], at: UpdateOrigin): UpdateState {
  const first = (t: Tensor) => tf.slice(t, [0, 0], [1, -1]);
  return tf.tidy(() => {
    const phi = first(at.phi);
    return {
      phi: readFloats(phi),
      psi: readFloats(first(at.psi)),
      rate: readFloats(rate(activation, phi)),
    };
  });
}

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
