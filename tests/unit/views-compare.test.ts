// @vitest-environment jsdom
/**
 * Compare mode's drawing module (compareDraw) on a hand-made comparison: a curve per method on
 * each panel where its numbers put it, the exact-gradient method without control, a diverged
 * method named in the legend, the regression case without accuracy; the empty states' words; the
 * running mean; a normalised SVG snapshot.
 */
import { describe, expect, it } from 'vitest';
import type { ComparePoint, CompareResult, CompareSeries } from '../../src/worker/protocol';
import {
  compareEmptyText,
  compareStatusText,
  drawCompare,
  runningMean,
  type CompareModel,
} from '../../src/ui/views/compareDraw';
import { newSvg, normalise } from '../support/svg';

function series(
  method: CompareSeries['method'],
  n: number,
  f: (i: number) => Partial<ComparePoint>,
): CompareSeries {
  const points = Array.from({ length: n }, (_, i) => ({
    update: i + 1,
    epoch: 0,
    loss: 1 / (i + 1),
    accuracy: 0.5 + i / 40,
    control: 0,
    cosine: 1,
    ...f(i),
  }));
  return { method, status: 'done', message: null, points };
}

function fixture(): CompareResult {
  const lf = series('lcp-lf', 6, (i) => ({ loss: 0.9 - i / 20, control: 0.1, cosine: 0.5 }));
  lf.status = 'diverged';
  lf.message = 'diverged at update 7 (free dynamics: non-finite state)';
  return {
    updates: 10,
    series: [
      series('lcp-di', 10, (i) => ({ control: 10 ** -(i / 3), cosine: i === 5 ? NaN : 0.9 })),
      lf,
      series('bp', 10, (i) => (i === 4 || i === 9 ? { testLoss: 0.3, testAccuracy: 0.8 } : {})),
    ],
  };
}

const done = (result: CompareResult): CompareModel => ({ status: 'done', message: null, result });

/** The points of a path's d ("M x,y L x,y …"). */
function pathPoints(el: Element | null): [number, number][] {
  const d = el?.getAttribute('d') ?? '';
  return Array.from(d.matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)).map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);
}

