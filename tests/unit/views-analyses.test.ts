// @vitest-environment jsdom
/**
 * The α-sweep and EP views' drawing modules (sweepDraw, epDraw) on hand-made results: points where
 * the data put them, unsettled and diverged points marked, the chapter's α marked, EP's phases on
 * one time axis, LCP's cosines as lines; normalised SVG snapshots; the empty states' words.
 */
import { describe, expect, it } from 'vitest';
import type { AlphaPoint, AlphaSweepResult, EpResult, Trace } from '../../src/worker/protocol';
import { drawEp, epEmptyText, epLayout, symmetryText } from '../../src/ui/views/epDraw';
import { drawSweep, sweepEmptyText } from '../../src/ui/views/sweepDraw';
import { newSvg, normalise } from '../support/svg';

/** A sweep whose numbers follow the closed forms of a scalar model: cos → 1, ratio = α/(1+α). */
function sweepFixture(): AlphaSweepResult {
  const points: AlphaPoint[] = [];
  for (let i = 0; i < 13; i++) {
    const alpha = 10 ** (-3 + i / 2);
    const ratio = alpha / (1 + alpha);
    points.push({
      alpha,
      cosine: 1 - 0.5 / (1 + alpha),
      normRatio: ratio,
      outputError: ratio,
      settled: i !== 0,
      diverged: i === 12,
      steps: 100,
      tauU: Math.max(1, alpha),
    });
  }
  // The diverged point has no numbers.
  Object.assign(points[12], { cosine: NaN, normRatio: NaN, outputError: NaN, settled: false });
  return {
    points,
    alpha: 0.01,
    ki: 1,
    kp: 0,
    controller: 'dynamic-inversion',
    sample: 3,
    loss: 0.5,
    gradientNorm: 1,
  };
}

function trace(t0: number, t1: number, from: number, to: number): Trace {
  const t = Array.from({ length: 21 }, (_, i) => t0 + ((t1 - t0) * i) / 20);
  const curve = t.map((ti) => to + (from - to) * Math.exp(-(ti - t0) / 3));
  return { t, output: curve, units: [curve.map((v) => 0.5 * v)], settled: true };
}

function epFixture(): EpResult {
  const betas = [1, 0.1, 0.01, 0.001];
  return {
    sample: 0,
    readout: 'units',
    points: betas.map((beta) => ({
      beta,
      cosine: 0.75 + 0.05 * beta,
      normRatio: 1 - beta / 2,
      settled: true,
      steps: 50,
    })),
    lcp: { alpha: 0.01, cosine: 0.46, normRatio: 0.01, settled: true, steps: 300 },
    lcpLimit: { alpha: 1000, cosine: 0.9999, normRatio: 0.999, settled: true, steps: 100 },
    asymmetry: 0.58,
    shownBeta: 1,
    unitIndices: [0],
    target: -0.5,
    free: trace(0, 30, 0, 0.9),
    nudged: trace(30, 60, 0.9, 0.2),
    controlled: trace(0, 40, 0, -0.5),
  };
}

const num = (el: Element | null, attr: string) => Number(el?.getAttribute(attr));

