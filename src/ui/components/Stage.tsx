import { useLayoutEffect, useRef, type ComponentType } from 'react';
import { useApp, VIEW_IDS, type ViewId } from '../../state/store';
import { EquationsView } from '../views/EquationsView';
import { LearningView } from '../views/LearningView';
import { NetworkView } from '../views/NetworkView';
import { PhaseView } from '../views/PhaseView';
import { TaskView } from '../views/TaskView';
import { TracesView } from '../views/TracesView';
import { WeightsView } from '../views/WeightsView';
import { SweepView } from '../views/SweepView';
import { EpView } from '../views/EpView';
import { SweepsView } from '../views/SweepsView';
import { DigitsView } from '../views/DigitsView';
import { CompareView } from '../views/CompareView';
import { MetaCurvesView, MetaFitView } from '../views/MetaView';
import { SceneBar } from './SceneBar';
import { ViewExport } from './ViewExport';

export const VIEWS: Record<ViewId, { title: string; Component: ComponentType }> = {
  network: { title: 'Network', Component: NetworkView },
  traces: { title: 'Traces', Component: TracesView },
  phase: { title: 'Phase portrait', Component: PhaseView },
  learning: { title: 'Learning curves', Component: LearningView },
  weights: { title: 'Weights', Component: WeightsView },
  task: { title: 'Task', Component: TaskView },
  equations: { title: 'Equations', Component: EquationsView },
  sweep: { title: 'The α limit', Component: SweepView },
  ep: { title: 'One phase, not two', Component: EpView },
  sweeps: { title: 'Parameter sweeps', Component: SweepsView },
  digits: { title: 'Digits: test and draw', Component: DigitsView },
  compare: { title: 'Compare methods', Component: CompareView },
  meta: { title: 'Meta-learning: one task', Component: MetaFitView },
  metaCurves: { title: 'Meta-learning curves', Component: MetaCurvesView },
};

/** Which views take a row's spare columns first: time series and text read better wide; the
 *  phase portrait and the task plot are square. */
const WIDE_FIRST: ViewId[] = [
  'traces',
  'learning',
  'equations',
  'digits',
  'weights',
  'network',
  'task',
  'phase',
  'sweeps',
  'compare',
  'metaCurves',
  'meta',
  'sweep',
  'ep',
];

export interface StageLayout {
  cols: number;
  rows: number;
  /** Columns spanned by each view, in the order given. */
  spans: number[];
}

/** Below this cell size (px) the stage scrolls instead of shrinking the views further. */
export const MIN_CELL = { width: 240, height: 150 };

/**
 * The grid for `ids` in a stage of width × height (px) with `gap` between cells: the column
 * count whose cells are the largest near-landscape rectangles (a cell is worth
 * min(width, 1.35 × height)), rows filled evenly from the top, and every row's spare columns
 * given to its widest-reading views, so that no cell of the grid stays empty.
 */
export function stageLayout(ids: ViewId[], width: number, height: number, gap = 8): StageLayout {
  const n = ids.length;
  if (n === 0) return { cols: 1, rows: 1, spans: [] };
  let best = { cols: 1, rows: n, score: -Infinity };
  // A phone: two legible cells do not fit side by side; one column that scrolls, full width.
  const maxCols = width < 2 * MIN_CELL.width + gap ? 1 : n;
  for (let cols = 1; cols <= maxCols; cols++) {
    const rows = Math.ceil(n / cols);
    // Every row but one would be empty otherwise.
    if (rows > 1 && (rows - 1) * cols >= n) continue;
    const cw = (width - (cols - 1) * gap) / cols;
    const ch = (height - (rows - 1) * gap) / rows;
    const score = Math.min(cw, 1.35 * ch);
    if (score > best.score) best = { cols, rows, score };
  }
  const { cols, rows } = best;
  const spans: number[] = [];
  let start = 0;
  for (let r = 0; r < rows; r++) {
    // Rows hold ⌊n/rows⌋ or ⌈n/rows⌉ views, the fuller ones first.
    const count = Math.floor(n / rows) + (r < n % rows ? 1 : 0);
    const row = ids.slice(start, start + count);
    const rowSpans = row.map(() => 1);
    const order = row
      .map((id, q) => ({ q, rank: WIDE_FIRST.indexOf(id) }))
      .sort((a, b) => a.rank - b.rank);
    for (let spare = cols - count, k = 0; spare > 0 && order.length; spare--, k++)
      rowSpans[order[k % order.length].q]++;
    spans.push(...rowSpans);
    start += count;
  }
  return { cols, rows, spans };
}

function toggleHidden(id: ViewId): void {
  useApp.setState((s) => ({
    hidden: s.hidden.includes(id) ? s.hidden.filter((h) => h !== id) : [...s.hidden, id],
    enlarged: s.enlarged === id ? null : s.enlarged,
  }));
}

