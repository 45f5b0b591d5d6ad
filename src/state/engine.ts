/**
 * The main thread's handle on the engine worker: sends commands, folds snapshots into the
 * snapshot bus, acknowledges each after the next frame is drawn (back-pressure), answers
 * flow-field and decision-map requests with promises, and watches the worker's health with a
 * heartbeat (a dead or stuck worker is reported within 2 s, with a restart that restores the
 * configuration and the weights).
 */
import type {
  Checkpoint,
  Command,
  DecisionMap,
  DigitResponse,
  FlowField,
  FlowFieldRequest,
  WorkerMessage,
} from '../worker/protocol';
import {
  analysisFailed,
  clearAnalyses,
  receiveAlphaSweep,
  receiveComparison,
  receiveEpComparison,
  receiveMetaTraining,
} from './analyses';
import { setConfigFields } from './configChanges';
import { receiveSweepPoint, sweepDone, sweepFailed } from './sweeps';
import { clearDigits, receiveTestEvaluation } from './digits';
import { receiveLog } from './runLog';
import { clearSimView, receiveSnapshot, receiveTask, simView } from './simView';
import { dismissNoticeKey, pushNotice, useApp, type AppState } from './store';

export interface EngineClient {
  /** Play and control commands get an id here, which snapshots echo once handled. */
  send(cmd: Command): void;
  flowField(request: FlowFieldRequest): Promise<FlowField>;
  decisionMap(size: number): Promise<DecisionMap>;
  /** The free and controlled response to a drawn digit (gray levels in [0, 1]), controlled
   *  toward `target`. */
  digitResponse(pixels: Float32Array, target: number | null): Promise<DigitResponse>;
  dispose(): void;
}

type Pending = { resolve: (v: never) => void; reject: (e: Error) => void };

/**
 * Heartbeat period, and the silence after which the worker counts as unresponsive (longer before
 * its first message: loading TensorFlow.js and the data takes a while on a slow machine).
 */
const PING_MS = 500;
const SILENCE_MS = 2000;
const STARTUP_SILENCE_MS = 20_000;
/** While the engine says it is in a step it cannot slice (measuring backends, …). */
const BLOCKING_SILENCE_MS = 15_000;

export function createEngineClient(worker: Worker): EngineClient {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ackScheduled = false;
  let lastPong = performance.now();
  let disposed = false;
  const sent = { play: 0, control: 0 };

  const ackAfterFrame = (seq: number) => {
    if (ackScheduled) return;
    ackScheduled = true;
    const ack = () => {
      ackScheduled = false;
      if (!disposed) worker.postMessage({ type: 'ack', seq } satisfies Command);
    };
    // A hidden tab gets no frames: acknowledge on a timer there so the worker is not stalled.
    if (typeof document !== 'undefined' && document.visibilityState === 'visible')
      requestAnimationFrame(ack);
    else setTimeout(ack, 50);
  };

  let heard = false;
  const alive = () => {
    lastPong = performance.now();
    heard = true;
    const health = useApp.getState().health;
    if (health === 'unresponsive' || health === 'starting') {
      useApp.setState({ health: 'ready' });
      dismissNoticeKey('engine');
    }
  };

  worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
    if (disposed) return;
    const msg = event.data;
    alive();
    switch (msg.type) {
      case 'snapshot': {
        const s = msg.snapshot;
        receiveSnapshot(s);
        const st = useApp.getState();
        const patch: Partial<AppState> = {};
        if (st.phase !== s.phase) patch.phase = s.phase;
        // A snapshot made before the worker saw the latest click must not undo it on screen.
        if (s.acked.control >= sent.control && st.control !== s.control) patch.control = s.control;
        if (s.acked.play >= sent.play && st.playing !== s.playing) patch.playing = s.playing;
        if (JSON.stringify(st.busy) !== JSON.stringify(s.busy)) patch.busy = s.busy;
        if (Object.keys(patch).length) useApp.setState(patch);
        ackAfterFrame(s.seq);
        break;
      }
      case 'config':
        // The engine kept (or fell back to) this configuration: show it, stop waiting.
        useApp.setState({ config: msg.config });
        simView.setState({ awaitingBuild: false });
        break;
      case 'busy':
        if (JSON.stringify(useApp.getState().busy) !== JSON.stringify(msg.busy))
          useApp.setState({ busy: msg.busy });
        break;
      case 'task':
        if (msg.fresh) {
          clearSimView();
          clearAnalyses();
          clearDigits();
        }
        receiveTask(msg.data);
        break;
      case 'ready':
      case 'backend':
        useApp.setState({ backend: msg.backend, backendReason: msg.reason });
        break;
      case 'notice':
        pushNotice(
          msg.notice,
          msg.notice.fix
            ? { label: msg.notice.fix.label, run: () => applyFix(msg.notice.fix!.changes) }
            : undefined,
        );
        break;
      case 'flowField':
      case 'decisionMap':
      case 'digitResponse': {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        const value =
          msg.type === 'flowField'
            ? msg.field
            : msg.type === 'decisionMap'
              ? msg.map
              : msg.response;
        p?.resolve(value as never);
        break;
      }
      case 'testEvaluation':
        receiveTestEvaluation(msg.evaluation);
        break;
      case 'fieldFailed': {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        p?.reject(new Error(msg.message));
        break;
      }
      case 'noticeClear':
        dismissNoticeKey(msg.key);
        break;
      case 'alphaSweep':
        receiveAlphaSweep(msg.id, msg.result);
        break;
      case 'epCompare':
        receiveEpComparison(msg.id, msg.result);
        break;
      case 'metaTrain':
        receiveMetaTraining(msg.id, msg.view, msg.final);
        break;
      case 'compare':
        receiveComparison(msg.id, msg.result, msg.final);
        break;
      case 'analysisFailed':
        if (msg.analysis === 'sweep') sweepFailed(msg.id, msg.message);
        else analysisFailed(msg.analysis, msg.id, msg.message);
        break;
      case 'sweepPoint':
        receiveSweepPoint(msg.id, msg.point);
        break;
      case 'sweepDone':
        sweepDone(msg.id);
        break;
      case 'log':
        receiveLog(msg.base, msg.from, msg.entries, msg.full);
        break;
      case 'replayed':
        onReplayed?.(msg.id, msg.done, msg.total);
        break;
      case 'pong':
        break;
      case 'error':
        pushNotice({ level: 'error', key: 'engine-error', text: msg.message });
        break;
    }
  };
  worker.onerror = (e) => {
    e.preventDefault();
    reportDead(`the engine worker failed: ${e.message || 'it could not start'}`);
  };

  const heartbeat = setInterval(() => {
    if (disposed) return;
    worker.postMessage({ type: 'ping', id: nextId++ } satisfies Command);
    const st = useApp.getState();
    const silence = !heard
      ? STARTUP_SILENCE_MS
      : st.busy?.blocking
        ? BLOCKING_SILENCE_MS
        : SILENCE_MS;
    if (performance.now() - lastPong > silence && st.health !== 'crashed') {
      if (st.health !== 'unresponsive') {
        useApp.setState({ health: 'unresponsive' });
        pushNotice(
          {
            level: 'error',
            key: 'engine',
            text: 'The engine is not responding (no answer for 2 s). It may be busy with a very large network, or it stopped.',
          },
          { label: 'Restart engine', run: restartEngine },
        );
      }
    }
  }, PING_MS);

  const request = <T>(make: (id: number) => Command): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (disposed) return reject(new Error('engine stopped'));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: never) => void, reject });
      worker.postMessage(make(id));
    });

  return {
    send: (cmd) => {
      if (disposed) return;
      if (cmd.type === 'play' || cmd.type === 'control') {
        sent[cmd.type] = Math.max(sent[cmd.type], cmd.id ?? 0) + 1;
        worker.postMessage({ ...cmd, id: sent[cmd.type] });
      } else worker.postMessage(cmd);
    },
    flowField: (req) => request<FlowField>((id) => ({ type: 'flowField', request: req, id })),
    decisionMap: (size) => request<DecisionMap>((id) => ({ type: 'decisionMap', size, id })),
    digitResponse: (pixels, target) =>
      request<DigitResponse>((id) => ({ type: 'digitResponse', id, pixels, target })),
    dispose: () => {
      disposed = true;
      clearInterval(heartbeat);
      worker.terminate();
      for (const p of pending.values()) p.reject(new Error('engine stopped'));
      pending.clear();
    },
  };
}

