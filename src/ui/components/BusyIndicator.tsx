import { useApp } from '../../state/store';
import { actionById } from '../actions';

/** "1.2k" style counts for the stage line. */
function count(v: number): string {
  return v >= 10_000 ? `${Math.round(v / 1000)}k` : String(Math.round(v));
}

function timeLeft(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 60) return ` · ~${seconds} s left`;
  return ` · ~${Math.round(seconds / 60)} min left`;
}

/**
 * What the engine is doing, with a progress bar and Cancel: Train counts updates (with the time
 * left); every job shows the piece it is in (a solve's steps, drawing weights, evaluation), so
 * that long work moves visibly within a second.
 */
export function BusyIndicator() {
  const busy = useApp((s) => s.busy);
  const health = useApp((s) => s.health);
  if (health === 'starting')
    return (
      <div className="busy" data-testid="busy" role="status">
        <span>Starting the engine…</span>
      </div>
    );
  // The free equilibrium of the current sample is found in the background: no bar for it.
  if (!busy || busy.kind === 'refresh' || busy.kind === 'control') return null;
  const stage =
    busy.stage && busy.stageTotal > 0
      ? `${busy.stage} ${count(busy.stageDone)}/${count(busy.stageTotal)}`
      : busy.stage;
  const stageFraction = busy.stageTotal > 0 ? busy.stageDone / busy.stageTotal : 0;
  // An epoch's bar spans the whole epoch (a resumed one starts part-way).
  const fraction = busy.epoch
    ? (busy.epoch.batch +
        (busy.epoch.batch < busy.epoch.batches ? Math.min(1, stageFraction) : 0)) /
      busy.epoch.batches
    : busy.total > 1
      ? (busy.done + Math.min(1, stageFraction)) / busy.total
      : stageFraction;
  return (
    <div className="busy" data-testid="busy" role="status" aria-live="polite">
      <div className="busy-head">
        <span className="busy-label" data-testid="busy-label">
          {busy.epoch
            ? `Epoch ${busy.epoch.epoch} · batch ${busy.epoch.batch}/${busy.epoch.batches}`
            : busy.label}
          {!busy.epoch && busy.total > 1 && ` ${busy.done}/${busy.total}`}
          {timeLeft(busy.secondsLeft)}
        </span>
        <button
          type="button"
          data-testid="cancel"
          title={actionById('stop').description + ' (Esc)'}
          onClick={() => actionById('stop').perform()}
        >
          Cancel
        </button>
      </div>
      <progress
        data-testid="train-progress"
        max={1}
        value={Math.max(0, Math.min(1, fraction))}
        aria-label={`${busy.label} progress`}
      />
      {stage && <span className="busy-stage">{stage}</span>}
    </div>
  );
}
