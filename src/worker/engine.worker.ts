/// <reference lib="webworker" />
/**
 * The engine's worker: owns the tfjs backend and one Simulation. Everything that takes time is a
 * job — a sliced computation (engine/sliced.ts) run a few milliseconds at a time — so that
 * messages (stop, pause, edits, heartbeats) are handled between slices, progress is reported,
 * and a lost WebGL context is noticed before the next slice. Jobs run in order from a queue;
 * Stop cancels them all. Snapshots go out only when something changed, at most one
 * unacknowledged at a time (back-pressure).
 */
import type { LogEntry } from '../engine/actionLog';
import { alphaSweepSliced, analysisInput, disposeInput } from '../engine/alphaSweep';
import {
  configDiff,
  needsRebuild,
  parseConfig,
  type BackendChoice,
  type TrainConfig,
} from '../engine/config';
import { diagnoseDivergence } from '../engine/diagnosis';
import { digitResponseSliced, type DigitResponse } from '../engine/digits';
import { checkRequest, Comparison } from '../engine/compare';
import type { CompareRequest } from '../engine/compareMethods';
import { epCompareSliced } from '../engine/ep';
import { parseMetaConfig } from '../engine/meta/config';
import { MetaComparison } from '../engine/meta/metaRun';
import { META_CHAPTER_CONFIG } from '../engine/meta/presets';
import { planSweep, type SweepRequest } from '../engine/sweep';
import { sweepSliced } from '../engine/sweepRun';
import { DivergenceError, InputError } from '../engine/errors';
import { hiddenSize } from '../engine/init';
import { reserveKernelCores, setWasmKernelOptions } from '../engine/kernels/wasm/kernel';
import { setDispatchBudget } from '../engine/solver';
import { COSINE_EVERY_UPDATE, Simulation, type Checkpoint } from '../engine/simulation';
import { type SliceProgress, type Sliced } from '../engine/sliced';
import { loadMnistUrl } from '../engine/tasks/loadMnist';
import type { MnistData } from '../engine/tasks/mnistData';
import { mnistInputs } from '../engine/tasks/mnistTask';
import { TrainingDivergence } from '../engine/trainer';
import {
  initBackend,
  loseWebGLContext,
  onContextLost,
  resetWebGL,
  webglContextLost,
} from './backends';
import { Journal } from './journal';
import { computeFlowField, decisionMapSliced, displayedTestIndices, rowsOf } from './fields';
import type {
  AnalysisKind,
  Busy,
  Command,
  DecisionMap,
  Matrix,
  Notice,
  ParamKey,
  Snapshot,
  TaskData,
  WeightsSnapshot,
  WorkerMessage,
} from './protocol';

// The page's frames need a core too (composited in software on small machines): the kernel's
// threads leave one to it. The CLI and the kernel benchmark use every core.
/** Cores the WASM kernel leaves to the page (none while Train 1 epoch runs). */
const PAGE_CORES = 1;
setWasmKernelOptions({ keepCores: PAGE_CORES });

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (msg: WorkerMessage, transfer: Transferable[] = []) =>
  scope.postMessage(msg, transfer);
const notice = (n: Notice) => post({ type: 'notice', notice: n });

/** Minimum interval between snapshots (~60 per second). */
const SNAPSHOT_INTERVAL_MS = 16;
/**
 * While training, two snapshots a second: curves and weights stay live, and the page's paint
 * and raster (software GL here) are not asked to redraw every view at frame rate.
 */
const TRAINING_SNAPSHOT_INTERVAL_MS = 500;
/** Weights above this many floats are large: while training they are sent less often. */
const HEAVY_WEIGHTS_FLOATS = 100_000;
const TRAINING_WEIGHTS_INTERVAL_MS = 3000;
/** Busy messages (progress) at most this often. */
const BUSY_INTERVAL_MS = 100;
/**
 * While Train 1 epoch runs, the bar moves 4 times a second and the views follow once a second:
 * every frame the page draws is composited in software on a small machine, on the cores the
 * epoch needs.
 */
const EPOCH_BUSY_INTERVAL_MS = 250;
const EPOCH_SNAPSHOT_INTERVAL_MS = 1000;
/** Longest slice of work before the worker yields to its message queue. */
const SLICE_MS = 12;
/** Rest between training slices, so that the page (and its compositor) keep a share of a 2-core CPU. */
const TRAIN_REST_MS = 6;
/**
 * Train 1 epoch does not rest: the page then shows a progress bar and curves twice a second, and
 * the epoch's wall time is what its user waits for (6 ms after every 12 cost a third of it; a
 * 1-ms timeout, clamped to 4 ms, a quarter).
 */
const EPOCH_REST_MS = 0;
/**
 * Multiply-adds per kernel dispatch while Train 1 epoch runs: 8× the interactive budget (the WASM
 * kernel scales both by 4: up to 128 steps of an MNIST net's, a whole LCP-DI solve, ~50 ms on two
 * threads; Stop still answers within one), fewer state copies and thread wake-ups.
 */
const EPOCH_DISPATCH_MACS = 5.12e8;
/** While training, ρ(W diag ρ′) of the batch is measured at most this often. */
const RADIUS_INTERVAL_MS = 5000;

type JobSpec =
  /**
   * `continued`: why the new network continues saved weights (its log cannot be replayed from
   * the seed), or null; `keepLog`: the network before comes back (a stopped build).
   */
  | {
      kind: 'build';
      config: TrainConfig;
      restore: Checkpoint | null;
      continued: string | null;
      keepLog: boolean;
    }
  | { kind: 'refresh' }
  | { kind: 'control'; on: boolean }
  | { kind: 'step'; steps: number }
  | { kind: 'equilibrium' }
  | { kind: 'learn'; whilePlaying: boolean }
  /**
   * `done` of `total` updates; `startUpdates`: the trainer's count when the job began; `present`:
   * show the current sample again from rest at the end (a replayed log says so separately).
   */
  | {
      kind: 'train';
      total: number;
      done: number;
      startUpdates: number | null;
      present: boolean;
      /** Train 1 epoch: `total` is set when the job starts, to the updates the epoch has left. */
      untilEpochEnd?: boolean;
    }
  | { kind: 'next' }
  | { kind: 'edit'; cmd: Extract<Command, { type: 'edit' }> }
  /** Analyses of the current sample: their result goes back as a reply to `id`. */
  | { kind: 'alphaSweep'; id: number; alphas?: number[] }
  | { kind: 'epCompare'; id: number; betas?: number[] }
  /** A parameter sweep: `done` of `total` runs so far (each a fresh network, not the one shown). */
  | { kind: 'sweep'; id: number; request: SweepRequest; done: number; total: number }
  /** Compare mode: `done` of `total` updates (all methods together) so far. */
  | { kind: 'compare'; id: number; request: CompareRequest; done: number; total: number }
  /** Meta-learning: `done` of `total` updates (of all three rules together) so far. */
  | { kind: 'metaTrain'; id: number; updates: number; done: number; total: number }
  /** An opened link's action log, `done` of its entries so far. */
  | { kind: 'replay'; id: number; entries: LogEntry[]; done: number };

