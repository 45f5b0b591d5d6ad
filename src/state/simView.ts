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
  WeightsSnapshot,
} from '../worker/protocol';

/** How many trace points are kept (the traces view shows a sliding window). */
export const TRACE_CAPACITY = 600;
/** How many units' traces are kept (the first ones; the view picks among them). */
export const TRACE_UNITS = 16;
/**
 * Learning points kept: beyond this the older half is thinned to every other point (a long
 * run's history stays bounded, its recent part at full resolution).
 */
export const LEARNING_CAPACITY = 4000;

export interface TracePoint {
  t: number;
  phi: Float32Array;
  psi: Float32Array;
  y: Float32Array;
  u: Float32Array;
  target: Float32Array;
}

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
  const units = Math.min(TRACE_UNITS, s.n);
  const point: TracePoint = {
    t: s.t,
    phi: s.phi.slice(0, units),
    psi: s.psi.slice(0, units),
    y: s.y,
    u: s.u,
    target: s.target,
  };
  const traces =
    prev.traces.length >= TRACE_CAPACITY
      ? prev.traces.slice(prev.traces.length - TRACE_CAPACITY + 1)
      : prev.traces.slice();
  // Time going backwards means a new sample or a reset of the clock: start a fresh window.
  if (traces.length && traces[traces.length - 1].t > s.t) traces.length = 0;
  traces.push(point);
  const markers = [...prev.markers, ...s.markers].filter((m) => m.t >= (traces[0]?.t ?? 0));
  simView.setState({
    latest: s,
    traces,
    learning: s.learning.length ? appendLearning(prev.learning, s.learning) : prev.learning,
    markers,
    weights: s.weights ?? prev.weights,
  });
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
