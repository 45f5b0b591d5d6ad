/**
 * Compare mode: compareDraw in a thin shell. The user ticks methods (those this network cannot
 * train are greyed, with the reason) and a number of updates; Run asks the worker to train them
 * side by side from the seed (requestComparison), Stop stops it; the curves grow as the worker
 * posts them.
 */
import { useCallback, useId, useMemo, useRef, useState } from 'react';
import { useStore } from 'zustand';
import {
  COMPARE_METHODS,
  DEFAULT_COMPARE_UPDATES,
  MAX_COMPARE_UPDATES,
  METHOD_INFO,
  unavailableMethods,
  type CompareMethod,
} from '../../engine/compareMethods';
import { analyses, requestComparison } from '../../state/analyses';
import { engine } from '../../state/engine';
import { useApp } from '../../state/store';
import { hostSvg, sectionStyle, useLiveDraw, type Size } from './common';
import { compareStatusText, drawCompare, METHOD_STYLE } from './compareDraw';
import { UpdatesInput, validUpdates } from '../components/UpdatesInput';

/** Ticked at first: the local rules beside the exact gradient. */
const DEFAULT_METHODS: CompareMethod[] = ['lcp-di', 'lcp-kp', 'lcp-lf', 'rbp', 'bp'];

export function CompareView() {
  const slot = useStore(analyses, (s) => s.compare);
  const asked = useStore(analyses, (s) => s.compareRequest);
  const config = useApp((s) => s.config);
  const busy = useApp((s) => s.busy);
  const unavailable = useMemo(() => unavailableMethods(config), [config]);
  const [chosen, setChosen] = useState<CompareMethod[]>(DEFAULT_METHODS);
  const [updates, setUpdates] = useState(DEFAULT_COMPARE_UPDATES);
  const whyId = useId();
  // A comparison asked for elsewhere (an opened link) shows its own choice (state adjusted
  // while rendering, React's pattern for state that follows a prop).
  const [shownRequest, setShownRequest] = useState(asked);
  if (asked !== shownRequest) {
    setShownRequest(asked);
    if (asked) {
      setChosen(asked.methods);
      setUpdates(asked.updates);
    }
  }
  const host = useRef<HTMLDivElement>(null);
  const draw = useCallback(
    (el: HTMLDivElement, _view: unknown, size: Size) => drawCompare(hostSvg(el), slot, size),
    [slot],
  );
  useLiveDraw(host, draw);
  const runnable = chosen.filter((m) => !unavailable[m]);
  const running = slot.status === 'running';
  const updatesValid = validUpdates(updates, MAX_COMPARE_UPDATES);
  const toggle = (m: CompareMethod) =>
    setChosen((c) =>
      c.includes(m)
        ? c.filter((x) => x !== m)
        : COMPARE_METHODS.filter((x) => x === m || c.includes(x)),
    );
  const progress = running && busy?.kind === 'compare' ? busy : null;
  const greyed = COMPARE_METHODS.filter((m) => unavailable[m]);
  return (
    <section
      data-testid="view-compare"
      aria-label="Compare methods: learning curves of several methods from the same seed"
      className="view view-compare"
      style={{ ...sectionStyle, display: 'flex', flexDirection: 'column', height: '100%' }}
    >
      <div className="view-toolbar compare-toolbar">
        <fieldset className="compare-methods">
          <legend className="visually-hidden">Methods</legend>
          {COMPARE_METHODS.map((m) => {
            const why = unavailable[m];
            return (
              <label
                key={m}
                className={why ? 'compare-method unavailable' : 'compare-method'}
                title={why ?? METHOD_INFO[m].description}
              >
                <input
                  type="checkbox"
                  data-testid={`compare-method-${m}`}
                  checked={!why && chosen.includes(m)}
                  disabled={!!why || running}
                  aria-describedby={why ? whyId : undefined}
                  onChange={() => toggle(m)}
                />
                <span
                  className="compare-swatch"
                  aria-hidden="true"
                  style={{ background: METHOD_STYLE[m].colour }}
                />
                {METHOD_INFO[m].label}
              </label>
            );
          })}
        </fieldset>
        <UpdatesInput
          testId="compare-updates"
          className="compare-updates"
          value={updates}
          max={MAX_COMPARE_UPDATES}
          disabled={running}
          onChange={setUpdates}
        />
        {running ? (
          <button type="button" data-testid="compare-stop" onClick={stopComparison}>
            Stop
          </button>
        ) : (
          <button
            type="button"
            data-testid="compare-run"
            disabled={!runnable.length || !updatesValid}
            onClick={() => requestComparison({ methods: runnable, updates })}
          >
            {slot.result ? 'Run again' : 'Run'}
          </button>
        )}
        <span className="analysis-note" data-testid="compare-status" aria-live="polite">
          {compareStatusText(slot, progress)}
        </span>
      </div>
      {greyed.length > 0 && (
        <details className="view-toolbar compare-why" id={whyId}>
          <summary>
            Not available here: {greyed.map((m) => METHOD_INFO[m].label).join(', ')}
          </summary>
          <ul>
            {greyed.map((m) => (
              <li key={m}>
                <b>{METHOD_INFO[m].label}</b>: {unavailable[m]}
              </li>
            ))}
          </ul>
        </details>
      )}
      <div ref={host} style={{ position: 'relative', flex: 1, minHeight: 0 }} />
    </section>
  );
}

function stopComparison(): void {
  useApp.setState({ playing: false });
  engine().send({ type: 'stop' });
}
