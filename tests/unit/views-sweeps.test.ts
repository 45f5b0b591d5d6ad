// @vitest-environment jsdom
/**
 * The parameter-sweep drawings (sweepLineDraw, sweepHeatDraw) on hand-made summaries: means where
 * their numbers put them, the band's bounds, diverged and refused cells marked with their reasons,
 * the heat-map's colours at the ends of the scale; normalised SVG snapshots; the panel's model.
 */
import { describe, expect, it } from 'vitest';
import type { CellSummary } from '../../src/engine/sweepStats';
import { magnitude } from '../../src/ui/theme';
import { plotModel } from '../../src/ui/views/SweepsView';
import { drawSweepHeat } from '../../src/ui/views/sweepHeatDraw';
import { drawSweepLine } from '../../src/ui/views/sweepLineDraw';
import { cellTitle, looksLog, type SweepPlotModel } from '../../src/ui/views/sweepPlot';
import { DEFAULT_FORM } from '../../src/state/sweeps';
import { newSvg, normalise } from '../support/svg';

function cell(values: number[], mean: number, extra: Partial<CellSummary> = {}): CellSummary {
  return {
    values,
    runs: 2,
    n: 2,
    mean,
    sd: 0.1,
    min: mean - 0.05,
    max: mean + 0.2,
    diverged: 0,
    failed: 0,
    reasons: [],
    ...extra,
  };
}

const diverged = (values: number[]) =>
  cell(values, NaN, {
    n: 0,
    sd: NaN,
    min: NaN,
    max: NaN,
    diverged: 2,
    reasons: ['seed 1: controlled dynamics diverged at step 15'],
  });

function lineModel(band: 'sd' | 'range' = 'sd'): SweepPlotModel {
  return {
    axes: [{ key: 'lr', values: [0.001, 0.01, 0.1, 1], log: true }],
    cells: [cell([0.001], 0.7), cell([0.01], 0.5), cell([0.1], 0.3), diverged([1])],
    seeds: 2,
    metricLabel: 'final loss (test)',
    band,
    empty: '',
  };
}

const size = { width: 400, height: 260 };
const num = (el: Element | null, attr: string) => Number(el?.getAttribute(attr));

describe('sweepLineDraw', () => {
  it('draws each mean where it is, the band around it, and a cross with its reason', () => {
    const svg = newSvg();
    const box = drawSweepLine(svg, lineModel(), size)!;
    const dots = Array.from(svg.querySelectorAll('.points circle'));
    expect(dots).toHaveLength(3);
    const xs = dots.map((d) => num(d, 'cx'));
    const ys = dots.map((d) => num(d, 'cy'));
    // Log axis: equal ratios are equal steps; the first value at the left edge.
    expect(xs[0]).toBeCloseTo(box.x, 6);
    expect(xs[1] - xs[0]).toBeCloseTo(xs[2] - xs[1], 6);
    // Means 0.7, 0.5, 0.3: equal steps down in value are equal steps down the page.
    expect(ys[1] - ys[0]).toBeCloseTo(ys[2] - ys[1], 6);
    expect(ys[0]).toBeLessThan(ys[2]);
    const marks = svg.querySelectorAll('.marks text.diverged');
    expect(marks).toHaveLength(1);
    expect(marks[0].querySelector('title')?.textContent).toMatch(/2 diverged\nseed 1: controlled/);
    expect(dots[0].querySelector('title')?.textContent).toMatch(
      /lr = 0\.001\n.*mean 0\.7, sd 0\.1/,
    );
    expect(normalise(svg, { lines: true })).toMatchSnapshot();
  });

  it('the band is ± sd or min–max as asked', () => {
    const sd = newSvg();
    const range = newSvg();
    drawSweepLine(sd, lineModel('sd'), size);
    drawSweepLine(range, lineModel('range'), size);
    expect(sd.querySelector('path.band')?.getAttribute('d')).not.toBe(
      range.querySelector('path.band')?.getAttribute('d'),
    );
    expect(range.querySelector('.legend')?.textContent).toMatch(/min–max/);
    // A small cell gets the short legend.
    drawSweepLine(sd, lineModel('sd'), { width: 240, height: 180 });
    expect(sd.querySelector('.legend')?.textContent).toBe('● mean, band ±1 sd; × diverged');
  });

  it('says what to do before the first sweep, and why one was not run', () => {
    const svg = newSvg();
    const base = { plan: null, points: [], form: DEFAULT_FORM, message: null };
    const idle = plotModel({ ...base, status: 'idle' });
    expect(drawSweepLine(svg, idle, size)).toBeNull();
    expect(svg.querySelector('text.empty')?.textContent).toMatch(/then Run/);
    const failed = plotModel({
      ...base,
      status: 'failed',
      message: 'lr: the count must be 1…1000',
    });
    expect(failed.empty).toBe('No sweep: lr: the count must be 1…1000');
  });
});

describe('sweepHeatDraw', () => {
  const heatModel = (): SweepPlotModel => ({
    axes: [
      { key: 'lr', values: [0.01, 0.1], log: true },
      { key: 'alpha', values: [1, 2, 4], log: false },
    ],
    cells: [
      cell([0.01, 1], 0.5),
      cell([0.01, 2], 0.6),
      diverged([0.01, 4]),
      cell([0.1, 1], 0.9),
      cell([0.1, 2], 0.7, { diverged: 1, runs: 3, reasons: ['seed 3: boom'] }),
      { ...cell([0.1, 4], NaN), runs: 0, n: 0 },
    ],
    seeds: 3,
    metricLabel: 'test accuracy',
    band: 'sd',
    empty: '',
  });

  it('one cell per pair, coloured by its mean; diverged cells hatched; pending ones empty', () => {
    const svg = newSvg();
    const box = drawSweepHeat(svg, heatModel(), size)!;
    const cells = Array.from(svg.querySelectorAll('.cells g.cell'));
    expect(cells.map((c) => c.getAttribute('data-state'))).toEqual([
      'ok',
      'ok',
      'diverged',
      'ok',
      'partial',
      'pending',
    ]);
    const fill = (i: number) => cells[i].querySelector('rect.fill')!.getAttribute('fill');
    // The lowest mean (0.5) is the scale's low end, the highest (0.9) its high end.
    expect(fill(0)).toBe(magnitude(0));
    expect(fill(3)).toBe(magnitude(1));
    expect(fill(2)).toBe('none');
    const hatched = cells.map(
      (c) => c.querySelector('rect.hatch')!.getAttribute('display') !== 'none',
    );
    expect(hatched).toEqual([false, false, true, false, true, false]);
    // lr across (left to right), alpha up (bottom to top).
    const rect = (i: number) => cells[i].querySelector('rect.fill')!;
    expect(num(rect(0), 'x')).toBeCloseTo(box.x, 6);
    expect(num(rect(3), 'x')).toBeGreaterThan(num(rect(0), 'x'));
    expect(num(rect(1), 'y')).toBeLessThan(num(rect(0), 'y'));
    expect(cells[4].querySelector('title')?.textContent).toMatch(/1 diverged\nseed 3: boom/);
    expect(svg.querySelectorAll('.colours stop')).toHaveLength(11);
    expect(normalise(svg, { lines: true })).toMatchSnapshot();
  });

  it('the hover text names the place and the statistics', () => {
    const m = heatModel();
    expect(cellTitle(m, m.cells[5])).toBe('lr = 0.1, alpha = 4\nnot run yet');
    expect(looksLog([0.001, 0.01, 0.1])).toBe(true);
    expect(looksLog([1, 2, 3])).toBe(false);
  });
});