describe('sweepDraw', () => {
  it('puts each point where its numbers say, marks the chapter’s α, unsettled and diverged points', () => {
    const svg = newSvg();
    const r = sweepFixture();
    const boxes = drawSweep(
      svg,
      { result: r, status: 'done', message: null },
      {
        width: 640,
        height: 420,
      },
    );
    if (!boxes) throw new Error('nothing drawn');
    const { top } = boxes;
    // α → x on a log axis over [1e-3, 1e3].
    const xOf = (a: number) => top.x + ((Math.log10(a) + 3) / 6) * top.width;
    const cos = Array.from(svg.querySelectorAll('.series-cosine circle'));
    expect(cos.length).toBe(12);
    cos.forEach((c, i) => expect(num(c, 'cx')).toBeCloseTo(xOf(r.points[i].alpha), 6));
    // Cosines rise towards 1: higher on screen (smaller y) with α.
    for (let i = 1; i < cos.length; i++)
      expect(num(cos[i], 'cy')).toBeLessThan(num(cos[i - 1], 'cy'));
    // The dashed line 1 sits at the last cosine's height within its distance from 1.
    const one = svg.querySelector('line.one');
    const last = cos[cos.length - 1];
    const pxPerUnit =
      (num(cos[0], 'cy') - num(last, 'cy')) / (r.points[11].cosine - r.points[0].cosine);
    expect(num(last, 'cy') - num(one, 'y1')).toBeCloseTo((1 - r.points[11].cosine) * pxPerUnit, 3);
    expect(num(svg.querySelector('line.marker'), 'x1')).toBeCloseTo(xOf(0.01), 6);
    expect(svg.querySelector('.marker-label')?.textContent).toBe(
      'chapter’s α = 0.01'.replace('’', "'"),
    );
    expect(svg.querySelectorAll('.series-cosine circle.unsettled').length).toBe(1);
    expect(svg.querySelectorAll('text.diverged').length).toBe(1);
    expect(num(svg.querySelector('text.diverged'), 'x')).toBeCloseTo(xOf(r.points[12].alpha), 6);
    // The output error: one dot per finite, positive value, falling as α falls.
    const err = Array.from(svg.querySelectorAll('.series-outputError circle'));
    expect(err.length).toBe(12);
    for (let i = 1; i < err.length; i++)
      expect(num(err[i], 'cy')).toBeLessThan(num(err[i - 1], 'cy'));
    expect(svg.querySelector('.note')?.textContent).toContain('2 of 13');
    // The x axis has every power of ten, the end ones included.
    expect(
      Array.from(svg.querySelectorAll('.axis-x .tick text')).map((t) => t.textContent),
    ).toEqual(['0.001', '0.01', '0.1', '1', '10', '100', '1000']);
    expect(normalise(svg)).toMatchSnapshot();
  });

  it('redraws in place, and says what to do before there is a result', () => {
    const svg = newSvg();
    const model = { result: sweepFixture(), status: 'done' as const, message: null };
    drawSweep(svg, model, { width: 500, height: 360 });
    const once = normalise(svg);
    drawSweep(svg, model, { width: 500, height: 360 });
    expect(normalise(svg)).toBe(once);
    const empty = { result: null, status: 'idle' as const, message: null };
    expect(drawSweep(svg, empty, { width: 500, height: 360 })).toBeNull();
    expect(svg.querySelector('text.empty')?.textContent).toBe(sweepEmptyText(empty));
    expect(svg.querySelector('g')).toBeNull();
    expect(sweepEmptyText({ result: null, status: 'failed', message: 'stopped' })).toBe(
      'No sweep: stopped',
    );
  });
});

describe('epDraw', () => {
  it('draws EP’s free then nudged phase on LCP’s time axis, and the cosines against β', () => {
    const svg = newSvg();
    const r = epFixture();
    const size = { width: 800, height: 440 };
    drawEp(svg, { result: r, status: 'done', message: null }, size);
    const L = epLayout(size, 10);
    // The phase switch at the free phase's end on a common time axis (0 … 60).
    expect(num(svg.querySelector('line.phase-switch'), 'x1')).toBeCloseTo(
      L.ep.x + (30 / 60) * L.ep.width,
      6,
    );
    // LCP's trace ends at t = 40 of 60.
    const lcpPath = svg.querySelector('.plot-lcp .trace-0 path.output')?.getAttribute('d') ?? '';
    const xs = lcpPath
      .replace(/^M/, '')
      .split('L')
      .map((p) => Number(p.split(',')[0]));
    expect(xs[xs.length - 1]).toBeCloseTo(L.lcp.x + (40 / 60) * L.lcp.width, 2);
    // EP's cosines: β shrinking to the right, one dot each; LCP's limit line above them.
    const dots = Array.from(svg.querySelectorAll('.ep-series circle'));
    expect(dots.length).toBe(4);
    for (let i = 1; i < dots.length; i++)
      expect(num(dots[i], 'cx')).toBeGreaterThan(num(dots[i - 1], 'cx'));
    const limit = num(svg.querySelector('.lcp-limit line'), 'y1');
    const chapter = num(svg.querySelector('.lcp-chapter line'), 'y1');
    for (const d of dots) {
      expect(num(d, 'cy')).toBeGreaterThan(limit);
      expect(num(d, 'cy')).toBeLessThan(chapter);
    }
    expect(svg.querySelector('.ep-label')?.textContent).toBe('EP: 0.75');
    expect(symmetryText(r)).toBe('W is not symmetric (‖W − Wᵀ‖ / 2‖W‖ = 0.58)');
    expect(symmetryText({ ...r, asymmetry: 0 })).toBe('W is symmetric');
    expect(normalise(svg)).toMatchSnapshot();
  });

  it('stacks the plots when narrow, and says what to do before there is a result', () => {
    const L = epLayout({ width: 400, height: 600 }, 10);
    expect(L.lcp.y).toBeGreaterThan(L.ep.y + L.ep.height);
    expect(L.cos.y).toBeGreaterThan(L.lcp.y + L.lcp.height);
    expect(L.cos.x).toBe(L.ep.x);
    const svg = newSvg();
    const empty = { result: null, status: 'running' as const, message: null };
    drawEp(svg, empty, { width: 400, height: 300 });
    expect(svg.querySelector('text.empty')?.textContent).toBe(epEmptyText(empty));
  });
});
