/**
 * The weights view (DESIGN.md §4): a thin React shell around weightsDraw. It picks the parameter
 * shown and redraws from the snapshot bus outside React's render cycle, at most once a frame and
 * every WEIGHTS_INTERVAL ms (training changes the weights constantly).
 */
import { cancelDraw, requestDraw } from './frameBudget';
import { useEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { engine } from '../../state/engine';
import { useApp } from '../../state/store';
import { simView } from '../../state/simView';
import type { Command } from '../../worker/protocol';
import { drawWeights } from './weightsDraw';
import { hasConnection, MAIN_PARAMS, type MainParam } from './weightsModel';

/** Weights redraw at most this often (ms) while training. */
export const WEIGHTS_INTERVAL = 100;

/** The weights view. */
export function WeightsView() {
  const keys = useStore(simView, (s) => MAIN_PARAMS.filter((p) => s.weights?.params[p]).join(','));
  // A layered net with one block has no recurrent connections: start on U instead of W.
  const emptyW = useStore(simView, (s) => !!s.weights?.maskW && !hasConnection(s.weights.maskW));
  const method = useApp((s) => s.config.method);
  const [matrixSel, setMatrix] = useState<MainParam | null>(null);
  const available = keys ? (keys.split(',') as MainParam[]) : [];
  const fallback: MainParam = emptyW && available.includes('U') ? 'U' : 'W';
  const matrix = matrixSel && available.includes(matrixSel) ? matrixSel : fallback;
  const hostRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    let width = 0;
    let height = 0;
    let frame = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = -Infinity;
    const send = (cmd: Command) => engine().send(cmd);
    const draw = () => {
      frame = 0;
      last = Date.now();
      if (width <= 0 || height <= 0) return;
      drawWeights(host, { sim: simView.getState(), matrix, method }, width, height, send);
    };
    // At most one redraw per frame and per WEIGHTS_INTERVAL (training changes weights constantly).
    const schedule = () => {
      if (frame || timer) return;
      const wait = last + WEIGHTS_INTERVAL - Date.now();
      if (wait > 0)
        timer = setTimeout(() => {
          timer = null;
          frame = requestDraw(draw);
        }, wait);
      else frame = requestDraw(draw);
    };
    const measure = () => {
      const r = host.getBoundingClientRect();
      width = Math.floor(r.width);
      height = Math.floor(r.height);
      last = -Infinity;
      schedule();
    };
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(measure) : null;
    ro?.observe(host);
    window.addEventListener('resize', measure);
    measure();
    // Every snapshot may carry new weights, x, target or metrics; unchanged heatmaps are skipped.
    const unsubscribe = simView.subscribe(schedule);
    const lecture = typeof MutationObserver === 'function' ? new MutationObserver(measure) : null;
    lecture?.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    return () => {
      unsubscribe();
      ro?.disconnect();
      lecture?.disconnect();
      window.removeEventListener('resize', measure);
      if (frame) cancelDraw(frame);
      if (timer) clearTimeout(timer);
    };
  }, [matrix, method]);

  return (
    <section
      data-testid="view-weights"
      aria-label="Weights"
      className="view-section"
      style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0 }}
    >
      {available.length > 1 && (
        <div className="view-toolbar">
          <label>
            parameter{' '}
            <select
              value={matrix}
              style={{ font: 'inherit' }}
              onChange={(e) => setMatrix(e.target.value as MainParam)}
            >
              {available.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      <div
        ref={hostRef}
        className="view-body"
        style={{ flex: 1, minHeight: 0, position: 'relative', overflow: 'hidden' }}
      />
    </section>
  );
}
