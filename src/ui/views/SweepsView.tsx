/**
 * Parameter sweeps: the form, Run/Stop, a status line and the drawing — a line plot with a band
 * for one parameter (sweepLineDraw), a heat-map for two (sweepHeatDraw). The worker streams the
 * runs into the sweeps store; the plot redraws as each lands.
 */
import { useCallback, useMemo, useRef } from 'react';
import { useStore } from 'zustand';
import { METRIC_LABELS, isSweepArg } from '../../engine/sweep';
import { summarizeSweep } from '../../engine/sweepStats';
import { useApp } from '../../state/store';
import { requestSweep, stopSweep, sweeps, type SweepsState } from '../../state/sweeps';
import { hostSvg, sectionStyle, useLiveDraw, type Size } from './common';
import { SweepForm } from './SweepForm';
import { drawSweepHeat } from './sweepHeatDraw';
import { drawSweepLine } from './sweepLineDraw';
import { looksLog, type SweepPlotModel } from './sweepPlot';

/** The drawing's model from the store: the plan's axes, and each cell's statistics. */
export function plotModel(
  s: Pick<SweepsState, 'plan' | 'points' | 'form' | 'status' | 'message'>,
): SweepPlotModel {
  const { plan, form } = s;
  const metricLabel = METRIC_LABELS[form.metric];
  if (!plan)
    return {
      axes: [],
      cells: [],
      seeds: form.seeds,
      metricLabel,
      band: form.band,
      empty:
        s.status === 'failed'
          ? `No sweep: ${s.message ?? 'it failed'}`
          : 'Pick one parameter (a line) or two (a heat-map), then Run: every point trains a fresh network on each seed.',
    };
  const axes = plan.axes.map((a, i) => {
    const text = plan.request.axes[i];
    const log = isSweepArg(text) ? /:log$/.test(text) : looksLog(a.values);
    return { key: a.key, values: a.values, log };
  });
  return {
    axes,
    cells: summarizeSweep(plan.cells, s.points, form.metric),
    seeds: plan.request.seeds,
    metricLabel,
    band: form.band,
    empty: '',
  };
}

export function SweepsView() {
  const state = useStore(sweeps);
  const busy = useApp((s) => s.busy);
  const host = useRef<HTMLDivElement>(null);
  const model = useMemo(() => plotModel(state), [state]);
  const draw = useCallback(
    (el: HTMLDivElement, _view: unknown, size: Size) => {
      const svg = hostSvg(el);
      if (model.axes.length === 2) drawSweepHeat(svg, model, size);
      else drawSweepLine(svg, model, size);
    },
    [model],
  );
  useLiveDraw(host, draw);
  const running = state.status === 'running';
  const total = state.plan ? state.plan.cells.length * state.plan.request.seeds : 0;
  const progress =
    running && busy?.kind === 'sweep'
      ? `${busy.stage}${busy.secondsLeft !== null ? ` · ~${busy.secondsLeft} s left` : ''}`
      : running
        ? 'waiting for the engine…'
        : null;
  const diverged = state.points.filter((p) => p.status !== 'ok').length;
  const status =
    progress ??
    (state.plan
      ? `${state.points.length} of ${total} runs${diverged ? `, ${diverged} diverged or refused` : ''}${
          state.status === 'failed' ? ` — ${state.message ?? 'stopped'}` : ''
        }`
      : state.status === 'failed'
        ? (state.message ?? 'failed')
        : 'each run trains a fresh network from the current configuration');
  return (
    <section
      data-testid="view-sweeps"
      aria-label="Parameter sweeps: a metric against one or two configuration parameters"
      className="view view-sweeps"
      // A small cell scrolls: the form above, the plot below at a legible height.
      style={{
        ...sectionStyle,
        display: 'flex',
        flexDirection: 'column',
        height: '100%',
        overflowY: 'auto',
      }}
    >
      <div className="view-toolbar sweep-toolbar">
        <SweepForm running={running} />
        <span className="sweep-actions">
          <button
            type="button"
            data-testid="sweeps-run"
            onClick={requestSweep}
            disabled={running}
            aria-busy={running}
          >
            {running ? 'Sweeping…' : 'Run sweep'}
          </button>
          <button type="button" data-testid="sweeps-stop" onClick={stopSweep} disabled={!running}>
            Stop
          </button>
          <span className="analysis-note" data-testid="sweeps-status" role="status">
            {status}
          </span>
        </span>
      </div>
      <div ref={host} style={{ position: 'relative', flex: '1 0 auto', minHeight: 180 }} />
    </section>
  );
}
