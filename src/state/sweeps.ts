/**
 * The Sweeps panel's state: the form (parameters, ranges, seeds, updates per run, metric), the
 * sweep asked for last and its points as the worker streams them. The form's request is checked
 * here (engine/sweep.ts planSweep) before anything is sent, so a bad range is said at once.
 */
import { createStore } from 'zustand/vanilla';
import { FIELDS, configDiff, type ConfigKey, type TrainConfig } from '../engine/config';
import { InputError } from '../engine/errors';
import {
  DEFAULT_SWEEP,
  isSweepArg,
  planSweep,
  type SweepMetric,
  type SweepPlan,
  type SweepRequest,
} from '../engine/sweep';
import type { SweepPoint } from '../engine/sweepRun';
import { engine } from './engine';
import type { LinkSweep } from './link';
import { useApp } from './store';

/** One parameter of the form: a range (lo, hi, points, log) or a list of values. */
export interface SweepAxisForm {
  key: ConfigKey;
  mode: 'range' | 'list';
  lo: string;
  hi: string;
  count: string;
  log: boolean;
  list: string;
}

export interface SweepForm {
  axes: SweepAxisForm[];
  seeds: number;
  updates: number;
  metric: SweepMetric;
  /** The band around the mean: ± one standard deviation, or min–max over the seeds. */
  band: 'sd' | 'range';
}

export interface SweepsState {
  form: SweepForm;
  status: 'idle' | 'running' | 'done' | 'failed';
  /** The request in flight or last answered (older replies are ignored). */
  id: number;
  plan: SweepPlan | null;
  /** The configuration the sweep ran from (the page's when it was asked for). */
  config: TrainConfig | null;
  points: SweepPoint[];
  /** Why the last sweep stopped or was not sent. */
  message: string | null;
}

/** A range over a field's usual values: its default ×/÷ 10 on a log axis when it is positive. */
export function defaultAxis(key: ConfigKey): SweepAxisForm {
  const f = FIELDS[key];
  const d = f.type === 'number' || f.type === 'integer' ? f.default : 1;
  const log = f.type === 'number' && d > 0 && f.log === true;
  const lo = log
    ? d / 10
    : f.type === 'number' || f.type === 'integer'
      ? Math.max(f.min, d / 2)
      : 0;
  const hi = log ? d * 10 : d * 2 || 1;
  const round = (v: number) => String(Number(v.toPrecision(3)));
  return { key, mode: 'range', lo: round(lo), hi: round(hi), count: '5', log, list: String(d) };
}

export const DEFAULT_FORM: SweepForm = {
  axes: [{ ...defaultAxis('lr'), lo: '0.001', hi: '0.1', log: true }],
  ...DEFAULT_SWEEP,
  band: 'sd',
};

export const sweeps = createStore<SweepsState>(() => ({
  form: DEFAULT_FORM,
  status: 'idle',
  id: 0,
  plan: null,
  config: null,
  points: [],
  message: null,
}));

/** The text of an axis: `key=lo..hi:n[:log]` or `key=a,b,c` (engine/sweep.ts reads both). */
export function axisText(a: SweepAxisForm): string {
  return a.mode === 'list'
    ? `${a.key}=${a.list.replace(/\s+/g, '')}`
    : `${a.key}=${a.lo.trim()}..${a.hi.trim()}:${a.count.trim()}${a.log ? ':log' : ''}`;
}

/** The form of an axis text (a link's): a range's bounds and options, or a list. */
export function axisForm(text: string): SweepAxisForm {
  const eq = text.indexOf('=');
  const key = text.slice(0, eq) as ConfigKey;
  const rest = text.slice(eq + 1);
  const base = defaultAxis(key);
  if (!isSweepArg(text)) return { ...base, mode: 'list', list: rest };
  const [range, ...options] = rest.split(':');
  const [lo, hi] = range.split('..');
  const count = options.find((o) => /^\d+$/.test(o)) ?? '9';
  return { ...base, mode: 'range', lo, hi, count, log: options.includes('log'), list: base.list };
}

export function requestOf(form: SweepForm): SweepRequest {
  return { axes: form.axes.map(axisText), seeds: form.seeds, updates: form.updates };
}

export function setSweepForm(patch: Partial<SweepForm>): void {
  sweeps.setState((s) => ({ form: { ...s.form, ...patch } }));
}

export function setSweepAxis(i: number, patch: Partial<SweepAxisForm>): void {
  sweeps.setState((s) => ({
    form: { ...s.form, axes: s.form.axes.map((a, q) => (q === i ? { ...a, ...patch } : a)) },
  }));
}

/** Request ids, increasing over the page's life. */
let nextId = 1;

/** Check the form and ask the worker for its sweep; a bad form is said in the status line. */
export function requestSweep(): void {
  const form = sweeps.getState().form;
  let plan: SweepPlan;
  try {
    plan = planSweep(requestOf(form));
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    sweeps.setState({ status: 'failed', message: e.message, plan: null, points: [] });
    return;
  }
  const id = nextId++;
  sweeps.setState({
    status: 'running',
    id,
    plan,
    config: useApp.getState().config,
    points: [],
    message: null,
  });
  engine().send({ type: 'sweep', id, request: plan.request });
}

/** Stop the sweep (and whatever else the engine is doing, as the Stop button does). */
export function stopSweep(): void {
  engine().send({ type: 'stop' });
}

export function receiveSweepPoint(id: number, point: SweepPoint): void {
  const s = sweeps.getState();
  if (s.id !== id) return;
  sweeps.setState({ points: [...s.points, point] });
}

export function sweepDone(id: number): void {
  if (sweeps.getState().id !== id) return;
  sweeps.setState({ status: 'done' });
}

/** Sweep `id` will not finish (stopped, rebuilt): the points so far stay on the plot. */
export function sweepFailed(id: number, message: string): void {
  if (sweeps.getState().id !== id) return;
  sweeps.setState({ status: 'failed', message });
}

/** The sweep a link carries: the one asked for last (with the metric shown now), if any. */
export function linkedSweep(): LinkSweep | null {
  const s = sweeps.getState();
  // A sweep from another configuration would not be the one seen: the link leaves it out.
  if (!s.plan || !s.config || Object.keys(configDiff(useApp.getState().config, s.config)).length)
    return null;
  return { request: s.plan.request, metric: s.form.metric };
}

/** A link's sweep: into the form, the panel shown, and run. */
export function runLinkedSweep(sweep: LinkSweep): void {
  const { request, metric } = sweep;
  setSweepForm({
    axes: request.axes.map(axisForm),
    seeds: request.seeds,
    updates: request.updates,
    metric,
  });
  useApp.setState((s) => ({ hidden: s.hidden.filter((v) => v !== 'sweeps') }));
  requestSweep();
}
