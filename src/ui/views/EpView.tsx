/**
 * "One phase, not two" (chapter 12): epDraw in the analysis shell. "Run" asks the worker for
 * EP's two phases and LCP's one on the current sample (requestEpComparison).
 */
import { requestEpComparison } from '../../state/analyses';
import { AnalysisView } from './AnalysisView';
import { drawEp, symmetryText } from './epDraw';

export function EpView() {
  return (
    <AnalysisView
      slot="epCompare"
      id="ep"
      label="Equilibrium propagation's two phases beside LCP's one, and their updates against the gradient"
      run={requestEpComparison}
      runningText="Running…"
      note={(r) =>
        `sample ${r.sample}; ${symmetryText(r)}. EP needs two phases, small β and symmetric W; LCP reads its update off one controlled phase`
      }
      idleNote="the same sample under EP and under LCP"
      draw={drawEp}
    />
  );
}
