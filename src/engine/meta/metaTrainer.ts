/**
 * Meta-training of ω (the slow weights) on sinusoid tasks, by one of three rules with the same
 * budget (meta-batch, adaptation steps, Adam on ω):
 *   lcp:   Δω = (∂f/∂ω)ᵀ ψ* = λψ* at the controlled equilibrium (dynamic inversion or energy);
 *   imaml: −dL_query(w*(ω))/dω = −λ(H_support + λI)⁻¹ ∇L_query(w*), by conjugate gradients;
 *   fo:    −∇L_query(w*) applied to ω (first order).
 * Each is averaged over the meta-batch and applied by Adam. One seed: ω's initialisation, the
 * training tasks (in order) and the fixed meta-test tasks come from separate streams of it.
 */
import { ADAM, adamMoments } from '../adam';
import { seededStreams, type Rng } from '../rng';
import { drain, type Sliced } from '../sliced';
import { tf } from '../tf';
import type { MetaConfig } from './config';
import {
  allFinite,
  dispose,
  dynamicInversionSliced,
  energyControlSliced,
  implicitGradientSliced,
  neg,
  relaxSliced,
  rowNorms,
  sumRows,
  tileRows,
  vjpParams,
  type Blocks,
  type ControlResult,
} from './equilibriumSystem';
import {
  disposeTasks,
  FastWeights,
  sampleTasks,
  SinusoidNet,
  taskTensors,
  type TaskBatch,
} from './sinusoid';

/** What one meta-update measured (means over its tasks). */
export interface MetaStep {
  /** Query MSE at the free equilibrium w* (before the update). */
  queryLoss: number;
  /** Support MSE at w*. */
  supportLoss: number;
  /** LCP: mean ‖ψ*‖ over the tasks; null for the other rules. */
  psiNorm: number | null;
  /** The free adaptation's steps and relative residual ‖f‖ (its largest over the tasks). */
  steps: number;
  residual: number;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : NaN;
}

export class MetaTrainer {
  readonly net: SinusoidNet;
  /** ω as blocks [1, …]. */
  omega: Blocks;
  private m: Blocks;
  private v: Blocks;
  private readonly taskRng: Rng;
  readonly testTasks: TaskBatch;
  updates = 0;

  constructor(readonly config: MetaConfig) {
    const root = seededStreams(config.seed);
    this.net = new SinusoidNet(config.hidden);
    const w0 = this.net.init(root.stream('meta/init'));
    this.omega = this.net.blocks(w0);
    this.m = this.omega.map((b) => tf.zerosLike(b));
    this.v = this.omega.map((b) => tf.zerosLike(b));
    this.taskRng = root.stream('meta/tasks');
    this.testTasks = sampleTasks(
      root.stream('meta/test'),
      config.testTasks,
      config.shots,
      config.queries,
    );
  }

  /** ω repeated for `count` tasks: the θ of their FastWeights system (the caller disposes it). */
  omegaRows(count: number): Blocks {
    return tf.tidy(() => tileRows(this.omega, count));
  }

  /** The free equilibrium w*(ω) of every task, from w = ω (`omegaRows` = ω per task). */
  adaptSliced(system: FastWeights, omegaRows: Blocks) {
    const c = this.config;
    return relaxSliced(system, omegaRows, omegaRows, {
      dt: c.innerLr,
      momentum: c.momentum,
      steps: c.innerSteps,
      tol: c.tol,
    });
  }

  /** LCP's controlled equilibrium from the free one, with the configured controller. */
  controlSliced(system: FastWeights, wFree: Blocks, omegaRows: Blocks): Sliced<ControlResult> {
    const c = this.config;
    const opts = {
      alpha: c.alpha,
      steps: c.controlSteps,
      lr: c.controller === 'energy' ? c.controlLr : c.innerLr,
      momentum: c.momentum,
    };
    return c.controller === 'energy'
      ? energyControlSliced(system, system.query, wFree, omegaRows, opts)
      : dynamicInversionSliced(system, system.query, wFree, omegaRows, opts);
  }

