/// <reference lib="webworker" />
/**
 * The engine's worker: owns the tfjs backend and one Simulation; runs play, equilibrium, learn
 * and train in small time slices so that commands (pause, stop, edits) are handled promptly;
 * sends at most one unacknowledged snapshot at a time, at most ~60 per second (back-pressure).
 */
import { parseConfig, type BackendChoice, type TrainConfig } from '../engine/config';
import { DivergenceError, InputError } from '../engine/errors';
import { PRESETS } from '../engine/presets';
import { Simulation, type Checkpoint } from '../engine/simulation';
import { loadMnistUrl } from '../engine/tasks/loadMnist';
import type { MnistData } from '../engine/tasks/mnistData';
import { initBackend, loseWebGLContext, onContextLost, resetWebGL } from './backends';
import { computeDecisionMap, computeFlowField, displayedTestIndices, rowsOf } from './fields';
import type { Command, Notice, Snapshot, TaskData, WorkerMessage } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (msg: WorkerMessage, transfer: Transferable[] = []) =>
  scope.postMessage(msg, transfer);
const notice = (level: Notice['level'], text: string) =>
  post({ type: 'notice', notice: { level, text } });

/** Minimum interval between snapshots (~60 per second). */
const SNAPSHOT_INTERVAL_MS = 16;
/**
 * While training, two snapshots a second: curves and weights stay live, and the page's paint
 * and raster (software GL here) are not asked to redraw every view at frame rate.
 */
const TRAINING_SNAPSHOT_INTERVAL_MS = 500;
/** Longest slice of work before the worker yields to its message queue. */
const SLICE_MS = 12;
/** Rest between training slices, so that the page (and its compositor) keep a share of a 2-core CPU. */
const TRAIN_REST_MS = 6;

let sim: Simulation | null = null;
let config: TrainConfig = parseConfig(PRESETS['figure-1']?.config ?? {});
let backendChoice: BackendChoice = 'auto';
let mnist: MnistData | undefined;

let playing = false;
let learnWhilePlaying = false;
let stepsPerFrame = 4;
let frameCredit = 0;
let pendingSteps = 0;
let toEquilibrium = false;
let trainRemaining = 0;
let trainTotal = 0;
let seq = 0;
let awaitingAck = false;
let lastSnapshot = 0;
let lastWeightsVersion = -1;
let dirty = true;
let scheduled = false;
let busy: Promise<void> = Promise.resolve();
/** The last state read back (every snapshot): what a lost WebGL context cannot give back. */
let checkpoint: Checkpoint | null = null;