type AnalysisSpec = Extract<JobSpec, { kind: AnalysisKind }>;

function isAnalysis(spec: JobSpec): spec is AnalysisSpec {
  return (
    spec.kind === 'alphaSweep' ||
    spec.kind === 'epCompare' ||
    spec.kind === 'sweep' ||
    spec.kind === 'compare' ||
    spec.kind === 'metaTrain'
  );
}

/** Tell the page an analysis will not be answered (its view stops waiting). */
function failAnalysis(spec: AnalysisSpec, message: string): void {
  post({ type: 'analysisFailed', id: spec.id, analysis: spec.kind, message });
}

interface Job {
  spec: JobSpec;
  work: Sliced<unknown>;
  /** May play frames run while it does (it touches neither the state nor the weights)? */
  background: boolean;
  label: string;
  started: number;
  progress: SliceProgress | null;
}

type FieldRequest = Extract<Command, { type: 'flowField' | 'decisionMap' }>;

let sim: Simulation | null = null;
/** The configuration the page asked for last (what a rebuild or a recovery builds). */
let config: TrainConfig = parseConfig({});
let mnist: MnistData | undefined;
/** Backend choice and the size it was measured at (auto re-measures when the size changes). */
let backendChoice: BackendChoice | null = null;
let backendSize = '';

let queue: JobSpec[] = [];
let job: Job | null = null;
/** An async preparation (data, backend) of the next build; jobs wait for it. */
let preparing: Promise<void> | null = null;
/** What the preparation is doing (measuring a backend…), for the progress line. */
let prepareStage: { stage: string; done: number; total: number } | null = null;
let generation = 0;
const fieldRequests: FieldRequest[] = [];
let fieldJob: { id: number; size: number; work: Sliced<DecisionMap> } | null = null;
/** The digit response asked for last (its work starts on the network of its first slice). */
interface DigitJob {
  id: number;
  pixels: Float32Array;
  target: number | null;
  work: Sliced<DigitResponse> | null;
}
let digitJob: DigitJob | null = null;

let playing = false;
let learnWhilePlaying = false;
let stepsPerFrame = 2;
/** Steps owed to play (fractional below one step per tick), and when it last ran. */
let playCredit = 0;
let lastPlayTick = 0;
let seq = 0;
let awaitingAck = false;
let lastSnapshot = 0;
let lastBusy = 0;
let lastWeightsVersion = -1;
let lastWeightsSent = 0;
let dirty = false;
let scheduled = false;
let lastRadius = 0;
/** A divergence notice is on the page (cleared when later work succeeds). */
let divergenceShown = false;
const acked = { play: 0, control: 0 };
/** The last state read back: what a lost WebGL context cannot give back. */
let checkpoint: Checkpoint | null = null;
/** The configuration of the last network built (what a stopped build returns to). */
let builtConfig: TrainConfig | null = null;

/** The action log (engine/actionLog.ts): written here, where the order of what runs is known. */
const actions = new Journal();

