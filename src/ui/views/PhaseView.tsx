/**
 * The phase-portrait view (DESIGN.md §4): a thin React shell around phaseDraw. It picks the
 * plane (two hidden units) and the target shown, requests flow fields from the worker
 * (throttled, keyed by what they depend on), sends target edits from the draggable handle and
 * redraws from the snapshot bus outside React's render cycle.
 */
import { cancelDraw, requestDraw } from './frameBudget';
import { useEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { engine } from '../../state/engine';
import { simView, type SimView } from '../../state/simView';
import { useApp } from '../../state/store';
import type { FlowField } from '../../worker/protocol';
import { throttle } from './common';
import { drawPhase, type PhaseHandlers, type PhaseModel } from './phaseDraw';
import {
  FLOW_INTERVAL,
  flowKey,
  leastControlOverlay,
  flowSize,
  phaseRange,
  sub,
  TARGET_EDIT_INTERVAL,
  targetRange,
  TRAINING_REFRESH_MS,
} from './phaseModel';
import { keyedRequests, throttledSender } from './requests';

const selectStyle = { font: 'inherit' } as const;

/** The phase-portrait view. */
export function PhaseView() {
  const n = useStore(simView, (s) => s.latest?.n ?? 0);
  const k = useStore(simView, (s) => s.latest?.k ?? 0);
  const classification = useStore(simView, (s) => s.task?.classification ?? false);
  const readout = useApp((s) => s.config.readout);
  const activation = useApp((s) => s.config.activation);
  const tauPhi = useApp((s) => s.config.tauPhi);
  // The least-control overlay: asked for by a chapter's scene or by the toolbar's toggle (both
  // are the store's `overlays`).
  const overlay = useApp((s) => s.overlays.includes('least-control'));
  const [units, setUnits] = useState<[number, number]>([0, 1]);
  const [outputSel, setOutput] = useState(0);
  const hostRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const i = units[0] < n ? units[0] : 0;
  const j = units[1] < n && units[1] !== i ? units[1] : i === 1 ? 0 : 1;
  const output = outputSel < k ? outputSel : 0;
  const editableTarget = !classification;

  useEffect(() => {
    const host = hostRef.current;
    const svg = svgRef.current;
    if (!host || !svg) return;
    let width = 0;
    let height = 0;
    let field: FlowField | null = null;
    let range: [number, number] | null = null;
    let tRange: [number, number] | null = null;
    let generation = simView.getState().generation;
    let drag: { value: number; since: number } | null = null;
    // Where the user put the least-control probe along the target line (null: beside φ*).
    let probe: number | null = null;
    let frame = 0;
    const requests = keyedRequests<FlowField>(FLOW_INTERVAL, (f) => {
      field = f;
      schedule();
    });
    const sender = throttledSender(TARGET_EDIT_INTERVAL, (value) =>
      engine().send({ type: 'edit', target: 'target', index: output, value }),
    );
    const handlers: PhaseHandlers = {
      onTarget: (value, final) => {
        drag = { value, since: Date.now() };
        sender.push(value, final);
        schedule();
      },
      onProbe: (value) => {
        probe = value;
        schedule();
      },
      onToggleLeastControl: () =>
        useApp.setState((st) => ({
          overlays: st.overlays.includes('least-control')
            ? st.overlays.filter((o) => o !== 'least-control')
            : [...st.overlays, 'least-control'],
        })),
    };
    const draw = () => {
      frame = 0;
      const sim = simView.getState();
      if (sim.generation !== generation) {
        generation = sim.generation;
        field = null;
        range = null;
        tRange = null;
        probe = null;
      }
      const s = sim.latest;
      if (!s || width <= 0 || height <= 0) {
        drawPhase(svg, blankModel(sim), width, height);
        return;
      }
      const sliceable = s.n >= 2 && i < s.n && j < s.n;
      if (sliceable) range = phaseRange(sim, i, j, range);
      tRange = targetRange(sim, output, tRange);
      // The engine has taken the dragged target (or stopped answering): show its value again.
      if (
        drag &&
        (Math.abs(s.target[output] - drag.value) < 1e-4 || Date.now() - drag.since > 1500)
      )
        drag = null;
      const leastControl =
        overlay && sliceable
          ? leastControlOverlay({
              sim,
              field,
              i,
              j,
              range: range ?? [-1, 1],
              output,
              t: drag?.value ?? s.target[output],
              readout,
              activation,
              tauPhi,
              probe,
            })
          : null;
      const layout = drawPhase(
        svg,
        {
          sim,
          field,
          i,
          j,
          range: range ?? [-1, 1],
          output,
          targetRange: tRange,
          dragValue: drag?.value ?? null,
          editableTarget,
          readout,
          leastControl,
          leastControlOn: overlay,
        },
        width,
        height,
        handlers,
      );
      // Ask for the field that belongs to what is drawn (throttled; the grid follows the size).
      if (sliceable && range && layout) {
        const request = { i, j, range, size: flowSize(layout.side) };
        // While training the weights change hundreds of times a second: a field every 2 s is enough.
        const training = sim.latest?.phase === 'training';
        const key = training
          ? `training|${Math.floor(performance.now() / TRAINING_REFRESH_MS)}`
          : `${flowKey(sim, i, j, range)}|${request.size}`;
        requests.want(key, () => engine().flowField(request));
      }
    };
    const schedule = () => {
      if (!frame) frame = requestDraw(draw);
    };
    const measure = () => {
      const r = host.getBoundingClientRect();
      width = Math.floor(r.width);
      height = Math.floor(r.height);
      schedule();
    };
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(measure) : null;
    ro?.observe(host);
    window.addEventListener('resize', measure);
    const lecture = typeof MutationObserver === 'function' ? new MutationObserver(schedule) : null;
    lecture?.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    measure();
    // The portrait's redraw is dear (arrows, contours): at most 15 per second from snapshots, and
    // while training once per field refresh (each redraw re-rasterises the whole portrait, which
    // held a software-composited page at 2–4 frames/s when the portrait filled the stage).
    let lastSnapshotDraw = 0;
    const onSnapshot = throttle(() => {
      const now = performance.now();
      const training = simView.getState().latest?.phase === 'training';
      if (training && now - lastSnapshotDraw < TRAINING_REFRESH_MS) return;
      lastSnapshotDraw = now;
      schedule();
    }, 66);
    const unsubscribe = simView.subscribe(onSnapshot.call);
    return () => {
      unsubscribe();
      onSnapshot.cancel();
      ro?.disconnect();
      lecture?.disconnect();
      window.removeEventListener('resize', measure);
      if (frame) cancelDraw(frame);
      requests.dispose();
      sender.dispose();
    };
  }, [i, j, output, editableTarget, readout, overlay, activation, tauPhi]);

  const options = Array.from({ length: n }, (_, u) => u);
  return (
    <section
      data-testid="view-phase"
      aria-label="Phase portrait"
      className="view-section"
      style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0 }}
    >
      {(n > 2 || (editableTarget && k > 1)) && (
        <div className="view-toolbar">
          {n > 2 && (
            <>
              <label>
                horizontal{' '}
                <select
                  style={selectStyle}
                  value={i}
                  onChange={(e) => setUnits([Number(e.target.value), j])}
                >
                  {options.map((u) => (
                    <option key={u} value={u} disabled={u === j}>
                      φ{sub(u)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                vertical{' '}
                <select
                  style={selectStyle}
                  value={j}
                  onChange={(e) => setUnits([i, Number(e.target.value)])}
                >
                  {options.map((u) => (
                    <option key={u} value={u} disabled={u === i}>
                      φ{sub(u)}
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
          {editableTarget && k > 1 && (
            <label>
              target{' '}
              <select
                style={selectStyle}
                value={output}
                onChange={(e) => setOutput(Number(e.target.value))}
              >
                {Array.from({ length: k }, (_, o) => (
                  <option key={o} value={o}>
                    t{sub(o)}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
      )}
      <div
        ref={hostRef}
        className="view-body"
        style={{ flex: 1, minHeight: 0, position: 'relative', overflow: 'hidden' }}
      >
        <svg
          ref={svgRef}
          role="group"
          aria-label="Flow field of the free dynamics with nullclines, target set, free equilibrium, trajectory and control"
          style={{ position: 'absolute', inset: 0 }}
        />
      </div>
    </section>
  );
}

function blankModel(sim: SimView): PhaseModel {
  return {
    sim: { ...sim, latest: null },
    field: null,
    i: 0,
    j: 1,
    range: [-1, 1],
    output: 0,
    targetRange: [-1, 1],
    dragValue: null,
    editableTarget: false,
  };
}
