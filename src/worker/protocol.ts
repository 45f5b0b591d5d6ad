/**
 * The typed message protocol between the main thread and the engine's worker. Commands go in,
 * snapshots and replies come out; typed arrays travel as transferables.
 */
import type { LogBase, LogEntry, ParamKey } from '../engine/actionLog';
import type { BackendChoice, TrainConfig } from '../engine/config';
import type { AlphaSweepResult } from '../engine/alphaSweep';
import type { DivergenceFix } from '../engine/diagnosis';
import type { DigitResponse, TestEvaluation } from '../engine/digits';
import type { EpResult } from '../engine/ep';
import type { SweepRequest } from '../engine/sweep';
import type { SweepPoint } from '../engine/sweepRun';
import type { CompareResult } from '../engine/compare';
import type { CompareRequest } from '../engine/compareMethods';
import type { MetaView } from '../engine/meta/metaRun';
import type {
  Checkpoint,
  UpdateState,
  LearningPoint,
  MatrixData,
  SimMarker,
  SimMetrics,
  SimPhase,
  TraceSample,
} from '../engine/simulation';

// The engine defines what it measures; the protocol carries it as is.
export type { LearningPoint, MarkerKind, TraceSample, UpdateState } from '../engine/simulation';
export type StatusMetrics = SimMetrics;
export type Marker = SimMarker;
/** A parameter as a flat row-major array with its shape ([n] for vectors). */
export type Matrix = MatrixData;

/** One word for what the engine is doing (the status bar shows it). */
export type Phase = SimPhase;

export type { ParamKey } from '../engine/actionLog';

export interface WeightsSnapshot {
  /** Increases whenever any weight changed (update, edit, reset). */
  version: number;
  params: Partial<Record<ParamKey, Matrix>>;
  /** The last LCP update direction (before the optimiser) and the step actually applied. */
  lastUpdate: Partial<Record<ParamKey, Matrix>> | null;
  appliedStep: Partial<Record<ParamKey, Matrix>> | null;
  /** The last update's first sample at its controlled equilibrium (ψ*, φ*, ρ(φ*)), if LCP. */
  lastUpdateAt: UpdateState | null;
  /** 0/1 mask of W (layered nets), null when dense. */
  maskW: Float32Array | null;
  /** Hidden block sizes for layered nets (one block for recurrent). */
  layers: number[];
}

/** What the engine is busy with (a job of the worker), for the progress bar and Cancel. */
export interface Busy {
  kind:
    | 'build'
    | 'refresh'
    | 'control'
    | 'step'
    | 'equilibrium'
    | 'learn'
    | 'train'
    | 'next'
    | 'edit'
    | 'replay'
    | AnalysisKind;
  /** What a user reads: "Training", "Building the network", … */
  label: string;
  /** The job's progress: updates for Train, 0/1 otherwise. */
  done: number;
  total: number;
  /** The piece running now (a solve, drawing weights, evaluation) and its progress. */
  stage: string;
  stageDone: number;
  stageTotal: number;
  /** Estimated from the pace so far (null until there is one). */
  secondsLeft: number | null;
  /** Train 1 epoch: the epoch (1-based) and its batch count, done so far and in all. */
  epoch?: { epoch: number; batch: number; batches: number };
  /**
   * The engine is in a step it cannot slice (loading data, measuring backends, compiling
   * shaders): heartbeats may wait a few seconds.
   */
  blocking?: boolean;
}

export type { Checkpoint, DigitResponse, DivergenceFix, TestEvaluation };
export type { AlphaPoint, AlphaSweepResult } from '../engine/alphaSweep';
export type { EpPoint, EpResult, LcpPoint, Trace } from '../engine/ep';
export type { SweepRequest } from '../engine/sweep';
export type { SweepPoint } from '../engine/sweepRun';
export type { ComparePoint, CompareResult, CompareSeries } from '../engine/compare';
export type { CompareMethod, CompareRequest } from '../engine/compareMethods';
export type { MetaDemo, MetaSeries, MetaView } from '../engine/meta/metaRun';

/** The analyses a chapter's scene or the user asks for (worker jobs with a reply). */
export type AnalysisKind = 'alphaSweep' | 'epCompare' | 'sweep' | 'compare' | 'metaTrain';