/** Control on or off, logged when it changes. */
function setControl(s: Simulation, on: boolean): void {
  if (s.control !== on) actions.write(['c', on ? 1 : 0]);
  s.setControl(on);
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function ensureMnist(c: TrainConfig): Promise<MnistData | undefined> {
  if (c.task !== 'mnist' || mnist) return mnist;
  // The data file sits beside the page (dist/data/…), not beside this script (dist/assets/…).
  const base = new URL(import.meta.env.BASE_URL, scope.location.href.replace(/assets\/[^/]*$/, ''));
  mnist = await loadMnistUrl(new URL('data/mnist.bin', base));
  return mnist;
}

/** Set up the backend for `c`: again when the choice changes, or (auto) when the size does. */
async function ensureBackend(c: TrainConfig): Promise<void> {
  const size = { n: hiddenSize(c), batch: c.batch };
  const key = `${size.n}x${size.batch}`;
  if (backendChoice === c.backend && (c.backend !== 'auto' || backendSize === key)) return;
  const b = await initBackend(c.backend, size, (stage, done, total) => {
    prepareStage = { stage, done, total };
    sendBusy(true);
  });
  prepareStage = null;
  backendChoice = c.backend;
  backendSize = key;
  post({ type: 'backend', backend: b.backend, reason: b.reason });
  if (c.backend !== 'auto' && b.backend !== c.backend)
    notice({
      level: 'warning',
      key: 'backend',
      text: `Backend ${c.backend} is not available here: ${b.reason}`,
    });
}

// ---------------------------------------------------------------------------------------------
// Jobs

/** Stop everything: the running job (its finally blocks free its tensors), the queue and play. */
function cancelAll(): void {
  // Analyses asked for are answered, if only to say that they stopped; a replay that never
  // started says so (a running one says it as its work closes).
  for (const spec of [...(job ? [job.spec] : []), ...queue])
    if (isAnalysis(spec)) failAnalysis(spec, 'stopped');
  for (const spec of queue) if (spec.kind === 'replay') replayEnded(spec);
  if (job) closeJob(job);
  job = null;
  queue = [];
  playing = false;
  dirty = true;
}

function closeJob(j: Job): void {
  try {
    j.work.return(undefined);
  } catch {
    // A lost context cannot free its textures; they are gone with it.
  }
}

function enqueue(spec: JobSpec): void {
  // One refresh is enough: a newer one supersedes any waiting (or running) one.
  if (spec.kind === 'refresh') {
    queue = queue.filter((s) => s.kind !== 'refresh');
    if (job?.spec.kind === 'refresh') {
      closeJob(job);
      job = null;
    }
  }
  queue.push(spec);
  schedule();
}

interface BuildOptions {
  /** Saved weights and state to continue from, and why (the action log says it cannot replay). */
  restore?: Checkpoint | null;
  continued?: string;
  /** Field requests are answered by the new network (a recovery that continues the same run). */
  keepFields?: boolean;
}

/**
 * A build: everything else waits, and what came before it is void. Field requests are answered
 * by the new network when `keepFields`, else refused.
 */
function enqueueBuild(c: TrainConfig, options: BuildOptions = {}): void {
  const { restore = null, keepFields = false } = options;
  const inFlight = fieldJob;
  cancelAll();
  generation++;
  restartDigitResponse();
  if (keepFields) {
    if (inFlight) {
      closeField(inFlight);
      fieldJob = null;
      fieldRequests.unshift({ type: 'decisionMap', id: inFlight.id, size: inFlight.size });
    }
  } else failFieldRequests('the network was rebuilt');
  queue.push({
    kind: 'build',
    config: c,
    restore,
    continued: restore ? (options.continued ?? 'saved weights') : null,
    keepLog: false,
  });
  schedule();
}

/** Stopping a build goes back to the network that ran before it (its configuration too). */
function cancelBuild(): boolean {
  const building =
    job?.spec.kind === 'build' || preparing !== null || queue.some((q) => q.kind === 'build');
  if (!building) return false;
  cancelAll();
  generation++;
  failFieldRequests('stopped');
  restartDigitResponse();
  if (builtConfig) {
    config = builtConfig;
    // The same network again: its action log goes on.
    queue.push({
      kind: 'build',
      config: builtConfig,
      restore: checkpoint,
      continued: null,
      keepLog: true,
    });
    notice({
      level: 'info',
      key: 'build',
      text: 'Stopped building: back to the network before it.',
    });
  }
  post({ type: 'config', config, refused: true });
  schedule();
  return true;
}

const LABELS: Record<JobSpec['kind'], string> = {
  build: 'Building the network',
  refresh: 'Finding the free equilibrium',
  control: 'Control',
  step: 'Stepping',
  equilibrium: 'Running to equilibrium',
  learn: 'Learning',
  train: 'Training',
  next: 'Next sample',
  edit: 'Editing',
  alphaSweep: 'Sweeping α',
  epCompare: 'Equilibrium propagation against LCP',
  sweep: 'Sweeping parameters',
  compare: 'Comparing methods',
  metaTrain: 'Meta-learning',
  replay: 'Replaying the link',
};

function startJob(spec: JobSpec): Job | null {
  if (spec.kind === 'build') {
    // Data and backend first (asynchronous), then the sliced build.
    const g = generation;
    queueMicrotask(() => sendBusy(true));
    preparing = (async () => {
      try {
        const data = await ensureMnist(spec.config);
        await ensureBackend(spec.config);
        if (g !== generation) return;
        sim?.dispose();
        sim = null;
        job = makeJob(spec, buildWork(spec, data));
      } catch (e) {
        if (g !== generation) return;
        notice({
          level: 'error',
          key: 'build',
          text: `Could not build the network: ${describe(e)}`,
        });
        // The network before goes on (if there was one): so does its configuration.
        if (sim) config = sim.config;
        post({ type: 'config', config, refused: true });
      } finally {
        preparing = null;
        dirty = true;
        schedule();
      }
    })();
    return null;
  }
  if (!sim) return null;
  return makeJob(spec, jobWork(sim, spec));
}

function makeJob(spec: JobSpec, work: Sliced<unknown>): Job {
  return {
    spec,
    work,
    background: spec.kind === 'refresh',
    label: LABELS[spec.kind],
    started: performance.now(),
    progress: null,
  };
}

function* buildWork(spec: Extract<JobSpec, { kind: 'build' }>, data?: MnistData): Sliced<void> {
  const built = yield* Simulation.create(spec.config, data);
  // A new network is a new session: the meta-learning run starts over too.
  resetMeta();
  sim = built;
  config = built.config;
  builtConfig = built.config;
  if (spec.restore) built.restoreCheckpoint(spec.restore);
  if (!spec.keepLog || !actions.base)
    actions.start({ config: built.config, continued: spec.continued });
  built.onAdvance = (steps) => actions.write(['s', steps]);
  checkpoint = null;
  lastWeightsVersion = -1;
  sendTask();
  dirty = true;
  yield* built.refreshSliced();
}

/** The sliced work of a job on the simulation. */
function* jobWork(s: Simulation, spec: JobSpec): Sliced<unknown> {
  switch (spec.kind) {
    case 'refresh':
      actions.write(['r']);
      return yield* s.refreshSliced();
    case 'control':
      setControl(s, spec.on);
      return;
    case 'step':
      return yield* s.stepsSliced(spec.steps, chunkSize(s));
    case 'equilibrium':
      return yield* s.equilibriumSliced(chunkSize(s));
    case 'next':
      actions.write(['n']);
      return yield* s.nextSampleSliced();
    case 'edit': {
      const c = spec.cmd;
      if (c.target === 'param') {
        s.editParam(c.name, c.row, c.col, c.value);
        actions.write(['w', c.name, c.row, c.col, c.value]);
      } else {
        s.editSample(c.target, c.index, c.value);
        actions.write([c.target === 'input' ? 'x' : 'y', c.index, c.value]);
        // The task view draws the data: it must see the edited sample (tasks may share it).
        sendTask(false);
      }
      return yield* s.refreshSliced();
    }
    case 'learn':
      yield* actions.logged(s.learnSliced(), [spec.whilePlaying ? 'lp' : 'l']);
      // Learning while playing: control stays on, and the run goes on at the next sample.
      if (spec.whilePlaying) s.setControl(true);
      yield* s.afterUpdateSliced(spec.whilePlaying);
      return;
    case 'train': {
      spec.startUpdates ??= s.trainer.updates - spec.done;
      // Stopped during an epoch's test evaluation (its update made): finish that first. Train 1
      // epoch then does nothing more; it uses no seeded stream, so replays need no entry for it.
      const evaluationOnly = spec.untilEpochEnd && spec.total < 0 && s.testEvaluationMissing;
      if (s.testEvaluationMissing) {
        yield* s.testEvaluationSliced();
        sendTestEvaluation(s);
      }
      if (spec.untilEpochEnd && spec.total < 0)
        spec.total = evaluationOnly ? 0 : s.updatesLeftInEpoch;
      while (spec.done < spec.total) {
        const before = s.trainer.updates;
        yield* actions.logged(s.trainStepSliced(), ['t', 1], () => s.trainer.updates > before);
        spec.done++;
        dirty = true;
        sendTestEvaluation(s);
        if (performance.now() - lastRadius > RADIUS_INTERVAL_MS) {
          lastRadius = performance.now();
          yield* s.batchRadiusSliced();
        }
        // Show each update as it lands (the snapshot interval bounds how often).
        yield { stage: 'update', done: spec.done, total: spec.total };
      }
      if (spec.present) {
        actions.write(['p']);
        yield* s.afterUpdateSliced(false);
      }
      return;
    }
    case 'replay':
      return yield* replayWork(s, spec);
    case 'alphaSweep': {
      const input = analysisInput(s);
      try {
        const result = yield* alphaSweepSliced(input, spec.alphas);
        post({ type: 'alphaSweep', id: spec.id, points: result.points, result });
      } finally {
        disposeInput(input);
      }
      return;
    }
    case 'epCompare': {
      const input = analysisInput(s);
      try {
        const result = yield* epCompareSliced(
          input,
          spec.betas ? { betas: spec.betas } : undefined,
        );
        post({ type: 'epCompare', id: spec.id, result });
      } finally {
        disposeInput(input);
      }
      return;
    }
    case 'sweep':
      return yield* sweepWork(s, spec);
    case 'compare':
      return yield* compareWork(s, spec);
    case 'metaTrain':
      return yield* metaWork(spec);
    case 'build':
      return;
  }
}

/** Compare-mode curves go to the page at most this often while they grow. */
const COMPARE_POST_MS = 250;

/**
 * Compare mode: fresh trainers from the current configuration's seed on the simulation's data
 * (the simulation itself is untouched), their curves posted as they grow and once at the end —
 * or, stopped, as far as they got.
 */
function* compareWork(s: Simulation, spec: Extract<JobSpec, { kind: 'compare' }>): Sliced<void> {
  const request = checkRequest(s.config, spec.request);
  spec.total = request.methods.length * request.updates;
  // As Train does: the cosine (an extra RBP solve) on every update of small nets, every tenth of large ones.
  const cosineEvery = s.n * s.config.batch <= COSINE_EVERY_UPDATE ? 1 : 10;
  const c = yield* Comparison.create(s.config, s.data, request.methods, { cosineEvery });
  const send = (final: boolean) =>
    post({
      type: 'compare',
      id: spec.id,
      result: { updates: request.updates, series: c.series },
      final,
    });
  try {
    yield* streamed((onUpdate) => c.runSliced(request.updates, onUpdate), spec, send, false);
  } finally {
    c.dispose();
  }
}

/**
 * Run a job whose results grow update by update: count its updates in `spec.done`, post them at
 * most every COMPARE_POST_MS, once more at the end, and — stopped — as far as they got (`final`
 * then `finalOnStop`).
 */
function* streamed(
  run: (onUpdate: () => void) => Sliced<unknown>,
  spec: { done: number },
  send: (final: boolean) => void,
  finalOnStop: boolean,
): Sliced<void> {
  let lastPost = performance.now();
  let finished = false;
  try {
    yield* run(() => {
      spec.done++;
      const now = performance.now();
      if (now - lastPost >= COMPARE_POST_MS) {
        lastPost = now;
        send(false);
      }
    });
    finished = true;
    send(true);
  } finally {
    if (!finished) send(finalOnStop);
  }
}

/**
 * The meta-learning run (issue 14): it lives beside the simulation, not in it — a new network
 * (a chapter opened or reset) or `metaReset` starts it over from its seed.
 */
let metaRun: MetaComparison | null = null;

function resetMeta(): void {
  metaRun?.dispose();
  metaRun = null;
}

/** More meta-updates of the run, its views posted as they grow and at the end (or the stop). */
function* metaWork(spec: Extract<JobSpec, { kind: 'metaTrain' }>): Sliced<void> {
  metaRun ??= new MetaComparison(parseMetaConfig(META_CHAPTER_CONFIG));
  const run = metaRun;
  spec.total = spec.updates * run.trainers.length;
  const send = (final: boolean) =>
    post({ type: 'metaTrain', id: spec.id, view: run.view(), final });
  yield* streamed((onUpdate) => run.runSliced(spec.updates, onUpdate), spec, send, true);
}

/**
 * The sweep's runs from the running configuration, each reported as it ends; the progress line
 * says which run of how many is training.
 */
function* sweepWork(s: Simulation, spec: Extract<JobSpec, { kind: 'sweep' }>): Sliced<void> {
  const plan = planSweep(spec.request);
  spec.total = plan.cells.length * spec.request.seeds;
  // The configuration as it is now: a live change made while the sweep runs is not its business.
  const base = structuredClone(s.config);
  const runs = sweepSliced(
    base,
    plan,
    (point) => {
      spec.done++;
      post({ type: 'sweepPoint', id: spec.id, point });
    },
    mnist,
  );
  try {
    for (;;) {
      const r = runs.next();
      if (r.done) break;
      yield { ...r.value, stage: `run ${spec.done + 1} of ${spec.total}: ${r.value.stage}` };
    }
  } finally {
    runs.return(undefined);
  }
  post({ type: 'sweepDone', id: spec.id });
}

/**
 * An update, logged once it has changed the weights — or once it has failed: a replay meets the
 * same divergence at the same point (an update stopped before it applies leaves no trace; see
 * Simulation.undoneIfStopped).
 */
/** An entry that stands for a job (a configuration change is applied at once instead). */
type JobEntry = Exclude<LogEntry, ['f', unknown]>;

/** The job an action-log entry stands for (what the user's command ran at the time). */
function specOfEntry(e: JobEntry): JobSpec {
  switch (e[0]) {
    case 's':
      return { kind: 'step', steps: e[1] };
    case 'c':
      return { kind: 'control', on: e[1] === 1 };
    case 'l':
    case 'lp':
      return { kind: 'learn', whilePlaying: e[0] === 'lp' };
    case 't':
      return { kind: 'train', total: e[1], done: 0, startUpdates: null, present: false };
    case 'p':
      // The end of a Train: no updates, the sample shown again.
      return { kind: 'train', total: 0, done: 0, startUpdates: null, present: true };
    case 'n':
      return { kind: 'next' };
    case 'r':
      return { kind: 'refresh' };
    case 'w':
      return {
        kind: 'edit',
        cmd: { type: 'edit', target: 'param', name: e[1], row: e[2], col: e[3], value: e[4] },
      };
    case 'x':
    case 'y':
      return {
        kind: 'edit',
        cmd: { type: 'edit', target: e[0] === 'x' ? 'input' : 'target', index: e[1], value: e[2] },
      };
  }
}

/**
 * Replay an action log on the network just built: every entry runs the work its command ran, and
 * logs itself again, so the log afterwards is the one replayed. A failure the original met too (a
 * divergence, a refused edit) is reported as it was then, and the replay goes on.
 */
function* replayWork(s: Simulation, spec: ReplaySpec): Sliced<void> {
  try {
    yield* replayEntries(s, spec);
  } finally {
    replayEnded(spec);
  }
}

type ReplaySpec = Extract<JobSpec, { kind: 'replay' }>;

/** Tell the page a replay is over (done, stopped, or never started). */
function replayEnded(spec: ReplaySpec): void {
  post({ type: 'replayed', id: spec.id, done: spec.done, total: spec.entries.length });
}

function* replayEntries(s: Simulation, spec: ReplaySpec): Sliced<void> {
  for (; spec.done < spec.entries.length; spec.done++) {
    const e = spec.entries[spec.done];
    try {
      if (e[0] === 'f') configureLive(s, parseConfig({ ...s.config, ...e[1] }));
      else yield* jobWork(s, specOfEntry(e));
    } catch (err) {
      if (!(err instanceof DivergenceError || err instanceof InputError)) throw err;
      onJobError(spec, err);
    }
    yield { stage: 'entry', done: spec.done + 1, total: spec.entries.length };
  }
}

/**
 * Apply a configuration that needs no new network to the running one, and log the fields that
 * changed. Throws InputError if it needs a rebuild (a log cannot carry one).
 */
function configureLive(s: Simulation, next: TrainConfig, announce = true): void {
  const changes = configDiff(next, s.config);
  if (!s.configure(next))
    throw InputError.single(
      Object.keys(changes).join(', '),
      'this change needs a new network, which an action log cannot hold',
    );
  config = s.config;
  builtConfig = s.config;
  if (Object.keys(changes).length) actions.write(['f', changes]);
  // The page set these fields itself, unless a replay did.
  if (announce) post({ type: 'config', config: s.config, refused: false });
  dirty = true;
}

/** Steps per slice of stepping and running to equilibrium, from the measured cost of a step. */
function chunkSize(s: Simulation): number {
  return Math.max(1, Math.min(200, Math.floor(SLICE_MS / Math.max(1e-3, s.msPerStep))));
}

function busyOf(j: Job): Busy {
  const p = j.progress;
  const spec = j.spec;
  const counted =
    spec.kind === 'train' ||
    spec.kind === 'sweep' ||
    spec.kind === 'compare' ||
    spec.kind === 'metaTrain';
  const done = counted || spec.kind === 'replay' ? spec.done : 0;
  const total = counted
    ? Math.max(0, spec.total)
    : spec.kind === 'replay'
      ? spec.entries.length
      : 1;
  const elapsed = (performance.now() - j.started) / 1000;
  const secondsLeft = counted && done > 0 ? Math.round((elapsed / done) * (total - done)) : null;
  const busy: Busy = {
    kind: spec.kind,
    label: j.label,
    done,
    total,
    stage: p?.stage ?? '',
    stageDone: p?.done ?? 0,
    stageTotal: p?.total ?? 0,
    secondsLeft,
  };
  if (
    spec.kind === 'train' &&
    spec.untilEpochEnd &&
    spec.total > 0 &&
    sim &&
    spec.startUpdates !== null
  ) {
    // The epoch this job finishes, and how far into it training is (a resumed epoch starts
    // part-way); at its last update the epoch is complete while its test evaluation runs.
    const batches = sim.trainer.batchesPerEpoch;
    const at = spec.startUpdates + done;
    const epoch = Math.floor(spec.startUpdates / batches) + 1;
    busy.epoch = { epoch, batch: Math.min(batches, at - (epoch - 1) * batches), batches };
  }
  return busy;
}

/** The test evaluation an epoch's end left, to the page (the digits view draws it). */
function sendTestEvaluation(s: Simulation): void {
  const evaluation = s.pendingTestEvaluation;
  if (!evaluation) return;
  s.pendingTestEvaluation = null;
  post({ type: 'testEvaluation', evaluation });
}

/** The job's failure: divergences explained (and fixed in one click), other errors reported. */
function onJobError(spec: JobSpec | null, e: unknown): void {
  // An analysis changes nothing: its failure (no free equilibrium, no gradient) is its reply.
  if (spec && isAnalysis(spec)) {
    const text =
      e instanceof DivergenceError
        ? `no equilibrium to analyse (${e.phase} dynamics diverged at step ${e.step}: ${e.reason})`
        : describe(e);
    failAnalysis(spec, text);
    dirty = true;
    return;
  }
  if (e instanceof DivergenceError) {
    playing = false;
    queue = [];
    const restored = e instanceof TrainingDivergence && e.restored > 0;
    const d = diagnoseDivergence(config, {
      phase: e.phase,
      restored,
      spectralRadius: sim?.metrics.spectralRadius ?? NaN,
      updates: sim?.trainer.updates ?? 0,
    });
    divergenceShown = true;
    notice({
      level: 'error',
      key: 'divergence',
      text: `Diverged (${e.phase} dynamics, step ${e.step}: ${e.reason}). Likely cause: ${d.cause} ${restored ? '' : 'The last good state is kept.'}`,
      ...(d.fix ? { fix: d.fix } : {}),
    });
    if (restored) {
      lastWeightsVersion = -1;
      // A replay meets the refresh that followed in its log.
      if (spec?.kind !== 'replay') enqueue({ kind: 'refresh' });
    }
  } else if (e instanceof InputError) {
    notice({ level: 'error', key: 'input', text: e.message });
  } else {
    post({
      type: 'error',
      message: `${spec ? LABELS[spec.kind] : 'The engine'} failed: ${describe(e)}`,
    });
  }
  dirty = true;
}

// ---------------------------------------------------------------------------------------------
// The loop

function work(): void {
  scheduled = false;
  if (webglContextLost()) {
    recoverFromContextLoss();
    return;
  }
  const deadline = performance.now() + SLICE_MS;
  let training = false;
  let epochRun = false;
  while (performance.now() < deadline) {
    // Field requests go first when they can run (there is a network); else the jobs go on.
    if ((fieldRequests.length || fieldJob) && runFieldSlice()) continue;
    if (digitJob && runDigitSlice()) continue;
    if (!job) {
      if (preparing) break;
      const spec = queue.shift();
      if (!spec) break;
      if (!sim && spec.kind !== 'build') {
        if (isAnalysis(spec)) failAnalysis(spec, 'there is no network');
        if (spec.kind === 'replay') replayEnded(spec);
        // No network (a failed build) and none coming: nothing can run.
        if (!queue.some((s) => s.kind === 'build')) {
          for (const q of queue) {
            if (isAnalysis(q)) failAnalysis(q, 'there is no network');
            if (q.kind === 'replay') replayEnded(q);
          }
          queue = [];
          notice({
            level: 'error',
            key: 'build',
            text: 'There is no network: choose a chapter or Reset.',
          });
        }
        continue;
      }
      job = startJob(spec);
      if (!job) break;
    }
    const current = job;
    // Sweeps and comparisons train too: they rest between slices as Train does, so the page
    // keeps its share.
    training = ['train', 'sweep', 'compare', 'metaTrain'].includes(current.spec.kind);
    epochRun = epochJob();
    reserveKernelCores(epochRun ? 0 : PAGE_CORES);
    setDispatchBudget(epochRun ? EPOCH_DISPATCH_MACS : 'interactive');
    try {
      const r = current.work.next();
      if (r.done) {
        job = null;
        dirty = true;
        // Work that went through: a divergence reported before is over.
        if (
          divergenceShown &&
          current.spec.kind !== 'refresh' &&
          current.spec.kind !== 'control' &&
          !isAnalysis(current.spec)
        ) {
          divergenceShown = false;
          post({ type: 'noticeClear', key: 'divergence' });
        }
        // Keep a checkpoint of what a finished job left (for context loss and restore).
        takeCheckpoint();
      } else current.progress = r.value;
      // Refreshes and comparisons leave the simulation as it was: no snapshot for them.
      if (!['refresh', 'compare', 'metaTrain'].includes(current.spec.kind)) dirty = true;
    } catch (e) {
      job = null;
      onJobError(current.spec, e);
    }
  }
  playTick();
  sendBusy();
  maybeSendSnapshot();
  const unsent = actions.unsent();
  if (unsent) post(unsent);
  // While a build prepares (its data, its backend) nothing can run: its end schedules again.
  if (preparing && !job) return;
  if (
    job ||
    queue.length ||
    fieldRequests.length ||
    fieldJob ||
    digitJob ||
    (dirty && !awaitingAck)
  )
    schedule(epochRun ? EPOCH_REST_MS : training ? TRAIN_REST_MS : 0);
  else if (playing) schedule(1000 / PLAY_FPS);
}

/**
 * A turn of the event loop without setTimeout's clamp: nested timeouts wait at least 4 ms (HTML),
 * which after every 12-ms slice cost Train 1 epoch a quarter of its time. Messages from the page
 * (Stop) are still read between slices.
 */
const nextTurn = new MessageChannel();
nextTurn.port1.onmessage = () => work();

function schedule(delay = 0): void {
  if (scheduled) return;
  scheduled = true;
  if (delay <= 0) nextTurn.port2.postMessage(null);
  else setTimeout(work, delay);
}

/**
 * One slice of the pending flow-field or decision-map request; false when none could run (no
 * request, or no network yet: a build is on its way and the requests wait for it).
 */
function runFieldSlice(): boolean {
  if (!sim) {
    if (preparing || job?.spec.kind === 'build' || queue.some((s) => s.kind === 'build'))
      return false;
    failFieldRequests('there is no network');
    return true;
  }
  if (!fieldJob) {
    const req = fieldRequests.shift();
    if (!req) return false;
    if (req.type === 'flowField') {
      try {
        const field = computeFlowField(sim, req.request);
        post({ type: 'flowField', id: req.id, field }, [
          field.di.buffer,
          field.dj.buffer,
          field.outputError.buffer,
        ]);
      } catch (e) {
        post({ type: 'fieldFailed', id: req.id, message: describe(e) });
      }
      return true;
    }
    fieldJob = { id: req.id, size: req.size, work: decisionMapSliced(sim, req.size) };
  }
  const f = fieldJob;
  try {
    const r = f.work.next();
    if (r.done) {
      fieldJob = null;
      const map = r.value;
      post({ type: 'decisionMap', id: f.id, map }, [map.values.buffer, map.testPredictions.buffer]);
    }
  } catch (e) {
    fieldJob = null;
    post({ type: 'fieldFailed', id: f.id, message: describe(e) });
  }
  return true;
}

/**
 * One slice of the pending digit response (see the `digitResponse` command); false when there is
 * no network yet (a build is on its way: the request waits for it).
 */
function runDigitSlice(): boolean {
  const d = digitJob;
  if (!d) return false;
  if (!sim) {
    if (buildPending() && (preparing || job || queue.length)) return false;
    digitJob = null;
    post({ type: 'fieldFailed', id: d.id, message: 'there is no network' });
    return true;
  }
  try {
    d.work ??= digitResponseSliced(sim.trainer, mnistInputs(d.pixels, sim.config.pixels), d.target);
    const r = d.work.next();
    if (r.done) {
      digitJob = null;
      post({ type: 'digitResponse', id: d.id, response: r.value });
    }
  } catch (e) {
    digitJob = null;
    post({ type: 'fieldFailed', id: d.id, message: describe(e) });
  }
  return true;
}

function closeDigit(d: DigitJob): void {
  try {
    d.work?.return(undefined as unknown as DigitResponse);
  } catch {
    // see closeJob
  }
}

function closeField(f: NonNullable<typeof fieldJob>): void {
  try {
    f.work.return(undefined as unknown as DecisionMap);
  } catch {
    // see closeJob
  }
}

/**
 * A digit response is answered by the network there is when it runs: a new one (a build) starts
 * it again, and Stop leaves it be (it is the view's question, not the user's job).
 */
function restartDigitResponse(): void {
  if (!digitJob) return;
  closeDigit(digitJob);
  digitJob.work = null;
}

function failFieldRequests(message: string): void {
  if (fieldJob) {
    closeField(fieldJob);
    post({ type: 'fieldFailed', id: fieldJob.id, message });
    fieldJob = null;
  }
  for (const r of fieldRequests.splice(0)) post({ type: 'fieldFailed', id: r.id, message });
}

function sendBusy(force = false): void {
  const now = performance.now();
  if (!force && now - lastBusy < (epochJob() ? EPOCH_BUSY_INTERVAL_MS : BUSY_INTERVAL_MS)) return;
  lastBusy = now;
  const busy: Busy | null = job
    ? busyOf(job)
    : preparing
      ? {
          kind: 'build',
          label: LABELS.build,
          done: 0,
          total: 1,
          stage: prepareStage?.stage ?? 'loading data',
          stageDone: prepareStage?.done ?? 0,
          stageTotal: prepareStage?.total ?? 0,
          secondsLeft: null,
          blocking: true,
        }
      : null;
  post({ type: 'busy', busy });
}

function phaseNow(s: Simulation): Snapshot['phase'] {
  const kind = job?.spec.kind;
  if (kind === 'train') return 'training';
  if (kind === 'learn') return 'updating';
  if (playing || kind === 'step' || kind === 'equilibrium') return s.phase;
  return 'idle';
}

/** Floats in the network's parameters (W, U, b, D, d and feedback weights). */
function parameterCount(s: Simulation): number {
  return Object.values(s.trainer.net.params).reduce((sum, t) => sum + (t?.size ?? 0), 0);
}

function snapshot(s: Simulation): Snapshot {
  const a = s.read();
  // While training, large weights travel at most every TRAINING_WEIGHTS_INTERVAL_MS: each is
  // megabytes to copy, and every view that shows weights redraws for it.
  const heavy = job?.spec.kind === 'train' && parameterCount(s) > HEAVY_WEIGHTS_FLOATS;
  const weightsChanged =
    s.weightsVersion !== lastWeightsVersion &&
    (!heavy || performance.now() - lastWeightsSent >= TRAINING_WEIGHTS_INTERVAL_MS);
  if (weightsChanged) {
    lastWeightsVersion = s.weightsVersion;
    lastWeightsSent = performance.now();
  }
  const snap: Snapshot = {
    seq: ++seq,
    t: s.t,
    step: s.step,
    phase: phaseNow(s),
    control: s.control,
    playing,
    acked: { ...acked },
    n: s.n,
    m: s.data.m,
    k: s.data.k,
    sample: s.sample,
    epoch: s.trainer.epoch,
    updates: s.trainer.updates,
    ...a,
    freePhi: s.freePhi ? s.freePhi.slice() : null,
    metrics: { ...s.metrics },
    learning: s.pendingLearning.splice(0),
    trace: s.pendingTrace.splice(0),
    markers: s.pendingMarkers.splice(0),
    busy: job ? busyOf(job) : null,
  };
  const params = weightsChanged ? s.readWeights() : (checkpoint?.params ?? s.readWeights());
  checkpoint = s.captureCheckpoint(params);
  if (weightsChanged) {
    const layers = s.config.topology === 'layered' ? s.config.layers : [s.n];
    snap.weights = {
      version: s.weightsVersion,
      params,
      lastUpdate: s.lastUpdate,
      appliedStep: s.appliedStep,
      lastUpdateAt: s.lastUpdateAt,
      maskW: s.trainer.net.masks.W ? Float32Array.from(s.trainer.net.masks.W.dataSync()) : null,
      layers,
    };
  }
  return snap;
}

function takeCheckpoint(): void {
  if (!sim) return;
  const changed = sim.weightsVersion !== lastWeightsVersion;
  checkpoint = sim.captureCheckpoint(
    changed || !checkpoint ? sim.readWeights() : checkpoint.params,
  );
}

/** Is the running job Train 1 epoch (to the epoch's end)? */
function epochJob(): boolean {
  return job?.spec.kind === 'train' && job.spec.untilEpochEnd === true;
}

function maybeSendSnapshot(force = false): void {
  if (!sim || !sim.trainer) return;
  const now = performance.now();
  const interval = epochJob()
    ? EPOCH_SNAPSHOT_INTERVAL_MS
    : job?.spec.kind === 'train'
      ? TRAINING_SNAPSHOT_INTERVAL_MS
      : SNAPSHOT_INTERVAL_MS;
  if (awaitingAck || !dirty || (!force && now - lastSnapshot < interval)) return;
  // The old network's state means nothing once a new one is on its way.
  if (buildPending()) return;
  const s = snapshot(sim);
  awaitingAck = true;
  lastSnapshot = now;
  dirty = false;
  post({ type: 'snapshot', snapshot: s }, [
    s.phi.buffer,
    s.rate.buffer,
    s.psi.buffer,
    s.y.buffer,
    s.u.buffer,
    ...(s.weights ? transferableCopies(s.weights) : []),
  ]);
}

/**
 * Replace the weights snapshot's arrays by fresh copies and return their buffers for transfer.
 * The simulation and the checkpoint keep the originals; the copies cross to the page without a
 * second copy by the structured clone (megabytes per snapshot at MNIST sizes).
 */
function transferableCopies(w: WeightsSnapshot): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  const own = (a: Float32Array): Float32Array => {
    const c = a.slice();
    buffers.push(c.buffer);
    return c;
  };
  const ownSet = (set: WeightsSnapshot['params'] | null): WeightsSnapshot['params'] | null => {
    if (!set) return null;
    const out: WeightsSnapshot['params'] = {};
    for (const [k, m] of Object.entries(set) as [ParamKey, Matrix | undefined][])
      if (m) out[k] = { ...m, data: own(m.data) };
    return out;
  };
  w.params = ownSet(w.params) ?? {};
  w.lastUpdate = ownSet(w.lastUpdate);
  w.appliedStep = ownSet(w.appliedStep);
  if (w.lastUpdateAt)
    w.lastUpdateAt = {
      phi: own(w.lastUpdateAt.phi),
      psi: own(w.lastUpdateAt.psi),
      rate: own(w.lastUpdateAt.rate),
    };
  if (w.maskW) w.maskW = own(w.maskW);
  return buffers;
}