function reportDead(text: string): void {
  useApp.setState({ health: 'crashed', busy: null, playing: false });
  pushNotice(
    { level: 'error', key: 'engine', text },
    { label: 'Restart engine', run: restartEngine },
  );
}

/** Apply a divergence fix (a few configuration changes) as a user edit would. */
function applyFix(changes: Partial<AppState['config']>): void {
  setConfigFields(changes);
  dismissNoticeKey('divergence');
}

/** Who hears that a replay has ended (linkSync.ts; set there, to keep this module its leaf). */
let onReplayed: ((id: number, done: number, total: number) => void) | null = null;

export function onReplayEnded(listener: typeof onReplayed): void {
  onReplayed = listener;
}

let client: EngineClient | null = null;

function newWorker(): Worker {
  return new Worker(new URL('../worker/engine.worker.ts', import.meta.url), {
    type: 'module',
    name: 'lcp-engine',
  });
}

/** The app's engine (created on first use, in a module worker). */
export function engine(): EngineClient {
  client ??= createEngineClient(newWorker());
  return client;
}

/** Tests and previews may install their own client (e.g. a fake). */
export function setEngine(c: EngineClient | null): void {
  client = c;
}

/**
 * The weights and sample the page last saw, as a checkpoint the engine can continue from (the
 * dynamic state restarts from zero): what a restart or a restored session rebuilds.
 */
export function pageCheckpoint(): Checkpoint | null {
  const { latest, weights } = simView.getState();
  if (!latest || !weights) return null;
  return {
    params: weights.params,
    state: {
      phi: new Float32Array(latest.n),
      y: new Float32Array(latest.k),
      uI: new Float32Array(latest.k),
      psi: new Float32Array(latest.n),
    },
    sample: latest.sample,
    t: 0,
    step: latest.step,
    control: false,
    updates: latest.updates,
    epoch: latest.epoch,
  };
}

/** A new worker with the last configuration and weights (after a crash or a hang). */
export function restartEngine(): void {
  const cp = pageCheckpoint();
  client?.dispose();
  client = createEngineClient(newWorker());
  (window as unknown as { lcp?: EngineClient }).lcp = client;
  const { config } = useApp.getState();
  useApp.setState({ health: 'starting', busy: null, playing: false, control: false });
  dismissNoticeKey('engine');
  if (cp) client.send({ type: 'restore', config, checkpoint: cp });
  else client.send({ type: 'configure', config });
}
