import { engine } from '../../state/engine';
import { useApp } from '../../state/store';
import { ACTIONS, actionById, MODEL_INPUT_ID, TRAIN_CHOICES, type ActionId } from '../actions';
import { useState } from 'react';
import { importModelFile } from '../../state/modelTransfer';
import { EmbedDialog } from './EmbedDialog';
import { focusStage } from '../configEdits';
import { BusyIndicator } from './BusyIndicator';
import { ChapterMenu } from './ChapterMenu';
import { ParameterControls } from './ParameterControls';

const BUTTONS: ActionId[] = [
  'play',
  'step',
  'equilibrium',
  'control',
  'learn',
  'next',
  'reset',
  'newSeed',
  'compare',
];

/** Speeds offered: steps per frame (below 1: slow motion, one step every few frames). */
const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256];

export function ActionButton({ id }: { id: ActionId }) {
  const action = actionById(id);
  // Pressed states follow the engine (snapshots), not only the last click.
  const pressed = useApp((s) =>
    id === 'play'
      ? s.playing
      : id === 'control'
        ? s.control
        : id === 'train'
          ? s.busy?.kind === 'train' && !s.busy.epoch
          : id === 'trainEpoch'
            ? s.busy?.kind === 'train' && !!s.busy.epoch
            : id === 'compare'
              ? s.enlarged === 'compare'
              : undefined,
  );
  const trainUpdates = useApp((s) => s.trainUpdates);
  const label =
    id === 'play' && pressed
      ? 'Pause'
      : id === 'train'
        ? pressed
          ? 'Stop'
          : `Train ${trainUpdates}`
        : id === 'trainEpoch' && pressed
          ? 'Stop epoch'
          : action.label;
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

function TrainControls() {
  const trainUpdates = useApp((s) => s.trainUpdates);
  // Whole epochs are offered where they matter: the digits chapters (MNIST).
  const digits = useApp((s) => s.config.task === 'mnist');
  return (
    <div className="train-row">
      <ActionButton id="train" />
      {digits && <ActionButton id="trainEpoch" />}
      <label>
        <span className="visually-hidden">Updates per Train</span>
        <select
          data-testid="train-updates"
          value={trainUpdates}
          title="How many updates Train applies"
          onChange={(e) => {
            useApp.setState({ trainUpdates: Number(e.target.value) });
            focusStage();
          }}
        >
          {TRAIN_CHOICES.map((n) => (
            <option key={n} value={n}>
              {n} {n === 1 ? 'update' : 'updates'}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

export function ControlPanel() {
  const edited = useApp(
    (s) => s.preset !== null && JSON.stringify(s.config) !== JSON.stringify(s.chapterConfig),
  );
  const speed = useApp((s) => s.speed);
  const learnWhilePlaying = useApp((s) => s.learnWhilePlaying);
  const narration = useApp((s) => s.narration);
  const [embedOpen, setEmbedOpen] = useState(false);
  return (
    <aside className="panel" aria-label="Controls">
      {embedOpen && <EmbedDialog onClose={() => setEmbedOpen(false)} />}
      <ChapterMenu />
      {edited && (
        <p className="preset-description">
          <em>Edited: ↺ beside a field restores the chapter&apos;s value.</em>
        </p>
      )}
      <div className="buttons" role="toolbar" aria-label="Simulation">
        {BUTTONS.map((id) => (
          <ActionButton key={id} id={id} />
        ))}
      </div>
      <TrainControls />
      <BusyIndicator />
      <label className="row">
        Speed{' '}
        <select
          data-testid="speed"
          value={speed}
          onChange={(e) => {
            const v = Number(e.target.value);
            useApp.setState({ speed: v });
            engine().send({ type: 'speed', stepsPerFrame: v });
            focusStage();
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
      <div className="buttons" role="toolbar" aria-label="Share">
        <ActionButton id="copyLink" />
        <ActionButton id="exportModel" />
        <ActionButton id="importModel" />
        <ActionButton id="cliConfig" />
        <button
          type="button"
          data-testid="embed"
          title="Write the iframe code that embeds this run in a slide or a course page"
          onClick={() => setEmbedOpen(true)}
        >
          Embed…
        </button>
        <input
          id={MODEL_INPUT_ID}
          data-testid="model-file"
          type="file"
          accept=".json,application/json"
          hidden
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void importModelFile(f);
          }}
        />
      </div>
      <ParameterControls />
      <p className="shortcuts-hint">
        Shortcuts: {ACTIONS.map((a) => a.keyLabel).join(' ')} — press <kbd>?</kbd> for help.
      </p>
    </aside>
  );
}
