// @vitest-environment jsdom
/**
 * The meta-learning chapter's drawing module (metaDraw) on a hand-made run: the task view's four
 * curves where their numbers put them and its support points, the curves view's ‖ψ*‖ line and
 * one series of meta-test markers per rule, the empty states' words; normalised SVG snapshots.
 */
import { describe, expect, it } from 'vitest';
import { parseMetaConfig } from '../../src/engine/meta/config';
import type { MetaView } from '../../src/worker/protocol';
import {
  drawMetaCurves,
  drawMetaFit,
  metaEmptyText,
  type MetaModel,
} from '../../src/ui/views/metaDraw';
import { newSvg, normalise } from '../support/svg';

function fixture(): MetaView {
  const x = Array.from({ length: 11 }, (_, i) => -5 + i);
  const truth = x.map((v) => 2 * Math.sin(v - 1));
  return {
    config: parseMetaConfig({}),
    updates: 6,
    psi: [0.4, 0.3, 0.25, 0.2, 0.15, 0.1],
    series: [
      {
        method: 'lcp',
        trainLoss: [1, 0.9],
        test: [
          { updates: 0, loss: 1.5 },
          { updates: 5, loss: 0.8 },
        ],
      },
      {
        method: 'imaml',
        trainLoss: [1, 0.9],
        test: [
          { updates: 0, loss: 1.5 },
          { updates: 5, loss: 0.85 },
        ],
      },
      {
        method: 'fo',
        trainLoss: [1, 0.95],
        test: [
          { updates: 0, loss: 1.5 },
          { updates: 5, loss: 1.1 },
        ],
      },
    ],
    demo: {
      amplitude: 2,
      phase: 1,
      supportX: [-4, -2, 0, 1, 3],
      supportY: [-4, -2, 0, 1, 3].map((v) => 2 * Math.sin(v - 1)),
      x,
      truth,
      omega: x.map(() => 0),
      adapted: truth.map((v) => 0.6 * v),
      controlled: truth.map((v) => 0.8 * v),
      psiNorm: 0.1,
      queryLoss: 0.4,
    },
  };
}

const model = (result: MetaView | null, status: MetaModel['status'] = 'done'): MetaModel => ({
  status,
  result,
  message: null,
});

/** The y of a path's points (M/L commands). */
function ys(d: string | null): number[] {
  return [...(d ?? '').matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)].map((m) => Number(m[2]));
}

describe('metaDraw', () => {
  it('the task view: the true curve, ω, w* and the controlled w, and the support points', () => {
    const svg = newSvg();
    const box = drawMetaFit(svg, model(fixture()), { width: 500, height: 320 })!;
    expect(box.width).toBeGreaterThan(300);
    for (const key of ['truth', 'omega', 'adapted', 'controlled'])
      expect(ys(svg.querySelector(`.curve-${key}`)!.getAttribute('d'))).toHaveLength(11);
    // Where the numbers put them: ω is flat; the controlled curve is nearer the truth than w*.
    const omega = ys(svg.querySelector('.curve-omega')!.getAttribute('d'));
    expect(Math.max(...omega) - Math.min(...omega)).toBeLessThan(1e-6);
    const spread = (k: string) => {
      const v = ys(svg.querySelector(`.curve-${k}`)!.getAttribute('d'));
      return Math.max(...v) - Math.min(...v);
    };
    expect(spread('truth')).toBeGreaterThan(spread('controlled'));
    expect(spread('controlled')).toBeGreaterThan(spread('adapted'));
    expect(svg.querySelectorAll('.support circle')).toHaveLength(5);
    expect(svg.querySelector('.fit-note')!.textContent).toMatch(/‖ψ\*‖ 0\.1/);
    expect(normalise(svg, { lines: true })).toMatchSnapshot();
  });

  it('the curves view: ‖ψ*‖ per LCP update, the meta-test loss of each rule', () => {
    const svg = newSvg();
    const boxes = drawMetaCurves(svg, model(fixture()), { width: 600, height: 300 })!;
    expect(boxes).toHaveLength(2);
    // Side by side at this width.
    expect(boxes[1].x).toBeGreaterThan(boxes[0].x + boxes[0].width);
    const psi = ys(svg.querySelector('.panel-psi .series-lcp path')!.getAttribute('d'));
    expect(psi).toHaveLength(6);
    // ‖ψ*‖ falls: the line goes down the screen (SVG y grows downward).
    expect(psi[5]).toBeGreaterThan(psi[0]);
    for (const m of ['lcp', 'imaml', 'fo'])
      expect(svg.querySelectorAll(`.panel-test .series-${m} circle`)).toHaveLength(2);
    expect(svg.querySelectorAll('.legend-item')).toHaveLength(3);
    expect(normalise(svg, { lines: true })).toMatchSnapshot();
    // A phone's width stacks the panels.
    const narrow = drawMetaCurves(newSvg(), model(fixture()), { width: 360, height: 500 })!;
    expect(narrow[1].y).toBeGreaterThan(narrow[0].y + narrow[0].height);
  });

  it('says what to do before there is anything to draw', () => {
    expect(metaEmptyText(model(null, 'idle'))).toMatch(/^Train/);
    expect(metaEmptyText(model(null, 'running'))).toMatch(/Meta-learning…/);
    expect(metaEmptyText({ status: 'failed', result: null, message: 'stopped' })).toMatch(
      /stopped/,
    );
    const svg = newSvg();
    expect(drawMetaFit(svg, model(null, 'idle'), { width: 300, height: 200 })).toBeNull();
    expect(svg.querySelector('text.empty')!.textContent).toMatch(/^Train/);
  });
});
