/**
 * The learning-curves view: a thin React shell around learningDraw (the curves redrawn from the
 * snapshot bus).
 */
import { useCallback, useRef } from 'react';
import type { SimView } from '../../state/simView';
import { useApp } from '../../state/store';
import { hostStyle, hostSvg, sectionStyle, useLiveDraw, type Size } from './common';
import { drawLearning } from './learningDraw';

export {
  drawLearning,
  learningPanels,
  pointAtNoise,
  recordUpdateNoise,
  type LearningOptions,
} from './learningDraw';

/** What drawLearning reads: the points, and the last update for its noise markers. */
const learningInputs = (view: SimView) => [view.learning, view.weights, view.generation];

/** The learning-curves view, redrawn from the snapshot bus. */
export function LearningView() {
  const host = useRef<HTMLDivElement>(null);
  const batch = useApp((s) => s.config.batch);
  const draw = useCallback(
    (el: HTMLDivElement, view: SimView, size: Size) => {
      drawLearning(hostSvg(el), view, { ...size, batch });
    },
    [batch],
  );
  // Curves of thousands of points: ten redraws a second are plenty while training.
  useLiveDraw(host, draw, 100, learningInputs);
  return (
    <section
      data-testid="view-learning"
      aria-label="Learning curves: loss, least control, accuracy, cosine with the gradient and feedback alignment per update"
      className="view view-learning"
      style={sectionStyle}
    >
      <div ref={host} style={hostStyle} />
    </section>
  );
}
