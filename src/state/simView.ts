/**
 * The snapshot bus: what the worker last reported, plus the histories views need (traces,
 * learning curves, markers). A vanilla zustand store, so that D3 views subscribe outside React's
 * render cycle and redraw at frame rate.
 */
import { createStore } from 'zustand/vanilla';
import type {
  LearningPoint,
  Marker,
  Snapshot,
  TaskData,
  TraceSample,
  WeightsSnapshot,
} from '../worker/protocol';

export { TRACE_UNITS } from '../engine/trace';

/**
 * Trace samples kept: beyond this the older half is thinned to every other sample, so a fast run
 * keeps a long history at falling resolution and its recent part at full (the thinning depends
 * only on the samples, so a replayed run keeps the same ones).
 */
export const TRACE_CAPACITY = 1200;
/**
 * Learning points kept: beyond this the older half is thinned to every other point (a long
 * run's history stays bounded, its recent part at full resolution).
 */
export const LEARNING_CAPACITY = 4000;

/** A trace sample as the engine took it (the first TRACE_UNITS units' φ and ψ). */
export type TracePoint = TraceSample;

export interface SimView {
  latest: Snapshot | null;
  traces: TracePoint[];
  learning: LearningPoint[];
  markers: Marker[];
  weights: WeightsSnapshot | null;
  task: TaskData | null;
  /** Bumps on every reset, so that views clear what they accumulated. */
  generation: number;
  /**
   * A new network is on its way (chapter, reset, seed…): snapshots of the old one that were
   * already in flight are dropped until its task data arrives.
   */
  awaitingBuild: boolean;
}

const empty = (generation: number): SimView => ({
  latest: null,
  traces: [],
  learning: [],
  markers: [],
  weights: null,
  task: null,
  generation,
  awaitingBuild: false,
});

export const simView = createStore<SimView>(() => empty(0));

/** Fold one snapshot into the view state (histories are appended, capped). */
export function receiveSnapshot(s: Snapshot): void {
  const prev = simView.getState();
  if (prev.awaitingBuild) return;
  const traces = s.trace.length ? appendTrace(prev.traces, s.trace) : prev.traces;
  // The same array while nothing changes, so that views drawing from it can skip a redraw.
  const from = traces[0]?.t ?? 0;
  const markers =
    s.markers.length === 0 && (prev.markers[0]?.t ?? from) >= from
      ? prev.markers
      : [...prev.markers, ...s.markers].filter((m) => m.t >= from);
  simView.setState({
    latest: s,
    traces,
    learning: s.learning.length ? appendLearning(prev.learning, s.learning) : prev.learning,
    markers,
    weights: s.weights ?? prev.weights,
  });
}

/**
 * The traces with new samples appended: time going backwards (a new sample, a reset of the clock)
 * starts a fresh window; past TRACE_CAPACITY the older half keeps every other sample.
 */
export function appendTrace(history: TracePoint[], added: TracePoint[]): TracePoint[] {
  let all = history.slice();
  for (const p of added) {
    if (all.length && all[all.length - 1].t > p.t) all = [];
    all.push(p);
    if (all.length > TRACE_CAPACITY) {
      const half = Math.floor(all.length / 2);
      all = all
        .slice(0, half)
        .filter((_, i) => i % 2 === 1)
        .concat(all.slice(half));
    }
  }
  return all;
}

/**
 * The learning history with new points appended; past LEARNING_CAPACITY the older half keeps
 * every other point (points that carry test metrics are always kept).
 */
export function appendLearning(history: LearningPoint[], added: LearningPoint[]): LearningPoint[] {
  const all = history.concat(added);
  if (all.length <= LEARNING_CAPACITY) return all;
  const half = Math.floor(all.length / 2);
  const older = all.slice(0, half).filter((p, i) => i % 2 === 1 || p.testLoss !== undefined);
  return older.concat(all.slice(half));
}

export function receiveTask(task: TaskData): void {
  simView.setState({ task, awaitingBuild: false });
}

/**
 * Forget everything accumulated (a reset or a new configuration); `awaitBuild`: a new network
 * is coming, so drop the old one's snapshots still in flight.
 */
export function clearSimView(awaitBuild = false): void {
  simView.setState({ ...empty(simView.getState().generation + 1), awaitingBuild: awaitBuild });
}