/** Serialise async commands (configure, reset) so they never interleave. */
function enqueue(job: () => Promise<void>): void {
  busy = busy.then(job).catch((e: unknown) => post({ type: 'error', message: describe(e) }));
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

async function rebuild(next: TrainConfig): Promise<void> {
  const data = await ensureMnist(next);
  const size = {
    n: next.topology === 'layered' ? next.layers.reduce((a, b) => a + b, 0) : next.hidden,
    batch: next.batch,
  };
  if (!sim || sim.config.backend !== next.backend) {
    const choice = next.backend === 'auto' ? backendChoice : next.backend;
    const b = await initBackend(choice, size);
    post({ type: 'backend', backend: b.backend, reason: b.reason });
    if (choice !== 'auto' && b.backend !== choice)
      notice('warning', `Backend ${choice} is not available here: ${b.reason}`);
  }
  sim?.dispose();
  sim = new Simulation(next, data);
  config = sim.config;
  stopAll();
  sendTask();
  lastWeightsVersion = -1;
  dirty = true;
  schedule();
}

function stopAll(): void {
  playing = false;
  pendingSteps = 0;
  toEquilibrium = false;
  trainRemaining = 0;
  trainTotal = 0;
}

function sendTask(): void {
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
  post({ type: 'task', data: task }, [
    task.trainX.buffer,
    task.trainY.buffer,
    task.testX.buffer,
    task.testY.buffer,
  ]);
}

function snapshot(): Snapshot | null {
  if (!sim) return null;
  const a = sim.read();
  const weightsChanged = sim.weightsVersion !== lastWeightsVersion;
  lastWeightsVersion = sim.weightsVersion;
  const s: Snapshot = {
    seq: ++seq,
    t: sim.t,
    step: sim.step,
    phase:
      trainRemaining > 0
        ? 'training'
        : playing || pendingSteps > 0 || toEquilibrium
          ? sim.phase
          : 'idle',
    control: sim.control,
    n: sim.n,
    m: sim.data.m,
    k: sim.data.k,
    sample: sim.sample,
    epoch: sim.trainer.epoch,
    updates: sim.trainer.updates,
    ...a,
    freePhi: sim.freePhi ? sim.freePhi.slice() : null,
    metrics: { ...sim.metrics },
    learning: sim.pendingLearning.splice(0),
    markers: sim.pendingMarkers.splice(0),
    progress: trainTotal > 0 ? { done: trainTotal - trainRemaining, total: trainTotal } : null,
  };
  checkpoint = sim.captureCheckpoint(
    weightsChanged ? sim.readWeights() : (checkpoint?.params ?? sim.readWeights()),
  );
  if (weightsChanged) {
    const layers = sim.config.topology === 'layered' ? sim.config.layers : [sim.n];
    s.weights = {
      version: sim.weightsVersion,
      params: checkpoint.params,
      lastUpdate: sim.lastUpdate,
      appliedStep: sim.appliedStep,
      maskW: sim.trainer.net.masks.W ? Float32Array.from(sim.trainer.net.masks.W.dataSync()) : null,
      layers,
    };
  }
  return s;
}

function maybeSendSnapshot(force = false): void {
  const now = performance.now();
  const interval = trainRemaining > 0 ? TRAINING_SNAPSHOT_INTERVAL_MS : SNAPSHOT_INTERVAL_MS;
  if (awaitingAck || (!force && (!dirty || now - lastSnapshot < interval))) return;
  const s = snapshot();
  if (!s) return;
  awaitingAck = true;
  lastSnapshot = now;
  dirty = false;
  // Weights snapshots are copies (lastUpdate may be shared with the simulation): no transfer.
  post({ type: 'snapshot', snapshot: s }, [
    s.phi.buffer,
    s.rate.buffer,
    s.psi.buffer,
    s.y.buffer,
    s.u.buffer,
  ]);
}

/** Divergence: the simulation kept its last good state; stop what ran and tell the user. */
function onDivergence(e: DivergenceError): void {
  stopAll();
  notice(
    'error',
    `Diverged (${e.message}). The last good state is kept; try a smaller dt, a larger τ or a smaller learning rate.`,
  );
  dirty = true;
}

function work(): void {
  scheduled = false;
  if (!sim) return;
  const deadline = performance.now() + SLICE_MS;
  try {
    if (trainRemaining > 0) {
      while (trainRemaining > 0 && performance.now() < deadline) {
        sim.trainStep();
        trainRemaining--;
        dirty = true;
      }
      if (trainRemaining === 0) {
        trainTotal = 0;
        sim.afterUpdate(false);
      }
    } else if (toEquilibrium) {
      while (!sim.metrics.settled && performance.now() < deadline) {
        sim.advance(25);
        if (sim.step > 0 && sim.metrics.settled) break;
      }
      dirty = true;
      if (sim.metrics.settled) toEquilibrium = false;
    } else if (pendingSteps > 0) {
      sim.advance(pendingSteps);
      pendingSteps = 0;
      dirty = true;
    }
  } catch (e) {
    if (e instanceof DivergenceError) onDivergence(e);
    else post({ type: 'error', message: describe(e) });
  }
  maybeSendSnapshot();
  if (trainRemaining > 0 || toEquilibrium || pendingSteps > 0 || (dirty && !awaitingAck))
    schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setTimeout(work, trainRemaining > 0 ? TRAIN_REST_MS : 0);
}

/** Play advances one frame's worth of steps per acknowledged snapshot: the page sets the pace. */
function playFrame(): void {
  if (!sim || !playing || trainRemaining > 0) return;
  try {
    frameCredit += stepsPerFrame;
    const steps = Math.floor(frameCredit);
    frameCredit -= steps;
    if (steps > 0) sim.advance(steps);
    if (learnWhilePlaying && sim.control && sim.metrics.settled) {
      sim.learn();
      sim.afterUpdate(true);
      sim.setControl(true);
    }
  } catch (e) {
    if (e instanceof DivergenceError) onDivergence(e);
    else throw e;
  }
  dirty = true;
}

function handle(cmd: Command): void {
  switch (cmd.type) {
    case 'configure':
      enqueue(async () => {
        const next = parseConfig(cmd.config);
        if (sim && next.backend === sim.config.backend && next.task === sim.config.task) {
          const how = sim.configure(next);
          config = sim.config;
          if (how === 'rebuilt') {
            stopAll();
            sendTask();
          }
          lastWeightsVersion = how === 'rebuilt' ? -1 : lastWeightsVersion;
          dirty = true;
          schedule();
        } else await rebuild(next);
      });
      return;
    case 'reset':
      enqueue(async () => {
        if (!sim) return rebuild(config);
        stopAll();
        sim.reset(cmd.seed);
        sendTask();
        lastWeightsVersion = -1;
        dirty = true;
        schedule();
      });
      return;
    case 'inject':
      disableWebGL();
      return;
    case 'backend':
      backendChoice = cmd.choice;
      enqueue(() => rebuild({ ...config, backend: cmd.choice }));
      return;
    default:
      break;
  }
  if (!sim) return;
  try {
    switch (cmd.type) {
      case 'play':
        playing = cmd.playing;
        if (playing) playFrame();
        break;
      case 'step':
        toEquilibrium = false;
        pendingSteps += cmd.steps;
        break;
      case 'equilibrium':
        toEquilibrium = true;
        sim.metrics.settled = false;
        break;
      case 'control':
        sim.setControl(cmd.on);
        break;
      case 'learn':
        // A new sample follows the update: a run to equilibrium of the old one is over.
        toEquilibrium = false;
        sim.learn();
        sim.afterUpdate(true);
        break;
      case 'train':
        playing = false;
        trainRemaining = cmd.updates;
        trainTotal = cmd.updates;
        break;
      case 'stop':
        stopAll();
        break;
      case 'speed':
        stepsPerFrame = cmd.stepsPerFrame;
        break;
      case 'learnWhilePlaying':
        learnWhilePlaying = cmd.on;
        break;
      case 'nextSample':
        toEquilibrium = false;
        sim.nextSample();
        break;
      case 'edit':
        if (cmd.target === 'param') sim.editParam(cmd.name, cmd.row, cmd.col, cmd.value);
        else sim.editSample(cmd.target, cmd.index, cmd.value);
        break;
      case 'flowField': {
        const field = computeFlowField(sim, cmd.request);
        post({ type: 'flowField', id: cmd.id, field }, [
          field.di.buffer,
          field.dj.buffer,
          field.outputError.buffer,
        ]);
        return;
      }
      case 'decisionMap': {
        const map = computeDecisionMap(sim, cmd.size);
        post({ type: 'decisionMap', id: cmd.id, map }, [
          map.values.buffer,
          map.testPredictions.buffer,
        ]);
        return;
      }
      case 'ack':
        if (cmd.seq === seq) awaitingAck = false;
        if (playing) playFrame();
        break;
      case 'loseContext':
        loseContextForTest();
        return;
    }
  } catch (e) {
    if (e instanceof DivergenceError) onDivergence(e);
    else if (e instanceof InputError) notice('error', e.message);
    else post({ type: 'error', message: describe(e) });
  }
  dirty = true;
  schedule();
}

/** Make every WebGL context request in this worker fail, as on a machine without WebGL. */
function disableWebGL(): void {
  const proto = (
    scope as unknown as {
      OffscreenCanvas?: { prototype: { getContext: (...a: unknown[]) => unknown } };
    }
  ).OffscreenCanvas?.prototype;
  if (proto) {
    const original = proto.getContext;
    proto.getContext = function (this: unknown, ...args: unknown[]) {
      return typeof args[0] === 'string' && args[0].startsWith('webgl')
        ? null
        : original.apply(this, args);
    };
  }
  resetWebGL();
}

function loseContextForTest(): void {
  if (!loseWebGLContext()) notice('info', 'No WebGL context to lose: the engine is not on WebGL');
}

/**
 * A lost WebGL context (a GPU reset, or the test hook): continue from the last checkpoint on
 * the best backend available now — a restored context or another backend — and say so.
 */
onContextLost(() => {
  enqueue(async () => {
    const cp = checkpoint;
    const wasPlaying = playing;
    stopAll();
    try {
      sim?.dispose();
    } catch {
      // The lost context's textures are gone with it.
    }
    sim = null;
    resetWebGL();
    const size = {
      n: config.topology === 'layered' ? config.layers.reduce((a, b) => a + b, 0) : config.hidden,
      batch: config.batch,
    };
    const b = await initBackend('auto', size);
    post({ type: 'backend', backend: b.backend, reason: `after WebGL context loss: ${b.reason}` });
    sim = new Simulation(config, mnist);
    if (cp) sim.restoreCheckpoint(cp);
    lastWeightsVersion = -1;
    playing = wasPlaying;
    notice(
      'warning',
      `The WebGL context was lost; the run continues on ${b.backend} from its last state (step ${cp?.step ?? 0}).`,
    );
    dirty = true;
    awaitingAck = false;
    schedule();
    if (playing) playFrame();
  });
});

// The page configures the engine first thing (its chapter and backend); nothing runs before.
scope.onmessage = (event: MessageEvent<Command>) => handle(event.data);