/** What views draw: the current sample's state and what changed. */
export interface Snapshot {
  seq: number;
  /** Simulated time (units of τ) and Euler steps since reset. */
  t: number;
  step: number;
  phase: Phase;
  control: boolean;
  /** Is play running (it stops by itself on divergence)? */
  playing: boolean;
  /**
   * The ids of the last play and control commands handled: until they reach the page's last,
   * a snapshot's `playing` and `control` predate the user's latest click.
   */
  acked: { play: number; control: number };
  n: number;
  m: number;
  k: number;
  /** Index of the current sample in the training split, and the epoch/update counters. */
  sample: number;
  epoch: number;
  updates: number;
  phi: Float32Array;
  rate: Float32Array;
  psi: Float32Array;
  y: Float32Array;
  u: Float32Array;
  x: Float32Array;
  target: Float32Array;
  /** Free equilibrium of the current sample (for ‖φ* − φ⁰‖ and the phase portrait), if known. */
  freePhi: Float32Array | null;
  metrics: StatusMetrics;
  /** Present only when the weights changed since the last snapshot. */
  weights?: WeightsSnapshot;
  /** Learning-curve points appended since the last snapshot. */
  learning: LearningPoint[];
  /** Trace samples taken since the last snapshot (every `traceStride` steps; see Simulation). */
  trace: TraceSample[];
  markers: Marker[];
  /** The job running now, or null. */
  busy: Busy | null;
}

/** Data for the task view, sent on reset (2-D tasks: all points; MNIST: a few test digits). */
export interface TaskData {
  task: string;
  m: number;
  k: number;
  classification: boolean;
  image: { rows: number; cols: number } | null;
  /** Training inputs [count, m] and labels (classification) or targets [count, k]. */
  trainX: Float32Array;
  trainY: Float32Array;
  testX: Float32Array;
  testY: Float32Array;
}

/** A vector field of the free dynamics on a 2-D slice through the current state. */
export interface FlowFieldRequest {
  /** The two hidden units spanning the slice. */
  i: number;
  j: number;
  /** Extent of both axes, [min, max]. */
  range: [number, number];
  /** Grid points per axis. */
  size: number;
}

export interface FlowField extends FlowFieldRequest {
  /** dφ_i/dt and dφ_j/dt of the free dynamics on the grid (row-major, j along rows), and the
   *  output error ‖Dρ(φ) + d − t‖ (the target set is its zero contour). */
  di: Float32Array;
  dj: Float32Array;
  outputError: Float32Array;
}

/** Predictions of the free network over the input plane (2-D tasks) or on test samples. */
export interface DecisionMap {
  /** Grid points per axis over [-1.2, 1.2]², row-major; value = p(class 1) or output 0. */
  size: number;
  extent: [number, number];
  values: Float32Array;
  /** Predicted class (or output 0) of each test sample, for MNIST digits and regression. */
  testPredictions: Float32Array;
}

export type Command =
  /** `fresh`: build a new network even if no field needs it (a chapter starts from scratch). */
  | { type: 'configure'; config: TrainConfig; fresh?: boolean }
  | { type: 'reset'; seed?: number }
  /** `id` (increasing) is echoed in snapshots' `acked`, so the page knows when it took effect. */
  | { type: 'play'; playing: boolean; id?: number }
  | { type: 'step'; steps: number }
  | { type: 'equilibrium' }
  | { type: 'control'; on: boolean; id?: number }
  | { type: 'learn' }
  | { type: 'train'; updates: number }
  /** Train to the end of the current epoch (a whole one from its start): its test evaluation. */
  | { type: 'trainEpoch' }
  /**
   * The free and controlled response to one input `x` (m values, standardised as the data is),
   * controlled toward class `target` (null: the free prediction). Answered between slices of
   * other work, even while training; a newer request supersedes one not answered yet.
   */
  /** A drawn digit: gray levels in [0, 1], DIGIT_SIDE² (scaled here as the network's dataset). */
  | { type: 'digitResponse'; id: number; pixels: Float32Array; target: number | null }
  | { type: 'stop' }
  | { type: 'speed'; stepsPerFrame: number }
  | { type: 'learnWhilePlaying'; on: boolean }
  | { type: 'nextSample' }
  | { type: 'edit'; target: 'param'; name: ParamKey; row: number; col: number; value: number }
  | { type: 'edit'; target: 'input' | 'target'; index: number; value: number }
  | { type: 'flowField'; request: FlowFieldRequest; id: number }
  | { type: 'decisionMap'; size: number; id: number }
  /** The main thread has drawn snapshot `seq`: the worker may send the next (back-pressure). */
  | { type: 'ack'; seq: number }
  | { type: 'backend'; choice: BackendChoice }
  /** Heartbeat: the worker answers `pong` at once unless it is dead or stuck. */
  | { type: 'ping'; id: number }
  /** Rebuild with `config` and continue from a saved checkpoint (a restored session). */
  | { type: 'restore'; config: TrainConfig; checkpoint: Checkpoint }
  /** Test hook: lose the WebGL context as a real GPU reset would. */
  | { type: 'loseContext' }
  /** The α sweep of the current sample (default α: 1e-3 … 1e3, 19 points). */
  | { type: 'alphaSweep'; id: number; alphas?: number[] }
  /** EP's two phases against LCP's one on the current sample (default β: 1e-4 … 1, 9 points). */
  | { type: 'epCompare'; id: number; betas?: number[] }
  /**
   * A parameter sweep from the running configuration: short trainings of fresh networks, one
   * `sweepPoint` reply per run as it ends, then `sweepDone` (or `analysisFailed` when stopped).
   */
  | { type: 'sweep'; id: number; request: SweepRequest }
  /** Compare mode: train these methods side by side from the seed (fresh networks, same data). */
  | { type: 'compare'; id: number; request: CompareRequest }
  /**
   * Meta-learning (the sinusoid chapter): `updates` more meta-updates of LCP, the implicit
   * gradient and first order side by side, continuing the worker's run (a new one after
   * `metaReset` or a new network); `metaTrain` replies as it goes.
   */
  | { type: 'metaTrain'; id: number; updates: number }
  | { type: 'metaReset' }
  /** Build `config` from its seed and replay `log` on it (an opened link), with progress. */
  | { type: 'replay'; id: number; config: TrainConfig; log: LogEntry[] };