describe('compareDraw', () => {
  it('draws a curve per method on each panel where its numbers say, with a legend', () => {
    const svg = newSvg();
    const r = fixture();
    const boxes = drawCompare(svg, done(r), { width: 800, height: 480 });
    if (!boxes) throw new Error('nothing drawn');
    // The legend: every method in order, the diverged one says so and why (tooltip).
    const legend = Array.from(svg.querySelectorAll('.legend-item'));
    expect(legend.map((g) => g.querySelector('.legend-label')?.textContent)).toEqual([
      'LCP-DI',
      'LCP-LF (diverged)',
      'BP',
    ]);
    expect(legend[1].querySelector('title')?.textContent).toContain('update 7');
    // Each point at its update: x linear over 1 … 10 across the panel.
    const bpLoss = pathPoints(svg.querySelector('.panel-loss .series-bp path.mean'));
    expect(bpLoss).toHaveLength(10);
    const { loss, control, cosine } = boxes;
    bpLoss.forEach(([x], i) => expect(x).toBeCloseTo(loss.x + (i / 9) * loss.width, 2));
    // Lower loss is higher on the plot; the diverged method's curve stops at its 6 points.
    for (let i = 1; i < 10; i++) expect(bpLoss[i][1]).toBeGreaterThan(bpLoss[i - 1][1]);
    expect(pathPoints(svg.querySelector('.panel-loss .series-lcp-lf path.mean'))).toHaveLength(6);
    // Control on a log axis: LCP-DI's falls by a decade every 3 updates, equal steps on screen;
    // BP has no control, so no curve.
    const di = pathPoints(svg.querySelector('.panel-control .series-lcp-di path.mean'));
    expect(di).toHaveLength(10);
    expect(di[3][1] - di[0][1]).toBeCloseTo(di[6][1] - di[3][1], 2);
    expect(di[0][1]).toBeGreaterThanOrEqual(control.y);
    expect(pathPoints(svg.querySelector('.panel-control .series-bp path.mean'))).toEqual([]);
    // Cosine: BP's is 1 (the gradient), drawn at 1 on the [0, 1.02] axis; LCP-DI's below it.
    const bpCos = pathPoints(svg.querySelector('.panel-cosine .series-bp path.mean'));
    const yOne = cosine.y + (cosine.height * 0.02) / 1.02;
    for (const [, y] of bpCos) expect(y).toBeCloseTo(yOne, 2);
    const diCos = pathPoints(svg.querySelector('.panel-cosine .series-lcp-di path.mean'));
    const yNine = cosine.y + (cosine.height * 0.12) / 1.02;
    for (const [, y] of diCos) expect(y).toBeCloseTo(yNine, 2);
    // An update without a cosine (not measured) is skipped, its neighbours joined.
    expect(diCos).toHaveLength(9);
    // Test points (at epochs' ends) as hollow markers on the loss and accuracy panels only.
    const marks = Array.from(svg.querySelectorAll('.panel-loss .series-bp .test circle'));
    expect(marks).toHaveLength(2);
    expect(Number(marks[0].getAttribute('cx'))).toBeCloseTo(loss.x + (4 / 9) * loss.width, 6);
    expect(Number(marks[1].getAttribute('cx'))).toBeCloseTo(loss.x + loss.width, 6);
    expect(svg.querySelectorAll('.panel-accuracy .test circle')).toHaveLength(2);
    expect(svg.querySelectorAll('.panel-cosine .test circle')).toHaveLength(0);
    // Each method keeps its colour and dash on every panel.
    const stroke = (sel: string) => svg.querySelector(sel)?.getAttribute('stroke');
    expect(stroke('.panel-loss .series-lcp-lf path.mean')).toBe(
      stroke('.panel-cosine .series-lcp-lf path.mean'),
    );
    expect(stroke('.panel-loss .series-lcp-lf path.mean')).toBe(
      svg.querySelector('.legend-lcp-lf line.swatch')?.getAttribute('stroke'),
    );
    expect(
      svg.querySelector('.panel-loss .series-lcp-lf path.mean')?.getAttribute('stroke-dasharray'),
    ).toBe('2 2');
    expect(normalise(svg)).toMatchSnapshot();
  });

  it('redraws in place; a regression task has no accuracy; the words before a result', () => {
    const svg = newSvg();
    const model = done(fixture());
    drawCompare(svg, model, { width: 600, height: 400 });
    const once = normalise(svg);
    drawCompare(svg, model, { width: 600, height: 400 });
    expect(normalise(svg)).toBe(once);
    // A result without a method drops its curves.
    const fewer = fixture();
    fewer.series.splice(1, 1);
    drawCompare(svg, done(fewer), { width: 600, height: 400 });
    expect(svg.querySelectorAll('.series-lcp-lf')).toHaveLength(0);
    expect(svg.querySelectorAll('.panel-loss .series')).toHaveLength(2);
    const regression = fixture();
    for (const s of regression.series)
      for (const p of s.points) {
        p.accuracy = null;
        if (p.testAccuracy !== undefined) p.testAccuracy = null;
      }
    drawCompare(svg, done(regression), { width: 360, height: 700 });
    expect(svg.querySelector('.panel-accuracy .panel-note')?.textContent).toBe(
      'no accuracy (regression task)',
    );
    expect(svg.querySelectorAll('.panel-accuracy .series')).toHaveLength(0);
    const idle: CompareModel = { status: 'idle', message: null, result: null };
    expect(compareEmptyText(idle)).toMatch(/^Choose methods and Run/);
    expect(drawCompare(svg, idle, { width: 600, height: 400 })).toBeNull();
    expect(svg.querySelector('text.empty')?.textContent).toMatch(/^Choose methods/);
    expect(svg.querySelectorAll('.panel')).toHaveLength(0);
    expect(
      compareEmptyText({ status: 'failed', message: 'there is no network', result: null }),
    ).toBe('No comparison: there is no network');
    expect(
      compareStatusText(
        { ...model, status: 'running' },
        { done: 3, total: 30, stage: 'BP, update 2' },
      ),
    ).toBe('3 of 30 updates (BP, update 2)');
    expect(compareStatusText({ ...model, status: 'failed', message: 'stopped' }, null)).toMatch(
      /^Stopped\. LCP-LF diverged at update 7/,
    );
  });

  it('smooths with a running mean of the last values, skipping missing ones', () => {
    expect(runningMean([1, 3, 5, 7], 2)).toEqual([1, 2, 4, 6]);
    expect(runningMean([1, NaN, 5], 3)).toEqual([1, 1, 3]);
    expect(runningMean([NaN], 4)).toEqual([NaN]);
    expect(runningMean([2, 4], 1)).toEqual([2, 4]);
  });
});
