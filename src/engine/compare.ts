/**
 * Compare mode's engine: several learning methods (compareMethods.ts) trained side by side from
 * one seed. Every method gets its own trainer with its own copy of the seeded streams, so all
 * start from the same W, U, D, see the same batches in the same order and draw the same noise;
 * they advance interleaved, one batch of each in turn, and nothing one does touches another's
 * numbers (a method trained alone gives the same curve). Per update each method reports the
 * batch's loss and accuracy at the free equilibrium (before the update), ½‖ψ*‖² and the cosine
 * of its update with −∇L (RBP's gradient at the same free state; 1 for RBP/BP by construction);
 * at every epoch's end, the test split's loss and accuracy.
 */
import type { TrainConfig } from './config';
import {
  isCompareMethod,
  MAX_COMPARE_UPDATES,
  METHOD_INFO,
  methodConfig,
  type CompareMethod,
  type CompareRequest,
} from './compareMethods';
import { DivergenceError } from './errors';
import { initNetworkSliced } from './init';
import { seededStreams } from './rng';
import type { Sliced } from './sliced';
import type { Dataset } from './tasks';
import { Trainer } from './trainer';

/** One update of one method. */
export interface ComparePoint {
  update: number;
  epoch: number;
  loss: number;
  /** null for regression tasks. */
  accuracy: number | null;
  /** Mean ½‖ψ*‖² of the batch (0 for RBP and BP, which use no control). */
  control: number;
  /** cos(update, −∇L) over W, U, b, D, d; NaN where the gradient could not be computed. */
  cosine: number;
  /** At an epoch's end: the test split. */
  testLoss?: number;
  testAccuracy?: number | null;
}

export interface CompareSeries {
  method: CompareMethod;
  status: 'running' | 'done' | 'diverged';
  /** Why it stopped early (a divergence), else null. */
  message: string | null;
  points: ComparePoint[];
}

export interface CompareResult {
  updates: number;
  series: CompareSeries[];
}

export interface CompareOptions {
  /** Measure the cosine with −∇L every this many updates (1 = every one; it costs an RBP solve). */
  cosineEvery?: number;
  /** Evaluate the test split at each epoch's end. */
  evaluate?: boolean;
}

/** One method's trainer and where it is in its seeded order. */
interface MethodRun {
  series: CompareSeries;
  trainer: Trainer;
  order: Uint32Array;
  pos: number;
}

/**
 * Check a request against `base`: known, distinct methods that this network allows, and a whole
 * number of updates from 1 to MAX_COMPARE_UPDATES. Throws an Error naming the problem.
 */
export function checkRequest(base: TrainConfig, request: CompareRequest): CompareRequest {
  if (!Array.isArray(request.methods)) throw new Error('expected a list of methods');
  const methods = request.methods.filter((m, i) => request.methods.indexOf(m) === i);
  if (!methods.length) throw new Error('choose at least one method');
  for (const m of methods) {
    if (!isCompareMethod(m)) throw new Error(`unknown method "${String(m)}"`);
    const r = methodConfig(base, m);
    if ('reason' in r) throw new Error(`${m}: ${r.reason}`);
  }
  const { updates } = request;
  if (!Number.isInteger(updates) || updates < 1 || updates > MAX_COMPARE_UPDATES)
    throw new Error(
      `updates must be a whole number from 1 to ${MAX_COMPARE_UPDATES}, got ${String(updates)}`,
    );
  return { methods, updates: request.updates };
}

export class Comparison {
  private constructor(
    readonly runs: MethodRun[],
    readonly data: Dataset,
    private readonly options: Required<CompareOptions>,
  ) {}

