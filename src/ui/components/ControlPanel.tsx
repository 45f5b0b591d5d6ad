import { PRESETS } from '../../engine/presets';
import { parseConfig, type TrainConfig } from '../../engine/config';
import { engine } from '../../state/engine';
import { clearSimView } from '../../state/simView';
import { useApp } from '../../state/store';
import { ACTIONS, actionById, type ActionId } from '../actions';
import { ParameterControls } from './ParameterControls';

const BUTTONS: ActionId[] = [
  'play',
  'step',
  'equilibrium',
  'control',
  'learn',
  'next',
  'train',
  'reset',
];

/** Speeds offered: steps per frame (below 1: slow motion, one step every few frames). */
const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256];

export function loadPreset(name: string, overrides: Partial<TrainConfig> = {}): void {
  const preset = PRESETS[name];
  if (!preset) return;
  // The backend is a property of this browser, not of the chapter: keep the current choice.
  const config = parseConfig({
    ...preset.config,
    backend: useApp.getState().config.backend,
    ...overrides,
  });
  useApp.setState({ config, preset: name, playing: false, control: false, progress: null });
  clearSimView();
  engine().send({ type: 'configure', config });
}

function ActionButton({ id }: { id: ActionId }) {
  const action = actionById(id);
  const pressed = useApp((s) =>
    id === 'play'
      ? s.playing
      : id === 'control'
        ? s.control
        : id === 'train'
          ? s.progress !== null
          : undefined,
  );
  const label =
    id === 'play' && pressed ? 'Pause' : id === 'train' && pressed ? 'Stop' : action.label;
  return (
    <button
      type="button"
      data-testid={id}
      aria-pressed={pressed}
      title={`${action.description} (${action.keyLabel})`}
      onClick={() => action.perform()}
    >
      {label} <kbd aria-hidden="true">{action.keyLabel}</kbd>
    </button>
  );
}

export function ControlPanel() {
  const preset = useApp((s) => s.preset);
  const speed = useApp((s) => s.speed);
  const learnWhilePlaying = useApp((s) => s.learnWhilePlaying);
  const narration = useApp((s) => s.narration);
  const progress = useApp((s) => s.progress);
  return (
    <aside className="panel" aria-label="Controls">
      <label className="preset">
        Chapter{' '}
        <select
          data-testid="preset"
          value={preset ?? ''}
          onChange={(e) => loadPreset(e.target.value)}
        >
          {preset === null && <option value="">(custom)</option>}
          {Object.entries(PRESETS).map(([key, p]) => (
            <option key={key} value={key}>
              {p.title}
            </option>
          ))}
        </select>
      </label>
      {preset && <p className="preset-description">{PRESETS[preset].description}</p>}
      <div className="buttons" role="toolbar" aria-label="Simulation">
        {BUTTONS.map((id) => (
          <ActionButton key={id} id={id} />
        ))}
      </div>
      {progress && (
        <progress
          data-testid="train-progress"
          max={progress.total}
          value={progress.done}
          aria-label="Training progress"
        >
          {progress.done}/{progress.total}
        </progress>
      )}
      <label className="row">
        Speed{' '}
        <select
          data-testid="speed"
          value={speed}
          onChange={(e) => {
            const v = Number(e.target.value);
            useApp.setState({ speed: v });
            engine().send({ type: 'speed', stepsPerFrame: v });
          }}
        >
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s < 1 ? `slow ×${s}` : `${s} steps/frame`}
            </option>
          ))}
        </select>
      </label>
      <label className="row">
        <input
          type="checkbox"
          data-testid="learn-while-playing"
          checked={learnWhilePlaying}
          onChange={(e) => {
            useApp.setState({ learnWhilePlaying: e.target.checked });
            engine().send({ type: 'learnWhilePlaying', on: e.target.checked });
          }}
        />{' '}
        Learn while playing
      </label>
      <label className="row">
        <input
          type="checkbox"
          data-testid="narration"
          checked={narration}
          onChange={(e) => useApp.setState({ narration: e.target.checked })}
        />{' '}
        Narrate each phase
      </label>
      <ParameterControls />
      <p className="shortcuts-hint">
        Shortcuts: {ACTIONS.map((a) => a.keyLabel).join(' ')} — press <kbd>?</kbd> for help.
      </p>
    </aside>
  );
}
