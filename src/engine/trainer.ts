import { bpGradient, rbpGradientSliced, type GradientResult } from './baselines';
import { FLOAT32_EPSILON, type TrainConfig } from './config';
import {
  disposeState,
  presentation,
  zeroState,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import { energyRelaxSliced } from './energy';
import { DivergenceError } from './errors';
import { decayParams, feedbackAngles, learnQSliced, linearFeedbackAlignment } from './feedback';
import { controllerSettings, ensureControllerParams, initNetwork } from './init';
import { controlsAt, disposeParamSet, epUpdate, lcpUpdate, type ParamSet } from './learning';
import { correctPerSample, lossPerSample } from './losses';
import { alignment, meanHalfSquaredNorm, stabilityRadius } from './metrics';
import { disposeNetwork, type Network, type ParamName } from './model';
import { learningRate, Optimizer, type Direction } from './optimizer';
import type { Rng } from './rng';
import { drain, type Sliced } from './sliced';
import { relaxSliced, RelaxDivergence, type RelaxResult, type SolverSettings } from './solver';
import type { Dataset, Split } from './tasks';
import { readFloats, tf, type Tensor } from './tf';
/** What one update did, measured on its batch before the update. */
export interface BatchResult {
  /** Mean loss and accuracy at the free equilibrium. */
  loss: number;
  accuracy: number;
  /** Mean ½‖ψ*‖² + ½‖u*‖² (0 for RBP and EP), and its ½‖ψ*‖² part. */
  control: number;
  controlPsi: number;
  /** Solver steps of the controlled solve (LCP) or the free solve (RBP). */
  steps: number;
  /** Steps of each solve: free (every method), controlled (LCP; EP: its nudged phase), adjoint (RBP). */
  stepsFree: number;
  stepsControlled?: number;
  stepsAdjoint?: number;
  converged: boolean;
  /** Cosine of the update with −∇L (RBP at the same free state), NaN when not measured. */
  cosine: number;
  /** ‖update‖ over W, U, b, D, d before the optimiser (the cosine means nothing near 0). */
  updateNorm: number;
  /** The batch's first sample's free φ (for ρ(W diag ρ′) while training). */
  phi0: Float32Array;
}

/** Loss and accuracy over a split, and each sample's predicted class (classification only). */
export interface Evaluation {
  loss: number;
  accuracy: number;
  predictions: Uint8Array | null;
}

/** One JSON line of `train` per epoch (DESIGN.md §2), plus alignment metrics. */
export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number | null;
  testLoss: number;
  testAccuracy: number | null;
  control: number;
  cosine: number;
  steps: number;
  /** Mean steps per batch of the free solve, and of the controlled (LCP) or adjoint (RBP) one. */
  stepsFree: number;
  stepsControlled?: number;
  stepsAdjoint?: number;
  /** Since training began (every epoch so far, with their test evaluations and metrics). */
  seconds: number;
  /** This epoch's updates alone, and its test evaluation alone (the paper's code times each). */
  trainSeconds: number;
  evalSeconds: number;
  lr: number;
  spectralRadius: number;
  /** LF: cosine of Q u* with M u* on the fixed batch. */
  alignmentQ?: number;
  /** KP: angle (degrees) between B and Wᵀ. */
  angleB?: number;
}

/** A batch of samples as tensors. */
export interface Batch {
  x: Tensor;
  target: Tensor;
  size: number;
}

export function batchOf(data: Dataset, split: Split, indices: ArrayLike<number>): Batch {
  const { m, k } = data;
  const size = indices.length;
  const x = new Float32Array(size * m);
  const t = new Float32Array(size * k);
  for (let r = 0; r < size; r++) {
    const i = indices[r];
    x.set(split.x.subarray(i * m, (i + 1) * m), r * m);
    t.set(split.target.subarray(i * k, (i + 1) * k), r * k);
  }
  return { x: tf.tensor2d(x, [size, m]), target: tf.tensor2d(t, [size, k]), size };
}

/**
 * A free solve that ends its steps still changing by more than this (relative, per unit time) is
 * not settling — an oscillating or wandering network — rather than merely slow to converge.
 */
export const UNSETTLED_RESIDUAL = 1e-2;

/**
 * Is the control of this controlled state negligible: ψ and the integrator u_I within √ε
 * (float32's, ≈ 3.5e-4) of the scale of the states they act on? (A few floats read back.)
 */