/** The stage: every view in a grid that fills it; each can be hidden or enlarged. */
export function Stage() {
  const hidden = useApp((s) => s.hidden);
  const enlarged = useApp((s) => s.enlarged);
  const lecture = useApp((s) => s.lecture);
  const sceneViews = useApp((s) => s.sceneViews);
  // Presenter view: in lecture mode a scene shows exactly the views it names, large.
  const presenting = lecture && sceneViews !== null;
  const embed = useApp((s) => s.embed);
  const shown = VIEW_IDS.filter((id) =>
    embed
      ? embed.views.includes(id) && (enlarged === null || enlarged === id)
      : presenting
        ? sceneViews.includes(id) && (enlarged === null || enlarged === id)
        : !hidden.includes(id) && (enlarged === null || enlarged === id),
  );
  const grid = useRef<HTMLDivElement>(null);
  // Size the grid to its box: recomputed on resize (ResizeObserver), lecture mode and when the
  // shown views change, written to the DOM directly so that a resize re-renders no React view.
  const key = shown.join(',');
  useLayoutEffect(() => {
    const el = grid.current;
    if (!el) return;
    const ids = key ? (key.split(',') as ViewId[]) : [];
    const apply = () => {
      const style = getComputedStyle(el);
      const gap = parseFloat(style.columnGap) || 8;
      const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
      const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
      const width = el.clientWidth - padX;
      const height = el.clientHeight - padY;
      if (!(width > 0 && height > 0)) return;
      const { cols, rows, spans } = stageLayout(ids, width, height, gap);
      const cellH = (height - (rows - 1) * gap) / rows;
      const cellW = (width - (cols - 1) * gap) / cols;
      // Too small a window: keep legible cells and let the stage scroll.
      el.style.gridTemplateColumns =
        cellW < MIN_CELL.width
          ? `repeat(${cols}, minmax(${MIN_CELL.width}px, 1fr))`
          : `repeat(${cols}, minmax(0, 1fr))`;
      // One column on a phone: each view as tall as a landscape cell of the full width.
      const minH =
        cols === 1 && rows > 1 ? Math.max(MIN_CELL.height, width / 1.5) : MIN_CELL.height;
      el.style.gridTemplateRows =
        cellH < minH
          ? `repeat(${rows}, minmax(${Math.round(minH)}px, 1fr))`
          : `repeat(${rows}, minmax(0, 1fr))`;
      el.dataset.cols = String(cols);
      el.dataset.rows = String(rows);
      const panels = Array.from(el.querySelectorAll<HTMLElement>(':scope > .panel-view'));
      panels.forEach((p, q) => {
        const span = spans[q] ?? 1;
        const value = span > 1 ? `span ${span}` : '';
        if (p.style.gridColumn !== value) p.style.gridColumn = value;
      });
    };
    apply();
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(apply) : null;
    ro?.observe(el);
    // Lecture mode changes the type size and so the paddings and the panel's width.
    const mo = typeof MutationObserver === 'function' ? new MutationObserver(apply) : null;
    mo?.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    return () => {
      ro?.disconnect();
      mo?.disconnect();
    };
  }, [grid, key]);

  return (
    <main
      className={`stage${enlarged ? ' enlarged' : ''}${presenting ? ' presenting' : ''}`}
      aria-label="Views"
    >
      {!embed && <SceneBar />}
      {/* With a view enlarged, showing another would not put it on screen: no buttons then. */}
      {hidden.length > 0 && !presenting && !embed && !enlarged && (
        <div className="hidden-views" aria-label="Hidden views">
          Hidden:{' '}
          {hidden.map((id) => (
            <button key={id} type="button" onClick={() => toggleHidden(id)}>
              show {VIEWS[id].title}
            </button>
          ))}
        </div>
      )}
      <div className="stage-grid" ref={grid}>
        {shown.map((id) => {
          const { title, Component } = VIEWS[id];
          return (
            <div key={id} className={`panel-view view-${id}`} data-view={id}>
              <header>
                <h2>{title}</h2>
                <span className="view-tools">
                  <ViewExport view={id} title={title} />
                  <button
                    type="button"
                    aria-label={enlarged === id ? `Back to all views` : `Enlarge ${title}`}
                    onClick={() => useApp.setState({ enlarged: enlarged === id ? null : id })}
                  >
                    {enlarged === id ? '⤡' : '⤢'}
                  </button>
                  {!embed && (
                    <button
                      type="button"
                      aria-label={`Hide ${title}`}
                      onClick={() => toggleHidden(id)}
                    >
                      ×
                    </button>
                  )}
                </span>
              </header>
              <Component />
            </div>
          );
        })}
      </div>
    </main>
  );
}