export interface Notice {
  level: 'info' | 'warning' | 'error';
  text: string;
  /** Notices with the same key replace each other (one notice per kind of event). */
  key?: string;
  /** A configuration change that should cure the problem, offered as a button. */
  fix?: DivergenceFix;
}

export type WorkerMessage =
  | { type: 'ready'; backend: string; reason: string }
  | { type: 'snapshot'; snapshot: Snapshot }
  /** `fresh`: a new network (views start over); else the same run's data changed (an edit). */
  | { type: 'task'; data: TaskData; fresh: boolean }
  | { type: 'flowField'; id: number; field: FlowField }
  | { type: 'decisionMap'; id: number; map: DecisionMap }
  | { type: 'notice'; notice: Notice }
  | { type: 'backend'; backend: string; reason: string }
  /**
   * The configuration the engine runs now, after a change it refused (`refused`) or a build
   * that failed: the page shows these values again and stops waiting for a new network.
   */
  | { type: 'config'; config: TrainConfig; refused: boolean }
  /** Progress of the running job, between snapshots (also while there is no network yet). */
  | { type: 'busy'; busy: Busy | null }
  /** A flow-field or decision-map request that will not be answered (rebuilt, stopped, failed). */
  | { type: 'fieldFailed'; id: number; message: string }
  /** The condition behind the notices with this key is over (e.g. a divergence, once work succeeds). */
  | { type: 'noticeClear'; key: string }
  | { type: 'pong'; id: number }
  /** A digit response (a `fieldFailed` with its id says why there is none). */
  | { type: 'digitResponse'; id: number; response: DigitResponse }
  /** The test split measured at the end of an epoch. */
  | { type: 'testEvaluation'; evaluation: TestEvaluation }
  | { type: 'alphaSweep'; id: number; points: AlphaSweepResult['points']; result: AlphaSweepResult }
  | { type: 'epCompare'; id: number; result: EpResult }
  | { type: 'sweepPoint'; id: number; point: SweepPoint }
  /** Sweep `id` ran all its points. */
  | { type: 'sweepDone'; id: number }
  /** Compare mode's curves so far (`final`: the run has ended; else more will follow). */
  | { type: 'compare'; id: number; result: CompareResult; final: boolean }
  /** The meta-learning run so far (`final`: this request has ended). */
  | { type: 'metaTrain'; id: number; view: MetaView; final: boolean }
  /** An analysis that will not be answered: stopped, rebuilt, or failed (no free equilibrium…). */
  | { type: 'analysisFailed'; id: number; analysis: AnalysisKind; message: string }
  | { type: 'error'; message: string }
  /**
   * The action log: `base` when a new log starts (a network was built); `entries` replace the
   * page's copy from index `from` on (a merge changes the last entry). `full`: the log reached
   * its bound and stopped growing.
   */
  | { type: 'log'; base?: LogBase; from: number; entries: LogEntry[]; full: boolean }
  /** Replay `id` has ended: all `total` entries done, or stopped after `done`. */
  | { type: 'replayed'; id: number; done: number; total: number };