function negligibleControl(state: DynState): boolean {
  const norm = (t: Tensor) => Math.sqrt(tf.sum(tf.square(t)).dataSync()[0]);
  return tf.tidy(() => {
    const bound = Math.sqrt(FLOAT32_EPSILON);
    return (
      norm(state.psi) <= bound * (norm(state.phi) + 1) &&
      norm(state.uI) <= bound * (norm(state.y) + 1)
    );
  });
}

/** The seeded streams a trainer draws from (DESIGN.md "Determinism"). */
export interface TrainerStreams {
  init: Rng;
  order: Rng;
  noise: Rng;
}

/**
 * A solve diverged during an update: no update was applied, and when an earlier update had
 * made the weights unstable they were rolled back to before it (`restored`).
 */
export class TrainingDivergence extends DivergenceError {
  constructor(
    cause: DivergenceError,
    /** Updates rolled back (0 or 1): the weights are those before the last update. */
    readonly restored: number,
  ) {
    super(cause.phase, cause.step, cause.reason);
    this.name = 'TrainingDivergence';
  }
}

/**
 * Mini-batch training with the LCP update or the RBP gradient: per-sample control, averaged
 * updates, then the optimiser. Keeps its network unchanged when a solve diverges, and rolls an
 * update back when the solves after it diverge (see restoreLastGood). Every long computation has
 * a sliced form (…Sliced, see sliced.ts) that the worker runs a piece at a time; the plain
 * methods run them to the end.
 */
/** Where an LCP update was computed: the batch's controlled equilibrium φ* and its control ψ*. */
export interface UpdateOrigin {
  phi: Tensor;
  psi: Tensor;
}

export class Trainer {
  readonly net: Network;
  readonly ctrl: ControllerSettings;
  optimizer: Optimizer;
  epoch = 0;
  updates = 0;
  private readonly startTime = performance.now();
  /** The weights before the last update, until a solve with the new weights succeeds. */
  private beforeLastUpdate: Partial<Record<ParamName, Tensor>> | null = null;

