/**
 * The α limit (chapter 6): a thin React shell around sweepDraw. "Run" asks the worker for the
 * sweep of the current sample (requestAlphaSweep); the reply lives in the analyses store.
 */
import { useCallback, useRef } from 'react';
import { useStore } from 'zustand';
import { analyses, requestAlphaSweep } from '../../state/analyses';
import { useApp } from '../../state/store';
import { fmt, hostSvg, sectionStyle, useLiveDraw, type Size } from './common';
import { drawSweep } from './sweepDraw';

export function SweepView() {
  const slot = useStore(analyses, (s) => s.alphaSweep);
  const busy = useApp((s) => s.busy);
  const host = useRef<HTMLDivElement>(null);
  const draw = useCallback(
    (el: HTMLDivElement, _view: unknown, size: Size) => drawSweep(hostSvg(el), slot, size),
    [slot],
  );
  useLiveDraw(host, draw);
  const running = slot.status === 'running';
  const r = slot.result;
  const progress = running && busy?.kind === 'alphaSweep' ? busy.stage : null;
  return (
    <section
      data-testid="view-sweep"
      aria-label="The α limit: the LCP update against the gradient over α"
      className="view view-sweep"
      style={{ ...sectionStyle, display: 'flex', flexDirection: 'column', height: '100%' }}
    >
      <div className="view-toolbar analysis-toolbar">
        <button
          type="button"
          data-testid="sweep-run"
          onClick={requestAlphaSweep}
          disabled={running}
          aria-busy={running}
        >
          {running ? 'Sweeping…' : r ? 'Run again' : 'Run'}
        </button>
        <span className="analysis-note" data-testid="sweep-status">
          {progress
            ? progress
            : r
              ? `sample ${r.sample}, ${r.controller}, L(y⁰) = ${fmt(r.loss)}; τ_u grows with α (dt·α/τ_u ≤ 0.1)`
              : slot.status === 'failed'
                ? (slot.message ?? 'failed')
                : 'the LCP update at each α, on the current sample'}
        </span>
      </div>
      <div ref={host} style={{ position: 'relative', flex: 1, minHeight: 0 }} />
    </section>
  );
}
