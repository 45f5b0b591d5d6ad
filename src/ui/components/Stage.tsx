import type { ComponentType } from 'react';
import { useApp, VIEW_IDS, type ViewId } from '../../state/store';
import { EquationsView } from '../views/EquationsView';
import { LearningView } from '../views/LearningView';
import { NetworkView } from '../views/NetworkView';
import { PhaseView } from '../views/PhaseView';
import { TaskView } from '../views/TaskView';
import { TracesView } from '../views/TracesView';
import { WeightsView } from '../views/WeightsView';

export const VIEWS: Record<ViewId, { title: string; Component: ComponentType }> = {
  network: { title: 'Network', Component: NetworkView },
  traces: { title: 'Traces', Component: TracesView },
  phase: { title: 'Phase portrait', Component: PhaseView },
  learning: { title: 'Learning curves', Component: LearningView },
  weights: { title: 'Weights', Component: WeightsView },
  task: { title: 'Task', Component: TaskView },
  equations: { title: 'Equations', Component: EquationsView },
};

function toggleHidden(id: ViewId): void {
  useApp.setState((s) => ({
    hidden: s.hidden.includes(id) ? s.hidden.filter((h) => h !== id) : [...s.hidden, id],
    enlarged: s.enlarged === id ? null : s.enlarged,
  }));
}

/** The stage: every view in a grid; each can be hidden or enlarged. */
export function Stage() {
  const hidden = useApp((s) => s.hidden);
  const enlarged = useApp((s) => s.enlarged);
  const shown = VIEW_IDS.filter(
    (id) => !hidden.includes(id) && (enlarged === null || enlarged === id),
  );
  return (
    <main className={`stage${enlarged ? ' enlarged' : ''}`} aria-label="Views">
      {hidden.length > 0 && (
        <div className="hidden-views" aria-label="Hidden views">
          Hidden:{' '}
          {hidden.map((id) => (
            <button key={id} type="button" onClick={() => toggleHidden(id)}>
              show {VIEWS[id].title}
            </button>
          ))}
        </div>
      )}
      {shown.map((id) => {
        const { title, Component } = VIEWS[id];
        return (
          <div key={id} className={`panel-view view-${id}`}>
            <header>
              <h2>{title}</h2>
              <span className="view-tools">
                <button
                  type="button"
                  aria-label={enlarged === id ? `Back to all views` : `Enlarge ${title}`}
                  onClick={() => useApp.setState({ enlarged: enlarged === id ? null : id })}
                >
                  {enlarged === id ? '⤡' : '⤢'}
                </button>
                <button type="button" aria-label={`Hide ${title}`} onClick={() => toggleHidden(id)}>
                  ×
                </button>
              </span>
            </header>
            <Component />
          </div>
        );
      })}
    </main>
  );
}
