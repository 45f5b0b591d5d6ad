/**
 * One registry of actions: buttons, keyboard shortcuts and the help overlay are all generated
 * from it (as Excalidraw does), so they can never disagree.
 */
import { engine } from '../state/engine';
import { clearSimView } from '../state/simView';
import { useApp } from '../state/store';

export type ActionId =
  | 'play'
  | 'step'
  | 'equilibrium'
  | 'control'
  | 'learn'
  | 'next'
  | 'train'
  | 'reset'
  | 'lecture'
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

/** How many updates "Train" runs. */
export const TRAIN_UPDATES = 100;

function togglePlay(): void {
  const playing = !useApp.getState().playing;
  useApp.setState({ playing });
  engine().send({ type: 'play', playing });
}

function pause(): void {
  if (useApp.getState().playing) togglePlay();
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
    keys: ['ArrowRight'],
    keyLabel: '→',
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
      'Relax → control → apply the local update ΔW ∝ ψ* ρ(φ*)ᵀ once, then show the next sample',
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
    label: `Train ${TRAIN_UPDATES}`,
    keys: ['t'],
    keyLabel: 'T',
    description: `Apply ${TRAIN_UPDATES} updates on batches of the training set (again to stop)`,
    perform: () => {
      pause();
      const training = useApp.getState().progress !== null;
      engine().send(training ? { type: 'stop' } : { type: 'train', updates: TRAIN_UPDATES });
    },
  },
  {
    id: 'reset',
    label: 'Reset',
    keys: ['r'],
    keyLabel: 'R',
    description: 'Start over: the same seed gives the same network and data',
    perform: () => {
      useApp.setState({ playing: false, control: false, progress: null });
      clearSimView();
      engine().send({ type: 'reset' });
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
    id: 'help',
    label: 'Help',
    keys: ['?'],
    keyLabel: '?',
    description: 'Show or hide this list of shortcuts',
    perform: () => useApp.setState((s) => ({ helpOpen: !s.helpOpen })),
  },
];

export const actionById = (id: ActionId): Action => ACTIONS.find((a) => a.id === id)!;

/** The action a key press means, unless the user is typing into a field. */
export function actionForKey(event: KeyboardEvent): Action | null {
  const target = event.target as HTMLElement | null;
  const typing =
    target &&
    (target.tagName === 'INPUT' ||
      target.tagName === 'SELECT' ||
      target.tagName === 'TEXTAREA' ||
      target.isContentEditable);
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return null;
  // Space on a focused button would also click it: the shortcut takes precedence.
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  return ACTIONS.find((a) => a.keys.includes(key)) ?? null;
}
