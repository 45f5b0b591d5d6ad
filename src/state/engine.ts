/**
 * The main thread's handle on the engine worker: sends commands, folds snapshots into the
 * snapshot bus, acknowledges each after the next frame is drawn (back-pressure), and answers
 * flow-field and decision-map requests with promises.
 */
import type {
  Command,
  DecisionMap,
  FlowField,
  FlowFieldRequest,
  WorkerMessage,
} from '../worker/protocol';
import { clearSimView, receiveSnapshot, receiveTask } from './simView';
import { pushNotice, useApp } from './store';

export interface EngineClient {
  send(cmd: Command): void;
  flowField(request: FlowFieldRequest): Promise<FlowField>;
  decisionMap(size: number): Promise<DecisionMap>;
  dispose(): void;
}

type Pending = { resolve: (v: never) => void; reject: (e: Error) => void };

export function createEngineClient(worker: Worker): EngineClient {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ackScheduled = false;

  const ackAfterFrame = (seq: number) => {
    if (ackScheduled) return;
    ackScheduled = true;
    const ack = () => {
      ackScheduled = false;
      worker.postMessage({ type: 'ack', seq } satisfies Command);
    };
    // A hidden tab gets no frames: acknowledge on a timer there so the worker is not stalled.
    if (typeof document !== 'undefined' && document.visibilityState === 'visible')
      requestAnimationFrame(ack);
    else setTimeout(ack, 50);
  };

  worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
    const msg = event.data;
    switch (msg.type) {
      case 'snapshot': {
        const s = msg.snapshot;
        receiveSnapshot(s);
        const st = useApp.getState();
        const patch: Partial<ReturnType<typeof useApp.getState>> = {};
        if (st.phase !== s.phase) patch.phase = s.phase;
        if (st.control !== s.control) patch.control = s.control;
        if (JSON.stringify(st.progress) !== JSON.stringify(s.progress)) patch.progress = s.progress;
        if (Object.keys(patch).length) useApp.setState(patch);
        ackAfterFrame(s.seq);
        break;
      }
      case 'task':
        clearSimView();
        receiveTask(msg.data);
        break;
      case 'ready':
      case 'backend':
        useApp.setState({ backend: msg.backend, backendReason: msg.reason });
        break;
      case 'notice':
        pushNotice(msg.notice);
        break;
      case 'flowField':
      case 'decisionMap': {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        p?.resolve((msg.type === 'flowField' ? msg.field : msg.map) as never);
        break;
      }
      case 'error':
        pushNotice({ level: 'error', text: msg.message });
        break;
    }
  };
  worker.onerror = (e) =>
    pushNotice({ level: 'error', text: `engine worker failed: ${e.message}` });

  const request = <T>(make: (id: number) => Command): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: never) => void, reject });
      worker.postMessage(make(id));
    });

  return {
    send: (cmd) => worker.postMessage(cmd),
    flowField: (req) => request<FlowField>((id) => ({ type: 'flowField', request: req, id })),
    decisionMap: (size) => request<DecisionMap>((id) => ({ type: 'decisionMap', size, id })),
    dispose: () => {
      worker.terminate();
      for (const p of pending.values()) p.reject(new Error('engine stopped'));
      pending.clear();
    },
  };
}

let client: EngineClient | null = null;

/** The app's engine (created on first use, in a module worker). */
export function engine(): EngineClient {
  if (!client) {
    const worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'lcp-engine',
    });
    client = createEngineClient(worker);
  }
  return client;
}

/** Tests and previews may install their own client (e.g. a fake). */
export function setEngine(c: EngineClient | null): void {
  client = c;
}
