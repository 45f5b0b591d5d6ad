/**
 * The shell both analysis views share (the α sweep, EP against LCP): a Run button, a line of
 * status (progress while the worker computes, the result's note, or why it failed) and the
 * drawing below, redrawn whenever the analysis's slot in the store changes.
 */
import { useCallback, useRef } from 'react';
import { useStore } from 'zustand';
import { analyses, type AnalysesState } from '../../state/analyses';
import { useApp } from '../../state/store';
import type { Busy } from '../../worker/protocol';
import { hostSvg, sectionStyle, useLiveDraw, type Size } from './common';

type SlotKey = 'alphaSweep' | 'epCompare';
type Slot<K extends SlotKey> = AnalysesState[K];

export interface AnalysisViewProps<K extends SlotKey> {
  slot: K;
  /** The view's test id prefix (`view-…`, `…-run`, `…-status`) and class. */
  id: string;
  label: string;
  run: () => void;
  runningText: string;
  /** What the status line says with a result, and before any. */
  note: (result: NonNullable<Slot<K>['result']>) => string;
  idleNote: string;
  draw: (svg: SVGSVGElement, slot: Slot<K>, size: Size) => void;
}

export function AnalysisView<K extends SlotKey>(props: AnalysisViewProps<K>) {
  const { slot: key, id, draw: drawSlot } = props;
  const slot = useStore(analyses, (s) => s[key]);
  const busy = useApp((s) => s.busy);
  const host = useRef<HTMLDivElement>(null);
  const draw = useCallback(
    (el: HTMLDivElement, _view: unknown, size: Size) => drawSlot(hostSvg(el), slot, size),
    [slot, drawSlot],
  );
  useLiveDraw(host, draw);
  const running = slot.status === 'running';
  const result = slot.result as NonNullable<Slot<K>['result']> | null;
  const progress = running && busy?.kind === (key as Busy['kind']) ? busy.stage : null;
  return (
    <section
      data-testid={`view-${id}`}
      aria-label={props.label}
      className={`view view-${id}`}
      style={{ ...sectionStyle, display: 'flex', flexDirection: 'column', height: '100%' }}
    >
      <div className="view-toolbar analysis-toolbar">
        <button
          type="button"
          data-testid={`${id}-run`}
          onClick={props.run}
          disabled={running}
          aria-busy={running}
        >
          {running ? props.runningText : result ? 'Run again' : 'Run'}
        </button>
        <span className="analysis-note" data-testid={`${id}-status`}>
          {progress
            ? progress
            : result
              ? props.note(result)
              : slot.status === 'failed'
                ? (slot.message ?? 'failed')
                : props.idleNote}
        </span>
      </div>
      <div ref={host} style={{ position: 'relative', flex: 1, minHeight: 0 }} />
    </section>
  );
}
