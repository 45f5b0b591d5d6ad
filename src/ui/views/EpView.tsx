/**
 * "One phase, not two" (chapter 12): a thin React shell around epDraw. "Run" asks the worker for
 * EP's two phases and LCP's one on the current sample (requestEpComparison).
 */
import { useCallback, useRef } from 'react';
import { useStore } from 'zustand';
import { analyses, requestEpComparison } from '../../state/analyses';
import { useApp } from '../../state/store';
import { hostSvg, sectionStyle, useLiveDraw, type Size } from './common';
import { drawEp, symmetryText } from './epDraw';

export function EpView() {
  const slot = useStore(analyses, (s) => s.epCompare);
  const busy = useApp((s) => s.busy);
  const host = useRef<HTMLDivElement>(null);
  const draw = useCallback(
    (el: HTMLDivElement, _view: unknown, size: Size) => drawEp(hostSvg(el), slot, size),
    [slot],
  );
  useLiveDraw(host, draw);
  const running = slot.status === 'running';
  const r = slot.result;
  const progress = running && busy?.kind === 'epCompare' ? busy.stage : null;
  return (
    <section
      data-testid="view-ep"
      aria-label="Equilibrium propagation's two phases beside LCP's one, and their updates against the gradient"
      className="view view-ep"
      style={{ ...sectionStyle, display: 'flex', flexDirection: 'column', height: '100%' }}
    >
      <div className="view-toolbar analysis-toolbar">
        <button
          type="button"
          data-testid="ep-run"
          onClick={requestEpComparison}
          disabled={running}
          aria-busy={running}
        >
          {running ? 'Running…' : r ? 'Run again' : 'Run'}
        </button>
        <span className="analysis-note" data-testid="ep-status">
          {progress
            ? progress
            : r
              ? `sample ${r.sample}; ${symmetryText(r)}. EP needs two phases, small β and symmetric W; LCP reads its update off one controlled phase`
              : slot.status === 'failed'
                ? (slot.message ?? 'failed')
                : 'the same sample under EP and under LCP'}
        </span>
      </div>
      <div ref={host} style={{ position: 'relative', flex: 1, minHeight: 0 }} />
    </section>
  );
}
