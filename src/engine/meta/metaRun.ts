/**
 * The meta-learning chapter's run: LCP, the implicit gradient and first order meta-trained side
 * by side from one seed (the same ω₀, the same tasks in the same order), one meta-update of each
 * in turn, with what its views draw: ‖ψ*‖ per LCP update, every method's meta-test loss now and
 * then, and one fixed task adapted from LCP's ω — its support points, its true curve and the
 * predictions at ω, at the free equilibrium w* and under control. Stopped part-way, an update
 * that had not finished changes nothing; training again continues from where it stopped.
 */
import { seededStreams } from '../rng';
import { drain, type Sliced } from '../sliced';
import { tf } from '../tf';
import { META_METHODS, parseMetaConfig, type MetaConfig, type MetaMethod } from './config';
import { dispose, rowNorms } from './equilibriumSystem';
import { MetaTrainer } from './metaTrainer';
import {
  disposeTasks,
  FastWeights,
  INPUT_RANGE,
  sampleTasks,
  sinusoid,
  taskTensors,
  type TaskBatch,
} from './sinusoid';

/** Meta-test losses are measured every this many updates (of each method); the demo task is
 *  adapted again after every update (one task: a fraction of an update's cost). */
export const EVAL_EVERY = 5;

/** Points of the drawn curves over the input range. */
export const DEMO_POINTS = 101;

export interface MetaSeries {
  method: MetaMethod;
  /** Query MSE at the free equilibrium of each meta-update's tasks (before the update). */
  trainLoss: number[];
  /** Meta-test query MSE after adaptation, at `updates` meta-updates. */
  test: { updates: number; loss: number }[];
}

/** One task, adapted from LCP's current ω: what the chapter's plot view draws. */
export interface MetaDemo {
  amplitude: number;
  phase: number;
  supportX: number[];
  supportY: number[];
  x: number[];
  truth: number[];
  /** Predictions at ω (before adaptation), at w* (free adaptation) and at the controlled w. */
  omega: number[];
  adapted: number[];
  controlled: number[];
  /** ‖ψ*‖ for this task, and its query MSE at w*. */
  psiNorm: number;
  queryLoss: number;
}

export interface MetaView {
  config: MetaConfig;
  /** Meta-updates of each method so far. */
  updates: number;
  /** LCP's mean ‖ψ*‖ over each update's tasks. */
  psi: number[];
  series: MetaSeries[];
  demo: MetaDemo | null;
}

export class MetaComparison {
  readonly trainers: MetaTrainer[];
  readonly series: MetaSeries[];
  readonly psi: number[] = [];
  readonly demoTask: TaskBatch;
  demo: MetaDemo | null = null;

  constructor(readonly config: MetaConfig) {
    this.trainers = META_METHODS.map(
      (method) => new MetaTrainer(parseMetaConfig({ ...config, method })),
    );
    this.series = META_METHODS.map((method) => ({ method, trainLoss: [], test: [] }));
    this.demoTask = sampleTasks(
      seededStreams(config.seed).stream('meta/demo'),
      1,
      config.shots,
      config.queries,
    );
  }

  get updates(): number {
    return Math.min(...this.trainers.map((t) => t.updates));
  }

  view(): MetaView {
    return {
      config: this.config,
      updates: this.updates,
      psi: this.psi.slice(),
      series: this.series.map((s) => ({
        ...s,
        trainLoss: s.trainLoss.slice(),
        test: s.test.slice(),
      })),
      demo: this.demo,
    };
  }

  /** The meta-test losses at the current update count. */
  *measureSliced(): Sliced<void> {
    for (let i = 0; i < this.trainers.length; i++) {
      const r = yield* this.trainers[i].evaluateSliced();
      this.series[i].test.push({ updates: this.trainers[i].updates, loss: r.after });
    }
  }

  /**
   * `updates` more meta-updates of every method (one of each in turn), measuring every
   * EVAL_EVERY; `onUpdate` after each method's update. Measures once first when nothing is yet.
   */
  *runSliced(updates: number, onUpdate: () => void): Sliced<void> {
    if (!this.demo) {
      yield* this.measureSliced();
      this.demo = yield* demoSliced(this.trainers[0], this.demoTask);
    }
    for (let u = 0; u < updates; u++) {
      for (let i = 0; i < this.trainers.length; i++) {
        const s = yield* this.trainers[i].stepSliced();
        this.series[i].trainLoss.push(s.queryLoss);
        if (s.psiNorm !== null) this.psi.push(s.psiNorm);
        if (i === 0) this.demo = yield* demoSliced(this.trainers[0], this.demoTask);
        onUpdate();
      }
      if (this.updates % EVAL_EVERY === 0) yield* this.measureSliced();
    }
  }

  run(updates: number): void {
    drain(this.runSliced(updates, () => undefined));
  }

  dispose(): void {
    for (const t of this.trainers) t.dispose();
  }
}

/** The demo task adapted from `trainer`'s ω, freely and under LCP's control, on a grid. */
export function* demoSliced(trainer: MetaTrainer, task: TaskBatch): Sliced<MetaDemo> {
  const tasks = taskTensors(task);
  const system = new FastWeights(trainer.net, tasks, trainer.config.lambda);
  const omega = trainer.omegaRows(1);
  const [x0, x1] = INPUT_RANGE;
  const x = Array.from({ length: DEMO_POINTS }, (_, i) => x0 + ((x1 - x0) * i) / (DEMO_POINTS - 1));
  const grid = tf.tensor3d(x, [1, DEMO_POINTS, 1]);
  const held = [...omega, grid];
  try {
    const free = yield* trainer.adaptSliced(system, omega);
    held.push(...free.s);
    const ctl = yield* trainer.controlSliced(system, free.s, omega);
    held.push(...ctl.s, ...ctl.psi);
    const read = (w: typeof omega) => {
      const y = tf.tidy(() => trainer.net.predict(w, grid));
      const out = Array.from(y.dataSync());
      y.dispose();
      return out;
    };
    const q = tf.tidy(() => trainer.net.loss(free.s, tasks.xq, tasks.yq));
    const queryLoss = q.dataSync()[0];
    q.dispose();
    return {
      amplitude: task.amplitude[0],
      phase: task.phase[0],
      supportX: Array.from(task.xs),
      supportY: Array.from(task.ys),
      x,
      truth: x.map((v) => sinusoid(task.amplitude[0], task.phase[0], v)),
      omega: read(omega),
      adapted: read(free.s),
      controlled: read(ctl.s),
      psiNorm: rowNorms(ctl.psi)[0],
      queryLoss,
    };
  } finally {
    dispose(held);
    disposeTasks(tasks);
  }
}