  /** One meta-update on a fresh meta-batch. */
  *stepSliced(): Sliced<MetaStep> {
    const c = this.config;
    const batch = sampleTasks(this.taskRng, c.metaBatch, c.shots, c.queries);
    const tasks = taskTensors(batch);
    const system = new FastWeights(this.net, tasks, c.lambda);
    const omegaRows = this.omegaRows(batch.count);
    const disposables: Blocks = [...omegaRows];
    try {
      const free = yield* this.adaptSliced(system, omegaRows);
      disposables.push(...free.s);
      const { loss: qLoss, grad: qGrad } = tf.tidy(() => system.query(free.s));
      disposables.push(qLoss, ...qGrad);
      const sLoss = tf.tidy(() => this.net.loss(free.s, tasks.xs, tasks.ys));
      disposables.push(sLoss);
      // The meta-gradient estimate g (Adam descends along it), summed over the tasks.
      let gradSum: Blocks;
      let psiNorm: number | null = null;
      if (c.method === 'lcp') {
        const ctl = yield* this.controlSliced(system, free.s, omegaRows);
        disposables.push(...ctl.s, ...ctl.psi);
        psiNorm = mean(rowNorms(ctl.psi));
        // Δω = (∂f/∂ω)ᵀψ* is a descent direction: g = −Δω.
        gradSum = tf.tidy(() => neg(sumRows(vjpParams(system, ctl.s, omegaRows, ctl.psi))));
      } else if (c.method === 'imaml') {
        const r = yield* implicitGradientSliced(system, free.s, omegaRows, qGrad, c.cgSteps);
        dispose(r.z);
        gradSum = tf.tidy(() => sumRows(r.grad));
        dispose(r.grad);
      } else {
        gradSum = tf.tidy(() => sumRows(qGrad));
      }
      disposables.push(...gradSum);
      this.applyAdam(gradSum, batch.count);
      return {
        queryLoss: mean(qLoss.dataSync()),
        supportLoss: mean(sLoss.dataSync()),
        psiNorm,
        steps: free.steps,
        residual: free.residual,
      };
    } finally {
      dispose(disposables);
      disposeTasks(tasks);
    }
  }

  /** ω ← ω − η·Adam(g/T); a non-finite g changes nothing and throws. */
  private applyAdam(gradSum: Blocks, count: number): void {
    if (!allFinite(gradSum)) throw new Error('the meta-gradient is not finite');
    this.updates++;
    const t = this.updates;
    const lr = this.config.metaLr;
    const next = tf.tidy(() =>
      gradSum.map((gs, i) => {
        const g = tf.mul(gs, 1 / count);
        const { m, v } = adamMoments(g, this.m[i], this.v[i]);
        const mHat = tf.mul(m, 1 / (1 - ADAM.beta1 ** t));
        const vHat = tf.mul(v, 1 / (1 - ADAM.beta2 ** t));
        const step = tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM.eps));
        return [tf.sub(this.omega[i], tf.mul(step, lr)), m, v];
      }),
    );
    dispose(this.omega);
    dispose(this.m);
    dispose(this.v);
    this.omega = next.map((x) => x[0]);
    this.m = next.map((x) => x[1]);
    this.v = next.map((x) => x[2]);
  }

  /** Mean query MSE over the meta-test tasks after free adaptation from ω (and before it). */
  *evaluateSliced(tasksOf: TaskBatch = this.testTasks): Sliced<{ after: number; before: number }> {
    const tasks = taskTensors(tasksOf);
    const system = new FastWeights(this.net, tasks, this.config.lambda);
    const omegaRows = this.omegaRows(tasksOf.count);
    try {
      const free = yield* this.adaptSliced(system, omegaRows);
      try {
        const after = tf.tidy(() => this.net.loss(free.s, tasks.xq, tasks.yq));
        const before = tf.tidy(() => this.net.loss(omegaRows, tasks.xq, tasks.yq));
        const out = { after: mean(after.dataSync()), before: mean(before.dataSync()) };
        after.dispose();
        before.dispose();
        return out;
      } finally {
        dispose(free.s);
      }
    } finally {
      dispose(omegaRows);
      disposeTasks(tasks);
    }
  }

  evaluate(): { after: number; before: number } {
    return drain(this.evaluateSliced());
  }

  dispose(): void {
    dispose(this.omega);
    dispose(this.m);
    dispose(this.v);
  }
}
