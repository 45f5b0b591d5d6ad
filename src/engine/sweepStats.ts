/**
 * A sweep's points summarised per cell for one metric: mean, standard deviation, min and max over
 * the seeds that ran to the end with a finite value, and what happened to the others.
 */
import type { SweepMetric } from './sweep';
import type { SweepPoint } from './sweepRun';

export interface CellSummary {
  values: number[];
  /** Runs of this cell received so far (of `seeds`). */
  runs: number;
  /** Runs whose metric is finite (the statistics are over these). */
  n: number;
  /** mean = Σv/n; sd = √(Σ(v − mean)²/(n − 1)) (0 for n = 1); NaN when n = 0. */
  mean: number;
  sd: number;
  min: number;
  max: number;
  diverged: number;
  failed: number;
  /** Distinct reasons of the runs that diverged or failed, with their seeds. */
  reasons: string[];
}

/** One summary per cell of `cells`, from the points received so far. */
export function summarizeSweep(
  cells: number[][],
  points: SweepPoint[],
  metric: SweepMetric,
): CellSummary[] {
  const byCell = cells.map(() => [] as SweepPoint[]);
  for (const p of points) byCell[p.cell]?.push(p);
  return cells.map((values, c) => {
    const runs = byCell[c];
    const xs: number[] = [];
    const reasons: string[] = [];
    let diverged = 0;
    let failed = 0;
    for (const p of runs) {
      if (p.status === 'diverged') diverged++;
      if (p.status === 'failed') failed++;
      if (p.status !== 'ok') {
        const text = `seed ${p.seed}: ${p.reason ?? p.status}`;
        if (!reasons.includes(text)) reasons.push(text);
        continue;
      }
      const v = p.metrics?.[metric];
      if (v !== undefined && Number.isFinite(v)) xs.push(v);
    }
    const n = xs.length;
    const mean = n ? xs.reduce((a, b) => a + b, 0) / n : NaN;
    const sd =
      n > 1 ? Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : n ? 0 : NaN;
    return {
      values,
      runs: runs.length,
      n,
      mean,
      sd,
      min: n ? Math.min(...xs) : NaN,
      max: n ? Math.max(...xs) : NaN,
      diverged,
      failed,
      reasons,
    };
  });
}
