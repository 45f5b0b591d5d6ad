/**
 * Analyses that a chapter's scene asks the engine for: the α limit (a sweep of α on the current
 * sample) and equilibrium propagation's two phases beside LCP's one. Each request sends its
 * command to the worker; the reply lands in a small vanilla store that the `sweep` and `ep` views
 * read. A new network clears it (its numbers described the old one).
 */
import { createStore } from 'zustand/vanilla';
import type {
  AlphaSweepResult,
  AnalysisKind,
  CompareRequest,
  CompareResult,
  EpResult,
  MetaView,
} from '../worker/protocol';
import { engine } from './engine';

/** One analysis: what the view shows and whether a newer one is on its way. */
export interface AnalysisSlot<T> {
  /** 'running': asked, no reply yet (the last result, if any, stays until the new one lands). */
  status: 'idle' | 'running' | 'done' | 'failed';
  /** The id of the request in flight or last answered (older replies are ignored). */
  id: number;
  result: T | null;
  /** Why the last request was not answered (stopped, no equilibrium, …). */
  message: string | null;
}

export interface AnalysesState {
  alphaSweep: AnalysisSlot<AlphaSweepResult>;
  epCompare: AnalysisSlot<EpResult>;
  compare: AnalysisSlot<CompareResult>;
  /** Meta-learning's run (the sinusoid chapter): LCP, implicit gradient and first order. */
  metaTrain: AnalysisSlot<MetaView>;
  /** The comparison asked for last on this network (a link carries it), or null. */
  compareRequest: CompareRequest | null;
}

/** The analyses kept here (the parameter sweep has its own store, sweeps.ts). */
type SlotKind = Exclude<AnalysisKind, 'sweep'>;

const idle = <T>(): AnalysisSlot<T> => ({ status: 'idle', id: 0, result: null, message: null });

export const analyses = createStore<AnalysesState>(() => ({
  alphaSweep: idle(),
  epCompare: idle(),
  compare: idle(),
  metaTrain: idle(),
  compareRequest: null,
}));

/** Request ids, increasing over the page's life (never reused after a clear). */
let nextId = 1;

function start(kind: SlotKind): number {
  const id = nextId++;
  analyses.setState((s) => ({ [kind]: { ...s[kind], status: 'running', id, message: null } }));
  return id;
}

/** Ask the worker for the α sweep of the current sample (the `sweep` view draws it). */
export function requestAlphaSweep(): void {
  engine().send({ type: 'alphaSweep', id: start('alphaSweep') });
}

/** Ask the worker for EP's free and nudged phases beside LCP's controlled one (the `ep` view). */
export function requestEpComparison(): void {
  engine().send({ type: 'epCompare', id: start('epCompare') });
}

/** Train `request`'s methods side by side from the seed (the `compare` view draws them). */
export function requestComparison(request: CompareRequest): void {
  const id = start('compare');
  // The curves of an earlier comparison are not this one's first points.
  analyses.setState((s) => ({ compare: { ...s.compare, result: null }, compareRequest: request }));
  engine().send({ type: 'compare', id, request });
}

/**
 * Compare-mode curves for request `id`: partial ones while it runs, `final` at its end. A
 * comparison that was stopped keeps its status and takes the points it got to.
 */
export function receiveComparison(id: number, result: CompareResult, final: boolean): void {
  const slot = analyses.getState().compare;
  if (slot.id !== id) return;
  const status = slot.status === 'running' ? (final ? 'done' : 'running') : slot.status;
  analyses.setState({ compare: { ...slot, status, result } });
}

/** `updates` more meta-updates of the meta-learning run (the `meta` views draw it). */
export function requestMetaTraining(updates: number): void {
  engine().send({ type: 'metaTrain', id: start('metaTrain'), updates });
}

/** Start the meta-learning run over from its seed (not while it trains). */
export function resetMetaTraining(): void {
  if (analyses.getState().metaTrain.status === 'running') return;
  engine().send({ type: 'metaReset' });
  analyses.setState({ metaTrain: idle() });
}

/** The meta-learning run so far, for request `id` (`final`: that request has ended). */
export function receiveMetaTraining(id: number, view: MetaView, final: boolean): void {
  const slot = analyses.getState().metaTrain;
  if (slot.id !== id) return;
  const status = slot.status === 'running' ? (final ? 'done' : 'running') : slot.status;
  analyses.setState({ metaTrain: { ...slot, status, result: view } });
}

/** The worker's α sweep for request `id` (state/engine.ts routes it here). */
export function receiveAlphaSweep(id: number, result: AlphaSweepResult): void {
  if (analyses.getState().alphaSweep.id !== id) return;
  analyses.setState({ alphaSweep: { status: 'done', id, result, message: null } });
}

/** The worker's EP comparison for request `id`. */
export function receiveEpComparison(id: number, result: EpResult): void {
  if (analyses.getState().epCompare.id !== id) return;
  analyses.setState({ epCompare: { status: 'done', id, result, message: null } });
}

/** Request `id` will not be answered (stopped, rebuilt, no equilibrium). */
export function analysisFailed(kind: SlotKind, id: number, message: string): void {
  const slot = analyses.getState()[kind];
  if (slot.id !== id) return;
  analyses.setState({ [kind]: { ...slot, status: 'failed', message } });
}

/**
 * A new network: the results described the old one. A request still running was sent after the
 * rebuild (the worker answers those sent before it with a failure first), so it stays.
 */
export function clearAnalyses(): void {
  const keep = <T>(slot: AnalysisSlot<T>): AnalysisSlot<T> =>
    slot.status === 'running' ? { ...slot, result: null } : idle();
  const s = analyses.getState();
  analyses.setState({
    alphaSweep: keep(s.alphaSweep),
    epCompare: keep(s.epCompare),
    compare: keep(s.compare),
    metaTrain: keep(s.metaTrain),
    compareRequest: s.compare.status === 'running' ? s.compareRequest : null,
  });
}
