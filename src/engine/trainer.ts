import { bpGradient, rbpGradient } from './baselines';
import type { TrainConfig } from './config';
import {
  disposeState,
  presentation,
  zeroState,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import { energyRelax } from './energy';
import { DivergenceError } from './errors';
import { decayParams, feedbackAngles, learnQ, linearFeedbackAlignment } from './feedback';
import { controllerSettings, initNetwork } from './init';
import { controlsAt, disposeParamSet, lcpUpdate, type ParamSet } from './learning';
import { correctPerSample, lossPerSample } from './losses';
import { alignment, meanHalfSquaredNorm, stabilityRadius } from './metrics';
import { disposeNetwork, type Network } from './model';
import { learningRate, Optimizer, type Direction } from './optimizer';
import type { Rng } from './rng';
import { relax, RelaxDivergence, type RelaxResult, type SolverSettings } from './solver';
import type { Dataset, Split } from './tasks';
import { tf, type Tensor } from './tf';

/** What one update did, measured on its batch before the update. */
export interface BatchResult {
  /** Mean loss and accuracy at the free equilibrium. */
  loss: number;
  accuracy: number;
  /** Mean ½‖ψ*‖² + ½‖u*‖² (0 for RBP), and its ½‖ψ*‖² part. */
  control: number;
  controlPsi: number;
  /** Solver steps of the controlled solve (LCP) or the free solve (RBP). */
  steps: number;
  converged: boolean;
  /** Cosine of the update with −∇L (RBP at the same free state), NaN when not measured. */
  cosine: number;
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
  seconds: number;
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

/** The seeded streams a trainer draws from (DESIGN.md "Determinism"). */
export interface TrainerStreams {
  init: Rng;
  order: Rng;
  noise: Rng;
}

/**
 * Mini-batch training with the LCP update or the RBP gradient: per-sample control, averaged
 * updates, then the optimiser. Keeps its network unchanged when a solve diverges.
 */
export class Trainer {
  readonly net: Network;
  readonly ctrl: ControllerSettings;
  readonly optimizer: Optimizer;
  epoch = 0;
  updates = 0;
  private readonly startTime = performance.now();

  constructor(
    readonly config: TrainConfig,
    readonly data: Dataset,
    readonly streams: TrainerStreams,
  ) {
    this.net = initNetwork(config, data.m, data.k, streams.init);
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

  /** The free equilibrium of a presentation (exact sweeps for layered nets under RBP/BP). */
  freeEquilibrium(p: Presentation, solver: SolverSettings): RelaxResult {
    return relaxOrThrow(() =>
      relax(
        this.net,
        this.ctrl,
        solver,
        p,
        zeroState(p.drive.shape[0], this.net.n, this.net.k),
        false,
      ),
    );
  }

  /** The controlled equilibrium, started from the free one (energy: from zero or the free state). */
  controlledEquilibrium(p: Presentation, free: DynState): RelaxResult {
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
      return relaxOrThrow(() => energyRelax(this.net, this.ctrl, this.solver, p, start));
    }
    return relaxOrThrow(() => relax(this.net, this.ctrl, this.solver, p, start, true));
  }

  /** One update on the samples `indices` of the training split. */
  trainBatch(indices: ArrayLike<number>, measureCosine = false): BatchResult {
    const batch = batchOf(this.data, this.data.train, indices);
    const p = presentation(this.net, batch.x, batch.target, this.data.loss);
    const owned: Tensor[] = [batch.x, batch.target, p.drive];
    try {
      return this.config.method === 'rbp' ? this.rbpBatch(p) : this.lcpBatch(p, measureCosine);
    } finally {
      tf.dispose(owned);
    }
  }

  private lr(): number {
    return learningRate(this.config, this.updates, this.totalUpdates);
  }

  /** Sees every update's direction (before the optimiser) and the step applied, before disposal. */
  updateObserver: ((direction: Direction, applied: Direction) => void) | null = null;

  private applyDirection(direction: Direction): void {
    const applied = this.optimizer.apply(this.net, direction, this.lr());
    this.updateObserver?.(direction, applied);
    disposeParamSet(applied);
    this.updates++;
  }

  private lcpBatch(p: Presentation, measureCosine: boolean): BatchResult {
    const free = this.freeEquilibrium(p, this.solver);
    const stats = this.freeStats(p, free.state);
    let controlled: RelaxResult;
    let gradient: ParamSet | null = null;
    try {
      if (measureCosine) gradient = this.gradientOrNull(p, free.state);
      controlled = this.controlledEquilibrium(p, free.state);
    } catch (e) {
      if (gradient) disposeParamSet(gradient);
      throw e;
    } finally {
      disposeState(free.state);
    }
    const c = controlsAt(this.net, this.ctrl, p, controlled.state);
    const controlPsi = meanHalfSquaredNorm(c.psi);
    const control = controlPsi + meanHalfSquaredNorm(c.u);
    const update = lcpUpdate(this.net, this.ctrl, p, controlled.state, c);
    const cosine = gradient ? alignment(update, gradient).overall : NaN;
    if (gradient) disposeParamSet(gradient);
    const direction: Direction = { ...update };
    try {
      if (this.ctrl.kind === 'linear-feedback' && this.config.learnQ) {
        learnQ(this.net, this.ctrl, this.config, p, controlled.state, c.u, this.streams.noise);
      }
      if (this.ctrl.kind === 'dynamic-inversion-kp') {
        decayParams(this.net, ['W', 'b', 'D', 'd', 'B', 'F'], this.config.lambdaKP);
        // Kolen–Pollack: ΔB = ρ(φ*) ψ*ᵀ = ΔWᵀ and ΔF = ρ(φ*) u*ᵀ = ΔDᵀ.
        direction.B = tf.transpose(update.W);
        direction.F = tf.transpose(update.D);
      }
      this.applyDirection(direction);
    } finally {
      disposeParamSet(direction);
      disposeState(controlled.state);
      tf.dispose([c.u, c.psi]);
    }
    return {
      ...stats,
      control,
      controlPsi,
      steps: controlled.steps,
      converged: controlled.converged,
      cosine,
    };
  }

  private rbpBatch(p: Presentation): BatchResult {
    const layers = this.layers;
    if (layers !== null) {
      const bp = bpGradient(this.net, layers, p);
      const stats = this.freeStats(p, { phi: bp.phi, y: bp.y } as DynState);
      tf.dispose([bp.phi, bp.y]);
      try {
        this.applyDirection(bp.descent);
      } finally {
        disposeParamSet(bp.descent);
      }
      return { ...stats, control: 0, controlPsi: 0, steps: layers, converged: true, cosine: 1 };
    }
    const free = this.freeEquilibrium(p, this.rbpSolver);
    const stats = this.freeStats(p, free.state);
    try {
      const grad = rbpGradient(this.net, this.rbpSolver, p, free.state.phi, free.state.y);
      try {
        this.applyDirection(grad.descent);
      } finally {
        disposeParamSet(grad.descent);
      }
    } finally {
      disposeState(free.state);
    }
    return {
      ...stats,
      control: 0,
      controlPsi: 0,
      steps: free.steps,
      converged: free.converged,
      cosine: 1,
    };
  }

  /** −∇L by RBP at a free state, or null where the adjoint diverges (no gradient exists). */
  private gradientOrNull(p: Presentation, free: DynState): ParamSet | null {
    try {
      return rbpGradient(this.net, this.solver, p, free.phi, free.y).descent;
    } catch (e) {
      if (e instanceof DivergenceError) return null;
      throw e;
    }
  }

  /** Mean loss and accuracy at a free state. */
  private freeStats(
    p: Presentation,
    s: Pick<DynState, 'phi' | 'y'>,
  ): { loss: number; accuracy: number } {
    const [loss, accuracy] = tf.tidy(() => [
      tf.mean(lossPerSample(p.loss, s.y, p.target)),
      tf.mean(correctPerSample(p.loss, s.y, p.target)),
    ]);
    const out = { loss: loss.dataSync()[0], accuracy: accuracy.dataSync()[0] };
    tf.dispose([loss, accuracy]);
    return out;
  }

  /** Loss and accuracy at the free equilibrium over a whole split, in batches. */
  evaluate(split: Split, batchSize = 256): { loss: number; accuracy: number } {
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < split.count; start += batchSize) {
      const idx = Array.from(
        { length: Math.min(batchSize, split.count - start) },
        (_, i) => start + i,
      );
      const batch = batchOf(this.data, split, idx);
      const p = presentation(this.net, batch.x, batch.target, this.data.loss);
      try {
        const layers = this.layers;
        const state =
          layers !== null && this.config.method === 'rbp'
            ? (() => {
                const bp = bpGradient(this.net, layers, p);
                disposeParamSet(bp.descent);
                return { phi: bp.phi, y: bp.y };
              })()
            : this.freeEquilibrium(p, this.config.method === 'rbp' ? this.rbpSolver : this.solver)
                .state;
        const s = this.freeStats(p, state);
        tf.dispose(Object.values(state));
        loss += s.loss * batch.size;
        correct += s.accuracy * batch.size;
      } finally {
        tf.dispose([batch.x, batch.target, p.drive]);
      }
    }
    return { loss: loss / split.count, accuracy: correct / split.count };
  }

  /**
   * Alignment metrics on a fixed batch (the first samples of the training split): cosine of the
   * method's update with −∇L (RBP at the LCP solver's tolerance) over all parameters, LF's
   * cosine of Q u* with M u*, KP's angle between B and Wᵀ, and ρ(W diag ρ'(φ⁰)) of sample 0.
   */
  fixedBatchMetrics(): Pick<EpochMetrics, 'cosine' | 'spectralRadius' | 'alignmentQ' | 'angleB'> {
    const size = Math.min(this.config.batch, this.data.train.count);
    const batch = batchOf(
      this.data,
      this.data.train,
      Array.from({ length: size }, (_, i) => i),
    );
    const p = presentation(this.net, batch.x, batch.target, this.data.loss);
    const free = this.freeEquilibrium(p, this.solver);
    const out: ReturnType<Trainer['fixedBatchMetrics']> = { cosine: 1, spectralRadius: NaN };
    try {
      const phi0 = tf.slice(free.state.phi, [0, 0], [1, this.net.n]);
      out.spectralRadius = stabilityRadius(this.net.params.W, phi0.dataSync(), this.net.activation);
      phi0.dispose();
      if (this.config.method === 'lcp') {
        let grad: ReturnType<typeof rbpGradient>;
        try {
          grad = rbpGradient(this.net, this.solver, p, free.state.phi, free.state.y);
        } catch (e) {
          // No gradient by RBP where the adjoint is unstable: report the cosine as unknown.
          if (!(e instanceof DivergenceError)) throw e;
          return { ...out, cosine: NaN };
        }
        const controlled = this.controlledEquilibrium(p, free.state);
        const c = controlsAt(this.net, this.ctrl, p, controlled.state);
        const update: ParamSet = lcpUpdate(this.net, this.ctrl, p, controlled.state, c);
        out.cosine = alignment(update, grad.descent).overall;
        if (this.ctrl.kind === 'linear-feedback')
          out.alignmentQ = linearFeedbackAlignment(
            this.net,
            controlled.state.phi,
            c.u,
            this.solver,
          );
        if (this.ctrl.kind === 'dynamic-inversion-kp') out.angleB = feedbackAngles(this.net).B;
        disposeParamSet(update);
        disposeParamSet(grad.descent);
        disposeState(controlled.state);
        tf.dispose([c.u, c.psi]);
      }
    } finally {
      disposeState(free.state);
      tf.dispose([batch.x, batch.target, p.drive]);
    }
    return out;
  }

  /** One pass over the training set in a seeded order; `onBatch` sees each update's result. */
  trainEpoch(onBatch?: (done: number, total: number, r: BatchResult) => void): EpochMetrics {
    const order = this.streams.order.permutation(this.data.train.count);
    const B = this.config.batch;
    let loss = 0;
    let correct = 0;
    let control = 0;
    let steps = 0;
    const total = this.batchesPerEpoch;
    for (let b = 0; b < total; b++) {
      const idx = order.subarray(b * B, Math.min((b + 1) * B, order.length));
      const r = this.trainBatch(idx);
      loss += r.loss * idx.length;
      correct += r.accuracy * idx.length;
      control += r.control * idx.length;
      steps += r.steps;
      onBatch?.(b + 1, total, r);
    }
    this.epoch++;
    const count = this.data.train.count;
    const test = this.evaluate(this.data.test);
    const fixed = this.fixedBatchMetrics();
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
      seconds: (performance.now() - this.startTime) / 1000,
      lr: this.lr(),
    };
  }

  dispose(): void {
    disposeNetwork(this.net);
    this.optimizer.dispose();
  }
}

/** Run a relaxation; on divergence free its last good state and raise a plain DivergenceError. */
function relaxOrThrow(run: () => RelaxResult): RelaxResult {
  try {
    return run();
  } catch (e) {
    if (e instanceof RelaxDivergence) {
      disposeState(e.lastGood);
      throw new DivergenceError(e.phase, e.step, e.reason);
    }
    throw e;
  }
}
