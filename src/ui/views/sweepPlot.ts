/**
 * What the parameter-sweep drawings share: their model (the sweep's axes and per-cell summaries
 * for one metric) and the words a hover shows for a cell.
 */
import type { CellSummary } from '../../engine/sweepStats';
import { fmt } from './common';

export interface SweepPlotAxis {
  key: string;
  values: number[];
  /** Geometric spacing: drawn on a log axis. */
  log: boolean;
}

export interface SweepPlotModel {
  axes: SweepPlotAxis[];
  /** One per cell, row-major with the first axis slowest (engine/sweep.ts planSweep). */
  cells: CellSummary[];
  seeds: number;
  metricLabel: string;
  band: 'sd' | 'range';
  /** Words instead of a plot (nothing run yet, or why not), or ''. */
  empty: string;
}

/** Does a list of values read better on a log axis (all positive, spanning 20× or more)? */
export function looksLog(values: number[]): boolean {
  if (values.length < 3 || values.some((v) => !(v > 0))) return false;
  return Math.max(...values) / Math.min(...values) >= 20;
}

/** The hover text of a cell: where it is, its statistics, and why runs diverged or failed. */
export function cellTitle(model: SweepPlotModel, c: CellSummary): string {
  const at = model.axes.map((a, i) => `${a.key} = ${fmt(c.values[i], 4)}`).join(', ');
  const lines = [at];
  if (c.runs === 0) lines.push('not run yet');
  else if (c.n > 0)
    lines.push(
      `${model.metricLabel}: mean ${fmt(c.mean, 4)}, sd ${fmt(c.sd, 3)}, min–max ${fmt(c.min, 4)}–${fmt(c.max, 4)} (${c.n} of ${c.runs} run${c.runs === 1 ? '' : 's'})`,
    );
  else lines.push(`${model.metricLabel}: no value (${c.runs} run${c.runs === 1 ? '' : 's'})`);
  if (c.diverged) lines.push(`${c.diverged} diverged`);
  if (c.failed) lines.push(`${c.failed} failed`);
  return [...lines, ...c.reasons].join('\n');
}

/** Is a cell marked (some of its runs diverged or failed)? */
export function cellMarked(c: CellSummary): boolean {
  return c.diverged + c.failed > 0;
}
