/**
 * One registry of actions: buttons, keyboard shortcuts and the help overlay are all generated
 * from it (as Excalidraw does), so they can never disagree.
 */
import { engine } from '../state/engine';
import { copyLink } from '../state/linkSync';
import { exportCliConfig, exportModel } from '../state/modelTransfer';
import { nextScene, previousScene } from '../state/scenes';
import { clearSimView } from '../state/simView';
import { useApp } from '../state/store';
import { setConfigField } from './configEdits';

export type ActionId =
  | 'play'
  | 'step'
  | 'equilibrium'
  | 'control'
  | 'learn'
  | 'next'
  | 'train'
  | 'trainEpoch'
  | 'compare'
  | 'stop'
  | 'reset'
  | 'newSeed'
  | 'lecture'
  | 'sceneNext'
  | 'scenePrev'
  | 'caption'
  | 'copyLink'
  | 'exportModel'
  | 'importModel'
  | 'cliConfig'
  | 'help';

export interface Action {
  id: ActionId;
  label: string;
  /** KeyboardEvent.key values that trigger it (case-insensitive letters). */
  keys: string[];
  /** How the help overlay writes the shortcut. */
  keyLabel: string;
  description: string;
  perform(): void;
}

/** The page's hidden file input for Import model (ControlPanel renders it). */
export const MODEL_INPUT_ID = 'model-file-input';

/** Train's choices of how many updates to run. */
export const TRAIN_CHOICES = [1, 5, 10, 50, 100, 500, 1000, 5000] as const;

function togglePlay(): void {
  const playing = !useApp.getState().playing;
  useApp.setState({ playing });
  engine().send({ type: 'play', playing });
}

function pause(): void {
  if (useApp.getState().playing) togglePlay();
}

/** Is the engine running a job the user started (Train, Learn, a build…)? */
export function engineBusy(): boolean {
  const busy = useApp.getState().busy;
  return busy !== null && busy.kind !== 'refresh';
}

function stop(): void {
  useApp.setState({ playing: false });
  engine().send({ type: 'stop' });
}

/** Compare mode is its view, enlarged over the stage; leaving it hides the view again. */
export function toggleCompareMode(): void {
  useApp.setState((s) =>
    s.enlarged === 'compare'
      ? { enlarged: null, hidden: [...s.hidden.filter((h) => h !== 'compare'), 'compare'] }
      : { enlarged: 'compare', hidden: s.hidden.filter((h) => h !== 'compare') },
  );
}

