/**
 * The α limit (chapter 6): sweepDraw in the analysis shell. "Run" asks the worker for the sweep
 * of the current sample (requestAlphaSweep); the reply lives in the analyses store.
 */
import { requestAlphaSweep } from '../../state/analyses';
import { AnalysisView } from './AnalysisView';
import { fmt } from './common';
import { drawSweep } from './sweepDraw';

export function SweepView() {
  return (
    <AnalysisView
      slot="alphaSweep"
      id="sweep"
      label="The α limit: the LCP update against the gradient over α"
      run={requestAlphaSweep}
      runningText="Sweeping…"
      note={(r) =>
        `sample ${r.sample}, ${r.controller}, L(y⁰) = ${fmt(r.loss)}; τ_u grows with α (dt·α/τ_u ≤ 0.1)`
      }
      idleNote="the LCP update at each α, on the current sample"
      draw={drawSweep}
    />
  );
}