  /** `net`: a network already drawn from `streams.init` (initNetworkSliced), else drawn here. */
  constructor(
    readonly config: TrainConfig,
    readonly data: Dataset,
    readonly streams: TrainerStreams,
    net?: Network,
  ) {
    this.net = net ?? initNetwork(config, data.m, data.k, streams.init);
    this.ctrl = controllerSettings(config);
    this.optimizer = new Optimizer(config);
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.data.train.count / this.config.batch);
  }

  get totalUpdates(): number {
    return this.batchesPerEpoch * this.config.epochs;
  }

  get solver(): SolverSettings {
    return { dt: this.config.dt, tol: this.config.tol, maxSteps: this.config.maxSteps };
  }

  get rbpSolver(): SolverSettings {
    return { dt: this.config.dt, tol: this.config.rbpTol, maxSteps: this.config.rbpMaxSteps };
  }

  private get layers(): number | null {
    return this.config.topology === 'layered' ? this.config.layers.length : null;
  }

  /**
   * Apply live settings (controller, gains, time constants, solver, optimiser…) and build the
   * feedback weights a newly chosen controller needs (Q, B, F from their own seeded streams).
   */
  reconfigure(config: TrainConfig): void {
    const optimizerChanged = config.optimizer !== this.config.optimizer;
    Object.assign(this.config, config);
    Object.assign(this.ctrl, controllerSettings(config));
    ensureControllerParams(this.net, config, this.streams.init);
    // Adam's moments belong to one optimiser; SGD has none.
    if (optimizerChanged) {
      this.optimizer.dispose();
      this.optimizer = new Optimizer(config);
    }
  }

  /** The free equilibrium of a presentation (exact sweeps for layered nets under RBP/BP). */
  freeEquilibrium(p: Presentation, solver: SolverSettings): RelaxResult {
    return drain(this.freeEquilibriumSliced(p, solver));
  }

  *freeEquilibriumSliced(p: Presentation, solver: SolverSettings): Sliced<RelaxResult> {
    const init = zeroState(p.drive.shape[0], this.net.n, this.net.k);
    return yield* relaxOrThrow(relaxSliced(this.net, this.ctrl, solver, p, init, false));
  }

  /** The controlled equilibrium, started from the free one (energy: from zero or the free state). */
  controlledEquilibrium(p: Presentation, free: DynState): RelaxResult {
    return drain(this.controlledEquilibriumSliced(p, free));
  }

  *controlledEquilibriumSliced(p: Presentation, free: DynState): Sliced<RelaxResult> {
    const start: DynState = {
      phi: free.phi.clone(),
      y: free.y.clone(),
      uI: tf.zerosLike(free.y),
      psi: tf.zerosLike(free.phi),
    };
    if (this.ctrl.kind === 'energy') {
      if (this.config.energyStart === 'zero') {
        tf.dispose([start.phi, start.y]);
        start.phi = tf.zerosLike(free.phi);
        start.y = tf.zerosLike(free.y);
      }
      return yield* relaxOrThrow(energyRelaxSliced(this.net, this.ctrl, this.solver, p, start));
    }
    return yield* relaxOrThrow(relaxSliced(this.net, this.ctrl, this.solver, p, start, true));
  }

  /** One update on the samples `indices` of the training split. */
  trainBatch(indices: ArrayLike<number>, measureCosine = false): BatchResult {
    return drain(this.trainBatchSliced(indices, measureCosine));
  }

  /**
   * trainBatch in slices. Stopped early, nothing is applied. A divergence applies nothing and,
   * when the last update is to blame (no solve has succeeded since), rolls it back: it throws
   * TrainingDivergence.
   */
  *trainBatchSliced(indices: ArrayLike<number>, measureCosine = false): Sliced<BatchResult> {
    const batch = batchOf(this.data, this.data.train, indices);
    const p = presentation(this.net, batch.x, batch.target, this.data.loss);
    try {
      if (this.config.method === 'rbp') return yield* this.rbpBatch(p);
      if (this.config.method === 'ep') return yield* this.epBatch(p, measureCosine);
      return yield* this.lcpBatch(p, measureCosine);
    } catch (e) {
      if (e instanceof DivergenceError && !(e instanceof TrainingDivergence))
        throw new TrainingDivergence(e, this.restoreLastGood() ? 1 : 0);
      throw e;
    } finally {
      tf.dispose([batch.x, batch.target, p.drive]);
    }
  }

  /**
   * Put back the weights from before the last update, if no solve has succeeded since it (the
   * update is then the likely cause of a divergence). Adam's moments restart. True if restored.
   */
  restoreLastGood(): boolean {
    const saved = this.beforeLastUpdate;
    if (!saved) return false;
    this.beforeLastUpdate = null;
    for (const [name, t] of Object.entries(saved) as [ParamName, Tensor][]) {
      this.net.params[name]?.dispose();
      this.net.params[name] = t;
    }
    this.optimizer.dispose();
    this.optimizer = new Optimizer(this.config);
    this.updates = Math.max(0, this.updates - 1);
    return true;
  }

  /**
   * A free solve right after an update that ended still moving fast (an oscillation or a wander,
   * not a slow settle): the update made the network unstable, as much as a blow-up would. Throws
   * DivergenceError then (the caller rolls the update back).
   */
  checkSettledAfterUpdate(r: RelaxResult, phase = 'free'): void {
    // The energy controller's Adam runs a fixed budget of iterations (the reference's 200–800),
    // unconverged by design: its residual says nothing about the network's stability.
    if (phase === 'controlled' && this.ctrl.kind === 'energy') return;
    // The paper's code learns from whatever state its step budget ends in.
    if (!this.config.stopUnsettled) return;
    if (!r.converged && r.residual > UNSETTLED_RESIDUAL && this.beforeLastUpdate) {
      // Learning has finished: a control at float32's noise next to the state it holds keeps
      // flickering (its relative change is large) while the network itself is quite still.
      if (phase === 'controlled' && negligibleControl(r.state)) return;
      throw new DivergenceError(
        phase,
        r.steps,
        `did not settle in ${r.steps} steps (still changing by ${r.residual.toPrecision(2)} per unit time)`,
      );
    }
  }

  /** A solve with the current weights succeeded: they are good, forget the older ones. */
  confirmWeights(): void {
    if (!this.beforeLastUpdate) return;
    tf.dispose(Object.values(this.beforeLastUpdate));
    this.beforeLastUpdate = null;
  }

  private lr(): number {
    return learningRate(this.config, this.updates, this.totalUpdates);
  }

  /**
   * Sees every update's direction (before the optimiser), the step applied and, for LCP, the
   * controlled equilibrium it was computed at (φ*, ψ* of the batch), before their disposal.
   */
  updateObserver:
    ((direction: Direction, applied: Direction, at: UpdateOrigin | null) => void) | null = null;

  /** Returns Optimizer.norm(direction): the update's norm as the batch results report it. */
  private applyDirection(direction: Direction, at: UpdateOrigin | null = null): number {
    const saved: Partial<Record<ParamName, Tensor>> = {};
    for (const [name, t] of Object.entries(this.net.params) as [ParamName, Tensor][])
      saved[name] = t.clone();
    let step: { applied: Direction; norm: number };
    try {
      step = this.optimizer.apply(this.net, direction, this.lr());
    } catch (e) {
      tf.dispose(Object.values(saved));
      throw e;
    }
    this.confirmWeights();
    this.beforeLastUpdate = saved;
    this.updateObserver?.(direction, step.applied, at);
    disposeParamSet(step.applied);
    this.updates++;
    // Clipping measured it already, unless it counted b twice (two biases).
    return (this.config.biases ?? 1) === 1 ? step.norm : Optimizer.norm(direction);
  }

  private *lcpBatch(p: Presentation, measureCosine: boolean): Sliced<BatchResult> {
    const free = yield* this.freeEquilibriumSliced(p, this.solver);
    const owned: Tensor[] = [...stateTensors(free.state)];
    let gradient: ParamSet | null = null;
    try {
      this.checkSettledAfterUpdate(free);
      const stats = this.freeStats(p, free.state);
      if (measureCosine) gradient = yield* this.gradientOrNull(p, free.state);
      const controlled = yield* this.controlledEquilibriumSliced(p, free.state);
      owned.push(...stateTensors(controlled.state));
      this.checkSettledAfterUpdate(controlled, 'controlled');
      // Both solves work with these weights: the update before them needs no rolling back.
      this.confirmWeights();
      const c = controlsAt(this.net, this.ctrl, p, controlled.state);
      owned.push(c.u, c.psi);
      const controlPsi = meanHalfSquaredNorm(c.psi);
      const control = controlPsi + meanHalfSquaredNorm(c.u);
      const update = lcpUpdate(this.net, this.ctrl, p, controlled.state, c);
      const direction: Direction = { ...update };
      owned.push(...Object.values(update));
      const cosine = gradient ? alignment(update, gradient).overall : NaN;
      if (this.ctrl.kind === 'linear-feedback' && this.config.learnQ) {
        yield* learnQSliced(
          this.net,
          this.ctrl,
          this.config,
          p,
          controlled.state,
          c.u,
          this.streams.noise,
        );
      }
      if (this.ctrl.kind === 'dynamic-inversion-kp') {
        decayParams(this.net, ['W', 'b', 'D', 'd', 'B', 'F'], this.config.lambdaKP);
        // Kolen–Pollack: ΔB = ρ(φ*) ψ*ᵀ = ΔWᵀ and ΔF = ρ(φ*) u*ᵀ = ΔDᵀ.
        direction.B = tf.transpose(update.W);
        direction.F = tf.transpose(update.D);
        owned.push(direction.B, direction.F);
      }
      const updateNorm = this.applyDirection(direction, { phi: controlled.state.phi, psi: c.psi });
      return {
        ...stats,
        control,
        controlPsi,
        steps: controlled.steps,
        stepsFree: free.steps,
        stepsControlled: controlled.steps,
        converged: controlled.converged,
        cosine,
        updateNorm,
      };
    } finally {
      if (gradient) disposeParamSet(gradient);
      tf.dispose(owned);
    }
  }

  /**
   * EP's nudged phase, from the free equilibrium: the linear-feedback dynamics with Q = Dᵀ,
   * k_i = 0 and k_p = β, i.e. u = −β ∂L/∂y on the outputs and ψ = Dᵀu on the hidden units —
   * the nudge of output units joined to the hidden ones by D both ways. u_I is unused (k_i = 0);
   * α = 1 and τ_u = τ_φ only keep it from holding up the stopping rule.
   */
  *nudgedEquilibriumSliced(
    p: Presentation,
    free: Pick<DynState, 'phi' | 'y'>,
  ): Sliced<RelaxResult> {
    const Q = tf.transpose(this.net.params.D);
    const net: Network = { ...this.net, params: { ...this.net.params, Q } };
    const ctrl: ControllerSettings = {
      ...this.ctrl,
      kind: 'linear-feedback',
      ki: 0,
      kp: this.config.beta,
      alpha: 1,
      tauU: this.ctrl.tauPhi,
    };
    const start: DynState = {
      phi: free.phi.clone(),
      y: free.y.clone(),
      uI: tf.zerosLike(free.y),
      psi: tf.zerosLike(free.phi),
    };
    try {
      return yield* relaxOrThrow(relaxSliced(net, ctrl, this.solver, p, start, true, 'nudged'));
    } finally {
      Q.dispose();
    }
  }

  /** EP's update on a presentation from its free equilibrium (epUpdate), and its nudged solve. */
  private *epDirectionSliced(
    p: Presentation,
    free: DynState,
  ): Sliced<{ update: ParamSet; nudged: RelaxResult }> {
    const nudged = yield* this.nudgedEquilibriumSliced(p, free);
    try {
      return { update: epUpdate(this.net, p, free, nudged.state.phi, this.config.beta), nudged };
    } catch (e) {
      disposeState(nudged.state);
      throw e;
    }
  }

  private *epBatch(p: Presentation, measureCosine: boolean): Sliced<BatchResult> {
    const free = yield* this.freeEquilibriumSliced(p, this.solver);
    const owned: Tensor[] = [...stateTensors(free.state)];
    let gradient: ParamSet | null = null;
    try {
      this.checkSettledAfterUpdate(free);
      const stats = this.freeStats(p, free.state);
      if (measureCosine) gradient = yield* this.gradientOrNull(p, free.state);
      const { update, nudged } = yield* this.epDirectionSliced(p, free.state);
      owned.push(...stateTensors(nudged.state), ...Object.values(update));
      this.checkSettledAfterUpdate(nudged, 'nudged');
      this.confirmWeights();
      const cosine = gradient ? alignment(update, gradient).overall : NaN;
      const updateNorm = this.applyDirection({ ...update });
      return {
        ...stats,
        control: 0,
        controlPsi: 0,
        steps: nudged.steps,
        stepsFree: free.steps,
        stepsControlled: nudged.steps,
        converged: nudged.converged,
        cosine,
        updateNorm,
      };
    } finally {
      if (gradient) disposeParamSet(gradient);
      tf.dispose(owned);
    }
  }

  private *rbpBatch(p: Presentation): Sliced<BatchResult> {
    const layers = this.layers;
    if (layers !== null) {
      const bp = bpGradient(this.net, layers, p);
      try {
        const stats = this.freeStats(p, { phi: bp.phi, y: bp.y });
        const updateNorm = this.applyDirection(bp.descent);
        return {
          ...stats,
          control: 0,
          controlPsi: 0,
          steps: layers,
          stepsFree: layers,
          stepsAdjoint: layers,
          converged: true,
          cosine: 1,
          updateNorm,
        };
      } finally {
        tf.dispose([bp.phi, bp.y]);
        disposeParamSet(bp.descent);
      }
    }
    const free = yield* this.freeEquilibriumSliced(p, this.rbpSolver);
    try {
      this.checkSettledAfterUpdate(free);
      this.confirmWeights();
      const stats = this.freeStats(p, free.state);
      const grad = yield* rbpGradientSliced(
        this.net,
        this.rbpSolver,
        p,
        free.state.phi,
        free.state.y,
      );
      try {
        const updateNorm = this.applyDirection(grad.descent);
        return {
          ...stats,
          control: 0,
          controlPsi: 0,
          steps: free.steps,
          stepsFree: free.steps,
          stepsAdjoint: grad.steps,
          converged: free.converged,
          cosine: 1,
          updateNorm,
        };
      } finally {
        disposeParamSet(grad.descent);
      }
    } finally {
      disposeState(free.state);
    }
  }

  /** −∇L by RBP at a free state, or null where the adjoint diverges (no gradient exists). */
  private *gradientOrNull(p: Presentation, free: DynState): Sliced<ParamSet | null> {
    try {
      return (yield* rbpGradientSliced(this.net, this.solver, p, free.phi, free.y)).descent;
    } catch (e) {
      if (e instanceof DivergenceError) return null;
      throw e;
    }
  }

  /** Mean loss and accuracy at a free state, and the first sample's φ. */
  private freeStats(
    p: Presentation,
    s: Pick<DynState, 'phi' | 'y'>,
  ): { loss: number; accuracy: number; phi0: Float32Array } {
    const [loss, accuracy, phi0] = tf.tidy(() => [
      tf.mean(lossPerSample(p.loss, s.y, p.target)),
      tf.mean(correctPerSample(p.loss, s.y, p.target)),
      tf.slice(s.phi, [0, 0], [1, -1]),
    ]);
    const out = {
      loss: loss.dataSync()[0],
      accuracy: accuracy.dataSync()[0],
      phi0: readFloats(phi0),
    };
    tf.dispose([loss, accuracy, phi0]);
    return out;
  }

  /**
   * Loss and accuracy at the free equilibrium over a whole split, in batches, and for classes
   * each sample's predicted class (arg max of y⁰).
   */
  evaluate(split: Split, batchSize = 256): Evaluation {
    return drain(this.evaluateSliced(split, batchSize));
  }

  *evaluateSliced(split: Split, batchSize = 256): Sliced<Evaluation> {
    let loss = 0;
    let correct = 0;
    const predictions = this.data.classification ? new Uint8Array(split.count) : null;
    for (let start = 0; start < split.count; start += batchSize) {
      if (start > 0) yield { stage: 'evaluate', done: start, total: split.count };
      const idx = Array.from(
        { length: Math.min(batchSize, split.count - start) },
        (_, i) => start + i,
      );
      const batch = batchOf(this.data, split, idx);
      const p = presentation(this.net, batch.x, batch.target, this.data.loss);
      try {
        const layers = this.layers;
        let state: Pick<DynState, 'phi' | 'y'>;
        if (layers !== null && this.config.method === 'rbp') {
          const bp = bpGradient(this.net, layers, p);
          disposeParamSet(bp.descent);
          state = { phi: bp.phi, y: bp.y };
        } else {
          const solver = this.config.method === 'rbp' ? this.rbpSolver : this.solver;
          state = (yield* this.freeEquilibriumSliced(p, solver)).state;
        }
        const s = this.freeStats(p, state);
        if (predictions) {
          const classes = tf.tidy(() => tf.argMax(state.y, -1));
          predictions.set(classes.dataSync(), start);
          classes.dispose();
        }
        tf.dispose(Object.values(state));
        loss += s.loss * batch.size;
        correct += s.accuracy * batch.size;
      } finally {
        tf.dispose([batch.x, batch.target, p.drive]);
      }
    }
    return { loss: loss / split.count, accuracy: correct / split.count, predictions };
  }

  /**
   * Alignment metrics on a fixed batch (the first samples of the training split): cosine of the
   * method's update with −∇L (RBP at the LCP solver's tolerance) over all parameters, LF's
   * cosine of Q u* with M u*, KP's angle between B and Wᵀ, and ρ(W diag ρ'(φ⁰)) of sample 0.
   */
  fixedBatchMetrics(): FixedBatchMetrics {
    return drain(this.fixedBatchMetricsSliced());
  }

  *fixedBatchMetricsSliced(): Sliced<FixedBatchMetrics> {
    const size = Math.min(this.config.batch, this.data.train.count);
    const batch = batchOf(
      this.data,
      this.data.train,
      Array.from({ length: size }, (_, i) => i),
    );
    const p = presentation(this.net, batch.x, batch.target, this.data.loss);
    const owned: Tensor[] = [batch.x, batch.target, p.drive];
    const sets: ParamSet[] = [];
    const out: FixedBatchMetrics = { cosine: 1, spectralRadius: NaN };
    try {
      const free = yield* this.freeEquilibriumSliced(p, this.solver);
      owned.push(...stateTensors(free.state));
      const phi0 = tf.slice(free.state.phi, [0, 0], [1, this.net.n]);
      out.spectralRadius = stabilityRadius(this.net.params.W, phi0.dataSync(), this.net.activation);
      phi0.dispose();
      if (this.config.method === 'rbp') return out;
      let grad: GradientResult;
      try {
        grad = yield* rbpGradientSliced(this.net, this.solver, p, free.state.phi, free.state.y);
      } catch (e) {
        // No gradient by RBP where the adjoint is unstable: report the cosine as unknown.
        if (!(e instanceof DivergenceError)) throw e;
        return { ...out, cosine: NaN };
      }
      sets.push(grad.descent);
      if (this.config.method === 'ep') {
        const { update, nudged } = yield* this.epDirectionSliced(p, free.state);
        owned.push(...stateTensors(nudged.state));
        sets.push(update);
        out.cosine = alignment(update, grad.descent).overall;
        return out;
      }
      const controlled = yield* this.controlledEquilibriumSliced(p, free.state);
      owned.push(...stateTensors(controlled.state));
      const c = controlsAt(this.net, this.ctrl, p, controlled.state);
      owned.push(c.u, c.psi);
      const update: ParamSet = lcpUpdate(this.net, this.ctrl, p, controlled.state, c);
      sets.push(update);
      out.cosine = alignment(update, grad.descent).overall;
      if (this.ctrl.kind === 'linear-feedback')
        out.alignmentQ = linearFeedbackAlignment(this.net, controlled.state.phi, c.u, this.solver);
      if (this.ctrl.kind === 'dynamic-inversion-kp') out.angleB = feedbackAngles(this.net).B;
      return out;
    } finally {
      for (const set of sets) disposeParamSet(set);
      tf.dispose(owned);
    }
  }

  /** One pass over the training set in a seeded order; `onBatch` sees each update's result. */
  trainEpoch(onBatch?: (done: number, total: number, r: BatchResult) => void): EpochMetrics {
    return drain(this.trainEpochSliced(onBatch));
  }

  *trainEpochSliced(
    onBatch?: (done: number, total: number, r: BatchResult) => void,
  ): Sliced<EpochMetrics> {
    const order = this.streams.order.permutation(this.data.train.count);
    const B = this.config.batch;
    let loss = 0;
    let correct = 0;
    let control = 0;
    let steps = 0;
    const solves = { free: 0, controlled: 0, adjoint: 0 };
    const total = this.batchesPerEpoch;
    const epochStart = performance.now();
    for (let b = 0; b < total; b++) {
      const idx = order.subarray(b * B, Math.min((b + 1) * B, order.length));
      const r = yield* this.trainBatchSliced(idx);
      loss += r.loss * idx.length;
      correct += r.accuracy * idx.length;
      control += r.control * idx.length;
      steps += r.steps;
      solves.free += r.stepsFree;
      solves.controlled += r.stepsControlled ?? 0;
      solves.adjoint += r.stepsAdjoint ?? 0;
      onBatch?.(b + 1, total, r);
    }
    this.epoch++;
    const count = this.data.train.count;
    const evalStart = performance.now();
    const test = yield* this.evaluateSliced(this.data.test);
    const evalEnd = performance.now();
    const fixed = yield* this.fixedBatchMetricsSliced();
    const cls = this.data.classification;
    return {
      epoch: this.epoch,
      loss: loss / count,
      accuracy: cls ? correct / count : null,
      testLoss: test.loss,
      testAccuracy: cls ? test.accuracy : null,
      control: control / count,
      ...fixed,
      steps: steps / total,
      stepsFree: solves.free / total,
      ...(this.config.method !== 'rbp'
        ? { stepsControlled: solves.controlled / total }
        : { stepsAdjoint: solves.adjoint / total }),
      seconds: (performance.now() - this.startTime) / 1000,
      trainSeconds: (evalStart - epochStart) / 1000,
      evalSeconds: (evalEnd - evalStart) / 1000,
      lr: this.lr(),
    };
  }

  dispose(): void {
    disposeNetwork(this.net);
    this.optimizer.dispose();
    if (this.beforeLastUpdate) tf.dispose(Object.values(this.beforeLastUpdate));
    this.beforeLastUpdate = null;
  }
}

type FixedBatchMetrics = Pick<EpochMetrics, 'cosine' | 'spectralRadius' | 'alignmentQ' | 'angleB'>;

function stateTensors(s: DynState): Tensor[] {
  return [s.phi, s.y, s.uI, s.psi];
}

/** Run a relaxation; on divergence free its last good state and raise a plain DivergenceError. */
function* relaxOrThrow(run: Sliced<RelaxResult>): Sliced<RelaxResult> {
  try {
    return yield* run;
  } catch (e) {
    if (e instanceof RelaxDivergence) {
      disposeState(e.lastGood);
      throw new DivergenceError(e.phase, e.step, e.reason);
    }
    throw e;
  }
}