/** Play's pace: "steps per frame" at 60 frames per second. */
const PLAY_FPS = 60;

/**
 * Play runs on the worker's clock — `stepsPerFrame` × 60 steps per second of wall time, as many
 * as fit in a slice — whatever the page's frame rate: a page that draws slowly (a large network
 * on a software renderer) shows fewer snapshots of a run that keeps its speed. A backlog is
 * dropped rather than caught up in a burst. Returns whether it advanced.
 */
function playTick(): boolean {
  if (!sim || !playing || (job && !job.background) || preparing) return false;
  const now = performance.now();
  const elapsed = lastPlayTick ? Math.min(100, now - lastPlayTick) : 1000 / PLAY_FPS;
  lastPlayTick = now;
  playCredit = Math.min(
    playCredit + (elapsed * stepsPerFrame * PLAY_FPS) / 1000,
    2 * stepsPerFrame + 1,
  );
  const steps = Math.min(Math.floor(playCredit), chunkSize(sim));
  if (steps <= 0) return false;
  playCredit -= steps;
  try {
    sim.advance(steps);
    if (
      learnWhilePlaying &&
      sim.control &&
      sim.metrics.settled &&
      !queue.some((q) => q.kind === 'learn')
    )
      enqueue({ kind: 'learn', whilePlaying: true });
  } catch (e) {
    onJobError(null, e);
  }
  dirty = true;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Commands on the simulation wait while a build is pending; others apply now. */
function buildPending(): boolean {
  return (
    !sim ||
    preparing !== null ||
    job?.spec.kind === 'build' ||
    queue.some((s) => s.kind === 'build')
  );
}

function handle(cmd: Command): void {
  switch (cmd.type) {
    case 'ping':
      post({ type: 'pong', id: cmd.id });
      return;
    case 'ack':
      if (cmd.seq === seq) awaitingAck = false;
      schedule();
      return;
    case 'configure': {
      let next: TrainConfig;
      try {
        next = parseConfig(cmd.config);
      } catch (e) {
        notice({ level: 'error', key: 'input', text: describe(e) });
        post({ type: 'config', config, refused: true });
        return;
      }
      config = next;
      if (
        !cmd.fresh &&
        !buildPending() &&
        sim &&
        next.backend === sim.config.backend &&
        !needsRebuild(sim.config, next)
      ) {
        configureLive(sim, next, false);
        schedule();
      } else enqueueBuild(next);
      return;
    }
    case 'reset':
      enqueueBuild(config);
      return;
    case 'restore':
      try {
        config = parseConfig(cmd.config);
      } catch (e) {
        notice({
          level: 'error',
          key: 'input',
          text: `The saved session is not valid: ${describe(e)}`,
        });
        return;
      }
      enqueueBuild(config, { restore: cmd.checkpoint, continued: 'a restored session' });
      return;
    case 'backend':
      config = { ...config, backend: cmd.choice };
      backendChoice = null;
      takeCheckpoint();
      enqueueBuild(config, { restore: checkpoint, continued: 'a change of backend' });
      return;
    case 'stop': {
      if (cancelBuild()) return;
      const stopped = job?.spec;
      const updatesBefore = stopped?.kind === 'train' ? stopped.startUpdates : null;
      cancelAll();
      failFieldRequests('stopped');
      // The current sample still needs its free equilibrium if a stop interrupted it, and a
      // stopped Train leaves the equilibria of the weights before it.
      if (
        sim &&
        (!sim.freePhi || (updatesBefore !== null && sim.trainer.updates !== updatesBefore))
      )
        enqueue({ kind: 'refresh' });
      sendBusy(true);
      schedule();
      return;
    }
    case 'play':
      acked.play = cmd.id ?? acked.play;
      playing = cmd.playing;
      lastPlayTick = 0;
      playCredit = 0;
      dirty = true;
      schedule();
      return;
    case 'speed':
      stepsPerFrame = cmd.stepsPerFrame;
      return;
    case 'learnWhilePlaying':
      learnWhilePlaying = cmd.on;
      return;
    case 'flowField':
    case 'decisionMap':
      fieldRequests.push(cmd);
      schedule();
      return;
    case 'loseContext':
      if (!loseWebGLContext())
        notice({
          level: 'info',
          key: 'context',
          text: 'No WebGL context to lose: the engine is not on WebGL',
        });
      return;
    case 'control':
      acked.control = cmd.id ?? acked.control;
      if (
        !buildPending() &&
        sim &&
        (!job || (job.spec.kind !== 'learn' && job.spec.kind !== 'replay'))
      ) {
        setControl(sim, cmd.on);
        dirty = true;
        schedule();
      } else enqueue({ kind: 'control', on: cmd.on });
      return;
    case 'step':
      enqueue({ kind: 'step', steps: cmd.steps });
      return;
    case 'equilibrium':
      queue = queue.filter((s) => s.kind !== 'equilibrium');
      enqueue({ kind: 'equilibrium' });
      return;
    case 'learn':
      enqueue({ kind: 'learn', whilePlaying: false });
      return;
    case 'train':
      enqueue({ kind: 'train', total: cmd.updates, done: 0, startUpdates: null, present: true });
      return;
    case 'trainEpoch':
      enqueue({
        kind: 'train',
        total: -1,
        done: 0,
        startUpdates: null,
        present: true,
        untilEpochEnd: true,
      });
      return;
    case 'digitResponse':
      if (digitJob) {
        closeDigit(digitJob);
        post({ type: 'fieldFailed', id: digitJob.id, message: 'superseded' });
      }
      digitJob = { id: cmd.id, pixels: cmd.pixels, target: cmd.target, work: null };
      schedule();
      return;
    case 'nextSample':
      enqueue({ kind: 'next' });
      return;
    case 'edit':
      enqueue({ kind: 'edit', cmd });
      return;
    case 'alphaSweep':
      enqueue({ kind: 'alphaSweep', id: cmd.id, ...(cmd.alphas ? { alphas: cmd.alphas } : {}) });
      return;
    case 'epCompare':
      enqueue({ kind: 'epCompare', id: cmd.id, ...(cmd.betas ? { betas: cmd.betas } : {}) });
      return;
    case 'sweep':
      enqueue({ kind: 'sweep', id: cmd.id, request: cmd.request, done: 0, total: 0 });
      return;
    case 'compare':
      enqueue({ kind: 'compare', id: cmd.id, request: cmd.request, done: 0, total: 0 });
      return;
    case 'metaTrain':
      enqueue({ kind: 'metaTrain', id: cmd.id, updates: cmd.updates, done: 0, total: 0 });
      return;
    case 'metaReset':
      if (job?.spec.kind === 'metaTrain' || queue.some((q) => q.kind === 'metaTrain')) {
        notice({ level: 'info', key: 'meta', text: 'Stop meta-learning before starting it over' });
        return;
      }
      resetMeta();
      return;
    case 'replay': {
      let c: TrainConfig;
      try {
        c = parseConfig(cmd.config);
      } catch (e) {
        notice({ level: 'error', key: 'input', text: `The link's configuration: ${describe(e)}` });
        post({ type: 'replayed', id: cmd.id, done: 0, total: cmd.log.length });
        return;
      }
      config = c;
      enqueueBuild(c);
      queue.push({ kind: 'replay', id: cmd.id, entries: cmd.log, done: 0 });
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WebGL context loss

let recovering = false;

/**
 * A lost WebGL context (a GPU reset, or the test hook): stop the running job, continue from the
 * last checkpoint on the best backend available now, then resume the job where the checkpoint
 * left it — Train with the updates it still owes, the others from their start — and say so.
 */
function recoverFromContextLoss(): void {
  if (recovering) return;
  recovering = true;
  const interrupted = job?.spec ?? null;
  const cp = checkpoint;
  const wasPlaying = playing;
  const pending = queue.slice();
  if (job) closeJob(job);
  job = null;
  try {
    sim?.dispose();
  } catch {
    // The lost context's textures are gone with it.
  }
  sim = null;
  resetWebGL();
  backendChoice = null;
  const resumed: JobSpec[] = [];
  if (interrupted?.kind === 'train') {
    // The updates after the checkpoint are lost with the context: do them again.
    const start = interrupted.startUpdates ?? 0;
    const done = Math.max(0, Math.min(interrupted.done, (cp?.updates ?? start) - start));
    resumed.push({ ...interrupted, done });
  } else if (interrupted && interrupted.kind !== 'build' && interrupted.kind !== 'refresh')
    resumed.push(interrupted);
  const c: TrainConfig = { ...config, backend: 'auto' };
  enqueueBuild(c, { restore: cp, keepFields: true, continued: 'a lost WebGL context' });
  queue.push(...resumed, ...pending.filter((s) => s.kind !== 'build'));
  playing = wasPlaying;
  const what = interrupted
    ? `${LABELS[interrupted.kind].toLowerCase()} goes on`
    : 'the run continues';
  notice({
    level: 'warning',
    key: 'context',
    text: `The WebGL context was lost; ${what} on another backend from its last state (step ${cp?.step ?? 0}, update ${cp?.updates ?? 0}).`,
  });
  recovering = false;
  schedule();
}

onContextLost(() => schedule());

// ---------------------------------------------------------------------------------------------

/** The task data for the views; `fresh` for a new network (their histories start over). */
function sendTask(fresh = true): void {
  if (!sim) return;
  const d = sim.data;
  const trainCount = d.task === 'mnist' ? 0 : Math.min(d.train.count, 2000);
  const shown = displayedTestIndices(d);
  const labelsOrTargets = (split: typeof d.train, indices: number[]) =>
    split.labels
      ? Float32Array.from(indices, (i) => split.labels![i])
      : rowsOf(split.target, d.k, indices);
  const firstRows = Array.from({ length: trainCount }, (_, i) => i);
  const task: TaskData = {
    task: d.task,
    m: d.m,
    k: d.k,
    classification: d.classification,
    image: d.image ?? null,
    trainX: d.train.x.slice(0, trainCount * d.m),
    trainY: labelsOrTargets(d.train, firstRows),
    testX: rowsOf(d.test.x, d.m, shown),
    testY: labelsOrTargets(d.test, shown),
  };
  post({ type: 'task', data: task, fresh }, [
    task.trainX.buffer,
    task.trainY.buffer,
    task.testX.buffer,
    task.testY.buffer,
  ]);
}

// The page configures the engine first thing (its chapter and backend); nothing runs before.
scope.onmessage = (event: MessageEvent<Command>) => {
  try {
    handle(event.data);
  } catch (e) {
    post({
      type: 'error',
      message: `The engine could not handle "${event.data?.type}": ${describe(e)}`,
    });
  }
};