  /**
   * The trainers for `methods` on `base` and `data` (data drawn from base's seed, shared: it is
   * only read). Each network is drawn from a fresh `init` stream of the seed.
   */
  static *create(
    base: TrainConfig,
    data: Dataset,
    methods: CompareMethod[],
    options: CompareOptions = {},
  ): Sliced<Comparison> {
    const runs: MethodRun[] = [];
    let ok = false;
    try {
      for (const method of methods) {
        const r = methodConfig(base, method);
        if ('reason' in r) throw new Error(`${method}: ${r.reason}`);
        const streams = seededStreams(r.config.seed);
        const init = streams.stream('init');
        const net = yield* initNetworkSliced(r.config, data.m, data.k, init);
        const trainer = new Trainer(
          r.config,
          data,
          { init, order: streams.stream('order'), noise: streams.stream('noise') },
          net,
        );
        runs.push({
          series: { method, status: 'running', message: null, points: [] },
          trainer,
          order: new Uint32Array(0),
          pos: 0,
        });
      }
      ok = true;
      return new Comparison(runs, data, {
        cosineEvery: Math.max(1, Math.floor(options.cosineEvery ?? 1)),
        evaluate: options.evaluate ?? true,
      });
    } finally {
      if (!ok) for (const r of runs) r.trainer.dispose();
    }
  }

  get series(): CompareSeries[] {
    return this.runs.map((r) => r.series);
  }

  /**
   * `updates` rounds, each one batch of every method still running, in the methods' order.
   * `onPoint` sees each point as it is made. A method that diverges stops (its series says why);
   * the others go on. Stopped early (return()), every method keeps the points it has.
   */
  *runSliced(
    updates: number,
    onPoint?: (series: CompareSeries, point: ComparePoint) => void,
  ): Sliced<CompareResult> {
    const total = updates * this.runs.length;
    let done = 0;
    for (let u = 0; u < updates; u++) {
      for (const run of this.runs) {
        if (run.series.status !== 'running') continue;
        yield { stage: `${METHOD_INFO[run.series.method].label}, update ${u + 1}`, done, total };
        const point = yield* this.step(run);
        done++;
        if (point) onPoint?.(run.series, point);
      }
    }
    for (const run of this.runs) if (run.series.status === 'running') run.series.status = 'done';
    return { updates, series: this.series };
  }

  /** One update of one method on its next batch (the CLI's and the app's batching). */
  private *step(run: MethodRun): Sliced<ComparePoint | null> {
    const { trainer } = run;
    const count = this.data.train.count;
    if (run.pos >= run.order.length) {
      run.order = trainer.streams.order.permutation(count);
      run.pos = 0;
    }
    const B = Math.min(trainer.config.batch, run.order.length - run.pos);
    const indices = run.order.subarray(run.pos, run.pos + B);
    run.pos += B;
    const measure = trainer.updates % this.options.cosineEvery === 0;
    try {
      const r = yield* trainer.trainBatchSliced(indices, measure);
      const cls = this.data.classification;
      const point: ComparePoint = {
        update: trainer.updates,
        epoch: trainer.epoch,
        loss: r.loss,
        accuracy: cls ? r.accuracy : null,
        control: r.controlPsi,
        cosine: r.cosine,
      };
      if (trainer.updates % trainer.batchesPerEpoch === 0) {
        trainer.epoch++;
        point.epoch = trainer.epoch;
        if (this.options.evaluate) {
          const test = yield* trainer.evaluateSliced(this.data.test);
          point.testLoss = test.loss;
          point.testAccuracy = cls ? test.accuracy : null;
        }
      }
      run.series.points.push(point);
      return point;
    } catch (e) {
      if (!(e instanceof DivergenceError)) throw e;
      run.series.status = 'diverged';
      run.series.message = `diverged at update ${trainer.updates + 1} (${e.phase} dynamics: ${e.reason})`;
      return null;
    }
  }

  dispose(): void {
    for (const r of this.runs) r.trainer.dispose();
  }
}

/** A comparison from start to end: build, run, dispose (tests, the worker's job). */
export function* compareSliced(
  base: TrainConfig,
  data: Dataset,
  request: CompareRequest,
  onPoint?: (series: CompareSeries, point: ComparePoint) => void,
  options?: CompareOptions,
): Sliced<CompareResult> {
  const { methods, updates } = checkRequest(base, request);
  const c = yield* Comparison.create(base, data, methods, options);
  try {
    return yield* c.runSliced(updates, onPoint);
  } finally {
    c.dispose();
  }
}