export const ACTIONS: Action[] = [
  {
    id: 'play',
    label: 'Play',
    keys: [' '],
    keyLabel: 'Space',
    description:
      'Run time forward (free dynamics, or controlled when control is on); again to pause',
    perform: togglePlay,
  },
  {
    id: 'step',
    label: 'Step',
    keys: ['.'],
    keyLabel: '.',
    description: 'Advance one Euler step dt',
    perform: () => {
      pause();
      engine().send({ type: 'step', steps: 1 });
    },
  },
  {
    id: 'equilibrium',
    label: 'Equilibrium',
    keys: ['e'],
    keyLabel: 'E',
    description: 'Run until the current dynamics settle',
    perform: () => engine().send({ type: 'equilibrium' }),
  },
  {
    id: 'control',
    label: 'Control',
    keys: ['c'],
    keyLabel: 'C',
    description: 'Switch the controller on or off (ψ and u drive the output to its target)',
    perform: () => {
      const control = !useApp.getState().control;
      useApp.setState({ control });
      engine().send({ type: 'control', on: control });
    },
  },
  {
    id: 'learn',
    label: 'Learn',
    keys: ['l'],
    keyLabel: 'L',
    description:
      'Relax → control → apply the local update ΔW ∝ ψ* ρ(φ*)ᵀ once (on a batch that starts with this sample); the sample stays, with the new weights',
    perform: () => engine().send({ type: 'learn' }),
  },
  {
    id: 'next',
    label: 'Next sample',
    keys: ['n'],
    keyLabel: 'N',
    description: 'Present the next training sample',
    perform: () => engine().send({ type: 'nextSample' }),
  },
  {
    id: 'train',
    label: 'Train',
    keys: ['t'],
    keyLabel: 'T',
    description:
      'Apply the chosen number of updates on batches of the training set (again to stop)',
    perform: () => {
      pause();
      const training = useApp.getState().busy?.kind === 'train';
      if (training) stop();
      else engine().send({ type: 'train', updates: useApp.getState().trainUpdates });
    },
  },
  {
    id: 'trainEpoch',
    label: 'Train 1 epoch',
    keys: ['p'],
    keyLabel: 'P',
    description:
      'Train to the end of the epoch: a whole pass over the training set, or the rest of one a Stop interrupted (the sample order goes on); the test set is evaluated at its end (again to stop)',
    perform: () => {
      pause();
      if (useApp.getState().busy?.kind === 'train') stop();
      else engine().send({ type: 'trainEpoch' });
    },
  },
  {
    id: 'compare',
    label: 'Compare',
    keys: ['v'],
    keyLabel: 'V',
    description:
      'Compare mode: train several methods side by side from the same seed and overlay their learning curves (again to leave)',
    perform: toggleCompareMode,
  },
  {
    id: 'stop',
    label: 'Stop',
    keys: ['Escape'],
    keyLabel: 'Esc',
    description: 'Stop what the engine is doing (Train, Learn, a run to equilibrium, play)',
    perform: stop,
  },
  {
    id: 'reset',
    label: 'Reset',
    keys: ['r'],
    keyLabel: 'R',
    description: 'Start over at step 0: the same seed gives the same network and data',
    perform: () => {
      useApp.setState({ playing: false, control: false, busy: null });
      clearSimView(true);
      engine().send({ type: 'reset' });
    },
  },
  {
    id: 'newSeed',
    label: 'New seed',
    keys: ['s'],
    keyLabel: 'S',
    description: 'Start over with another seed: new initial weights, data and order',
    perform: () => {
      useApp.setState({ playing: false, control: false, busy: null });
      setConfigField('seed', (useApp.getState().config.seed % 2_147_483_646) + 1);
    },
  },
  {
    id: 'lecture',
    label: 'Lecture mode',
    keys: ['f'],
    keyLabel: 'F',
    description: 'Large type, thick strokes, high contrast, full screen',
    perform: () => {
      const lecture = !useApp.getState().lecture;
      useApp.setState({ lecture });
      const root = document.documentElement;
      root.classList.toggle('lecture', lecture);
      if (lecture && root.requestFullscreen) root.requestFullscreen().catch(() => undefined);
      else if (!lecture && document.fullscreenElement)
        document.exitFullscreen().catch(() => undefined);
    },
  },
  {
    id: 'sceneNext',
    label: 'Next scene',
    keys: ['ArrowRight', 'PageDown'],
    keyLabel: '→ / PgDn',
    description:
      'The next scene of the chapter (after the last, the next chapter); presenter clickers send PgDn',
    perform: nextScene,
  },
  {
    id: 'scenePrev',
    label: 'Previous scene',
    keys: ['ArrowLeft', 'PageUp'],
    keyLabel: '← / PgUp',
    description: 'The previous scene of the chapter',
    perform: previousScene,
  },
  {
    id: 'caption',
    label: 'Caption',
    keys: ['h'],
    keyLabel: 'H',
    description: "Hide or show the scene's caption (for a lecturer who speaks it)",
    perform: () => useApp.setState((s) => ({ captionHidden: !s.captionHidden })),
  },
  {
    id: 'copyLink',
    label: 'Copy link',
    keys: ['k'],
    keyLabel: 'K',
    description:
      'Copy a link that replays this run exactly (configuration, seed, chapter and every action since the network was built)',
    perform: () => void copyLink(),
  },
  {
    id: 'exportModel',
    label: 'Export model',
    keys: ['m'],
    keyLabel: 'M',
    description:
      'Save the model as JSON: weights, configuration, seed, step and the action log (Import model loads it back)',
    perform: exportModel,
  },
  {
    id: 'importModel',
    label: 'Import model',
    keys: ['o'],
    keyLabel: 'O',
    description:
      'Load a model file (or drop one on the page): its run is replayed from its seed and checked against its weights',
    perform: () => document.getElementById(MODEL_INPUT_ID)?.click(),
  },
  {
    id: 'cliConfig',
    label: 'CLI config',
    keys: ['g'],
    keyLabel: 'G',
    description:
      'Save the configuration as a file for the command line: npm run lcp -- train FILE trains the same network',
    perform: exportCliConfig,
  },
  {
    id: 'help',
    label: 'Help',
    keys: ['?'],
    keyLabel: '?',
    description: 'Show or hide this list of shortcuts',
    perform: () => useApp.setState((s) => ({ helpOpen: !s.helpOpen })),
  },
];

export const actionById = (id: ActionId): Action => ACTIONS.find((a) => a.id === id)!;

/** Elements whose own keys win: text fields, menus, and (for Space/Enter) buttons and boxes. */
function ownsKey(target: HTMLElement | null, key: string): boolean {
  if (!target) return false;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable) return true;
  if (tag === 'INPUT') {
    const type = (target as HTMLInputElement).type;
    // Checkboxes and buttons take Space; every other input is a text field.
    if (type === 'checkbox' || type === 'radio' || type === 'button' || type === 'range')
      return key === ' ' || key === 'Enter' || (type === 'range' && key.startsWith('Arrow'));
    return true;
  }
  // Space (and Enter) on a focused button presses that button, as everywhere else.
  if (tag === 'BUTTON' || tag === 'SUMMARY' || target.getAttribute('role') === 'button')
    return key === ' ' || key === 'Enter';
  return false;
}

/** The action a key press means, unless the focused element uses the key itself. */
export function actionForKey(event: KeyboardEvent): Action | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (ownsKey(event.target as HTMLElement | null, key)) return null;
  return ACTIONS.find((a) => a.keys.includes(key)) ?? null;
}
