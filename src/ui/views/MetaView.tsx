/**
 * Meta-learning (the sinusoid chapter): metaDraw's two drawings in thin shells. The task view
 * holds the controls — Train runs more meta-updates of LCP, the implicit gradient and first
 * order side by side in the worker (requestMetaTraining), Stop stops them (what was learned
 * stays; Train continues), Start over goes back to ω₀ — and the curves view follows the same run.
 */
import { useCallback, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { analyses, requestMetaTraining, resetMetaTraining } from '../../state/analyses';
import { engine } from '../../state/engine';
import { useApp } from '../../state/store';
import { hostSvg, sectionStyle, useLiveDraw, type Size } from './common';
import { drawMetaCurves, drawMetaFit } from './metaDraw';
import { UpdatesInput, validUpdates } from '../components/UpdatesInput';

/** The most meta-updates one press of Train may ask for. */
const MAX_META_UPDATES = 10_000;
/** Meta-updates one press of Train runs (of each rule). */
export const META_TRAIN_UPDATES = 100;

function stopMeta(): void {
  engine().send({ type: 'stop' });
}

function useMetaDraw(draw: typeof drawMetaFit | typeof drawMetaCurves) {
  const slot = useStore(analyses, (s) => s.metaTrain);
  const host = useRef<HTMLDivElement>(null);
  const drawHost = useCallback(
    (el: HTMLDivElement, _view: unknown, size: Size) => void draw(hostSvg(el), slot, size),
    [draw, slot],
  );
  useLiveDraw(host, drawHost);
  return { slot, host };
}

export function MetaFitView() {
  const { slot, host } = useMetaDraw(drawMetaFit);
  const busy = useApp((s) => s.busy);
  const [updates, setUpdates] = useState(META_TRAIN_UPDATES);
  const running = slot.status === 'running';
  const progress = running && busy?.kind === 'metaTrain' ? busy : null;
  const view = slot.result;
  const status = running
    ? `training… ${progress ? `${Math.floor(progress.done / 3)} of ${Math.round(progress.total / 3)} updates` : ''}`
    : view
      ? `${view.updates} meta-updates of each rule${slot.status === 'failed' ? ` (${slot.message ?? 'stopped'})` : ''}`
      : slot.status === 'failed'
        ? `not trained: ${slot.message ?? 'it failed'}`
        : 'ω₀ from the seed; nothing learned yet';
  const valid = validUpdates(updates, MAX_META_UPDATES);
  return (
    <section
      data-testid="view-meta"
      aria-label="Meta-learning: one sinusoid task, its support points, and the predictions before adaptation, after free adaptation and under control"
      className="view view-meta"
      style={{ ...sectionStyle, display: 'flex', flexDirection: 'column', height: '100%' }}
    >
      <div className="view-toolbar meta-toolbar">
        <UpdatesInput
          testId="meta-updates"
          className="meta-updates"
          value={updates}
          max={MAX_META_UPDATES}
          disabled={running}
          onChange={setUpdates}
        />
        {running ? (
          <button type="button" data-testid="meta-stop" onClick={stopMeta}>
            Stop
          </button>
        ) : (
          <button
            type="button"
            data-testid="meta-train"
            disabled={!valid}
            onClick={() => requestMetaTraining(updates)}
          >
            {view ? 'Train more' : 'Train'}
          </button>
        )}
        <button
          type="button"
          data-testid="meta-reset"
          disabled={running || !view}
          onClick={resetMetaTraining}
        >
          Start over
        </button>
        <span className="analysis-note" data-testid="meta-status" aria-live="polite">
          {status}
        </span>
      </div>
      <div ref={host} style={{ position: 'relative', flex: 1, minHeight: 0 }} />
    </section>
  );
}

export function MetaCurvesView() {
  const { slot, host } = useMetaDraw(drawMetaCurves);
  const psi = slot.result?.psi;
  return (
    <section
      data-testid="view-meta-curves"
      aria-label="Meta-learning curves: the least control ‖ψ*‖ over meta-training, and the meta-test loss of LCP, the implicit gradient and first order"
      className="view view-meta-curves"
      style={{ ...sectionStyle, display: 'flex', flexDirection: 'column', height: '100%' }}
    >
      <div className="view-toolbar">
        <span className="analysis-note" data-testid="meta-psi" aria-live="polite">
          {psi?.length
            ? `‖ψ*‖ = ${psi[psi.length - 1].toPrecision(3)} at update ${psi.length}`
            : '‖ψ*‖: —'}
        </span>
      </div>
      <div ref={host} style={{ position: 'relative', flex: 1, minHeight: 0 }} />
    </section>
  );
}
