/**
 * Running a sweep's points: one point is a short training from a configuration and a seed
 * (data, initial weights, order and noise all drawn from that seed), then its measures. The CLI
 * trains epochs and prints the last epoch's line; the app trains a few updates per point.
 */
import type { TrainConfig } from './config';
import { DivergenceError, InputError } from './errors';
import { seededStreams } from './rng';
import type { Sliced } from './sliced';
import { cellOverrides, pointConfig, type SweepPlan } from './sweep';
import { createDataset } from './tasks';
import type { MnistData } from './tasks/mnistData';
import { Trainer, type BatchResult, type EpochMetrics } from './trainer';

/** A run's measures at its end (NaN: not measured, e.g. accuracy of a regression). */
export interface RunMetrics {
  /** Mean training loss, control and solver steps over the last epoch's worth of updates. */
  loss: number;
  control: number;
  steps: number;
  /** Loss and accuracy of the free network on the test split after training. */
  testLoss: number;
  testAccuracy: number;
  /** Cosine of the update with −∇L on the fixed batch (1 for RBP, NaN without a gradient). */
  cosine: number;
}

export interface RunOutcome {
  diverged: boolean;
  /** Why it diverged, else null. */
  reason: string | null;
  /** The measures, or null when the run diverged before they were taken. */
  metrics: RunMetrics | null;
  /** Epochs mode: every finished epoch's metrics (those before a divergence stand). */
  epochs: EpochMetrics[];
}

/** How long a run trains: whole epochs (the CLI) or a number of updates (the app). */
export type RunBudget = { epochs: number } | { updates: number };

type OnBatch = (epoch: number, done: number, total: number, r: BatchResult) => void;

/** A trainer for `config`, drawn from its seed as `lcp train` draws it. */
export function seededTrainer(config: TrainConfig, mnist?: MnistData): Trainer {
  const streams = seededStreams(config.seed);
  const data = createDataset(config, streams.stream('data'), mnist);
  return new Trainer(config, data, {
    init: streams.stream('init'),
    order: streams.stream('order'),
    noise: streams.stream('noise'),
  });
}

/** Train `config` within `budget` and measure it; a divergence is the run's outcome. */
export function* trainRunSliced(
  config: TrainConfig,
  budget: RunBudget,
  mnist?: MnistData,
  onBatch?: OnBatch,
): Sliced<RunOutcome> {
  const trainer = seededTrainer(config, mnist);
  const epochs: EpochMetrics[] = [];
  try {
    const metrics =
      'epochs' in budget
        ? yield* epochsRun(trainer, budget.epochs, epochs, onBatch)
        : yield* updatesRun(trainer, budget.updates, onBatch);
    return { diverged: false, reason: null, metrics, epochs };
  } catch (e) {
    if (!(e instanceof DivergenceError)) throw e;
    return { diverged: true, reason: e.message, metrics: null, epochs };
  } finally {
    trainer.dispose();
  }
}

function* epochsRun(
  trainer: Trainer,
  count: number,
  epochs: EpochMetrics[],
  onBatch?: OnBatch,
): Sliced<RunMetrics> {
  for (let e = 0; e < count; e++)
    epochs.push(yield* trainer.trainEpochSliced((done, total, r) => onBatch?.(e, done, total, r)));
  const m = epochs.at(-1);
  if (!m) throw InputError.single('epochs', 'a run needs at least one epoch');
  return { ...m, testAccuracy: m.testAccuracy ?? NaN };
}

/**
 * `count` updates on mini-batches in a seeded order (a new permutation each epoch, as
 * trainEpoch draws it), then the test split and the fixed batch's alignment.
 */
function* updatesRun(trainer: Trainer, count: number, onBatch?: OnBatch): Sliced<RunMetrics> {
  const B = trainer.config.batch;
  const perEpoch = trainer.batchesPerEpoch;
  const window = Math.min(count, perEpoch);
  let order: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  let loss = 0;
  let control = 0;
  let steps = 0;
  let samples = 0;
  for (let u = 0; u < count; u++) {
    const b = u % perEpoch;
    if (b === 0) order = trainer.streams.order.permutation(trainer.data.train.count);
    const idx = order.subarray(b * B, Math.min((b + 1) * B, order.length));
    const r = yield* trainer.trainBatchSliced(idx);
    onBatch?.(Math.floor(u / perEpoch), u + 1, count, r);
    // The last epoch's worth of updates, weighted by batch size as an epoch's mean is.
    if (u >= count - window) {
      loss += r.loss * idx.length;
      control += r.control * idx.length;
      steps += r.steps;
      samples += idx.length;
    }
  }
  const test = yield* trainer.evaluateSliced(trainer.data.test);
  const fixed = yield* trainer.fixedBatchMetricsSliced();
  return {
    loss: loss / samples,
    control: control / samples,
    steps: steps / window,
    testLoss: test.loss,
    testAccuracy: trainer.data.classification ? test.accuracy : NaN,
    cosine: fixed.cosine,
  };
}

/** One run of a sweep: its cell, values and seed, and how it ended. */
export interface SweepPoint {
  /** Index into the plan's cells. */
  cell: number;
  values: number[];
  seed: number;
  status: 'ok' | 'diverged' | 'failed';
  /** Why it diverged or failed, else null. */
  reason: string | null;
  metrics: RunMetrics | null;
}

/**
 * Every run of `plan` on `base`: each cell on seeds base.seed, base.seed + 1, …, the seeds of a
 * cell one after another (its mean is complete early). A point the schema refuses, or whose
 * training fails, is a point with its reason; the sweep goes on.
 */
export function* sweepSliced(
  base: TrainConfig,
  plan: SweepPlan,
  onPoint: (p: SweepPoint) => void,
  mnist?: MnistData,
): Sliced<void> {
  const { seeds, updates } = plan.request;
  for (let c = 0; c < plan.cells.length; c++) {
    const values = plan.cells[c];
    for (let s = 0; s < seeds; s++) {
      const seed = base.seed + s;
      const point: SweepPoint = {
        cell: c,
        values,
        seed,
        status: 'ok',
        reason: null,
        metrics: null,
      };
      try {
        const config = pointConfig(base, cellOverrides(plan, values), seed);
        const run = yield* trainRunSliced(config, { updates }, mnist);
        point.metrics = run.metrics;
        // A loss that blew up without the solver noticing is a divergence too.
        const m = run.metrics;
        const finite = m !== null && Number.isFinite(m.loss) && Number.isFinite(m.testLoss);
        point.status = run.diverged || !finite ? 'diverged' : 'ok';
        point.reason = run.reason ?? (finite ? null : 'the loss is not finite');
      } catch (e) {
        point.status = 'failed';
        point.reason = e instanceof Error ? e.message : String(e);
      }
      onPoint(point);
    }
  }
}
