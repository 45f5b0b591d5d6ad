// @vitest-environment jsdom
/**
 * The digits view's drawing modules (confusionDraw, responseDraw) on hand-made data: a cell per
 * (true, predicted) pair with its count, the diagonal set apart, bars as tall as the
 * probabilities; normalised SVG snapshots; the empty states' words.
 */
import { describe, expect, it } from 'vitest';
import type { DigitResponse, TestEvaluation } from '../../src/worker/protocol';
import { CONFUSION_EMPTY, drawConfusion } from '../../src/ui/views/confusionDraw';
import { drawResponse, responseEmptyText } from '../../src/ui/views/responseDraw';
import { newSvg, normalise } from '../support/svg';

/** 10 classes, 10 samples each: class c right 10 − c times, the rest predicted as (c + 1) % 10. */
function evaluationFixture(): TestEvaluation {
  const confusion = new Array(100).fill(0);
  for (let c = 0; c < 10; c++) {
    confusion[c * 10 + c] = 10 - c;
    confusion[c * 10 + ((c + 1) % 10)] = c;
  }
  return { epoch: 2, updates: 1002, loss: 0.5, accuracy: 55 / 100, k: 10, confusion };
}

function responseFixture(controlled = true): DigitResponse {
  const freeProbs = [0.05, 0.05, 0.05, 0.5, 0.05, 0.05, 0.05, 0.1, 0.05, 0.05];
  const controlledProbs = [0.02, 0.02, 0.02, 0.1, 0.02, 0.02, 0.02, 0.74, 0.02, 0.02];
  return {
    freeScores: freeProbs.map(Math.log),
    freeProbs,
    prediction: 3,
    target: 7,
    controlledScores: controlled ? controlledProbs.map(Math.log) : null,
    controlledProbs: controlled ? controlledProbs : null,
    controlPsi: 0.0123,
    controlU: 0.5,
    controlError: controlled ? null : 'controlled dynamics diverged at step 12: non-finite values',
  };
}

describe('confusion matrix view', () => {
  it('draws one cell per pair with its count and share, the diagonal apart', () => {
    const svg = newSvg();
    drawConfusion(svg, evaluationFixture(), { width: 360, height: 320 });
    const cells = Array.from(svg.querySelectorAll('g.cell'));
    expect(cells.length).toBe(100);
    // Cell (true 3, predicted 4) holds 3 of class 3's 10 samples.
    const cell34 = cells[3 * 10 + 4];
    expect(cell34.querySelector('text')?.textContent).toBe('3');
    expect(cell34.querySelector('title')?.textContent).toBe('true 3, predicted 4: 3 (30.0%)');
    // Empty cells print nothing; the diagonal is outlined in blue.
    expect(cells[3 * 10 + 5].querySelector('text')?.textContent).toBe('');
    expect(cells[0].querySelector('rect')?.getAttribute('stroke')).toBe('#0072B2');
    expect(cells[1].querySelector('rect')?.getAttribute('stroke')).toBe('#ddd');
    // A full row is darker than a part-filled one.
    const fill = (i: number) => cells[i].querySelector('rect')!.getAttribute('fill')!;
    expect(fill(0)).toBe('rgb(0,114,178)');
    expect(svg.querySelector('text.title')?.textContent).toContain('epoch 2: 55.0% right');
    expect(normalise(svg)).toMatchSnapshot();
    // Redrawn in place: the same SVG.
    const once = normalise(svg);
    drawConfusion(svg, evaluationFixture(), { width: 360, height: 320 });
    expect(normalise(svg)).toBe(once);
  });

  it('says when it will appear before the first epoch ends', () => {
    const svg = newSvg();
    drawConfusion(svg, null, { width: 300, height: 200 });
    expect(svg.querySelector('text.empty')?.textContent).toBe(CONFUSION_EMPTY);
    expect(svg.querySelector('g.cell')).toBeNull();
  });
});

describe('digit response view', () => {
  it('draws the free and controlled probabilities as bars, the prediction and the target marked', () => {
    const svg = newSvg();
    drawResponse(svg, responseFixture(), { width: 400, height: 300 });
    const free = Array.from(svg.querySelectorAll('.panel-free rect.bar'));
    const ctrl = Array.from(svg.querySelectorAll('.panel-controlled rect.bar'));
    expect(free.length).toBe(10);
    expect(ctrl.length).toBe(10);
    const h = (r: Element) => Number(r.getAttribute('height'));
    // Heights in proportion to the probabilities.
    expect(h(free[3]) / h(free[7])).toBeCloseTo(5, 5);
    expect(h(ctrl[7]) / h(ctrl[3])).toBeCloseTo(7.4, 5);
    expect(free[3].getAttribute('stroke')).toBe('#000000');
    expect(ctrl[7].getAttribute('stroke')).toBe('#000000');
    expect(svg.querySelector('.panel-free .panel-title')?.textContent).toBe('free: predicts 3');
    expect(svg.querySelector('.panel-controlled .panel-title')?.textContent).toBe(
      'controlled toward 7',
    );
    expect(svg.querySelector('text.control')?.textContent).toBe(
      '½‖ψ*‖² = 0.0123  ·  p(7): 0.1 free → 0.74 controlled',
    );
    expect(normalise(svg)).toMatchSnapshot();
  });

  it('says why there is no controlled response, and what to do before there is any', () => {
    const svg = newSvg();
    drawResponse(svg, responseFixture(false), { width: 400, height: 300 });
    expect(svg.querySelectorAll('.panel-controlled rect.bar').length).toBe(0);
    expect(svg.querySelector('.panel-controlled .panel-title')?.textContent).toContain(
      'diverged at step 12',
    );
    const empty = newSvg();
    drawResponse(empty, null, { width: 400, height: 300 });
    expect(empty.querySelector('text.empty')?.textContent).toBe(responseEmptyText('idle'));
    expect(responseEmptyText('failed', 'stopped')).toBe('No response: stopped');
  });
});
