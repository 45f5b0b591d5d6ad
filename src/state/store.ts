/**
 * The app's one zustand store: configuration, run state and view state. Snapshots do not pass
 * through here (see simView.ts); only what React renders does.
 */
import { create } from 'zustand';
import { defaultConfig, type TrainConfig } from '../engine/config';
import type { Busy, Notice, Phase } from '../worker/protocol';

export const VIEW_IDS = [
  'network',
  'traces',
  'phase',
  'learning',
  'weights',
  'task',
  'equations',
  // Analyses a chapter's scene asks for (hidden until then): the α limit and EP against LCP.
  'sweep',
  'ep',
  // Parameter sweeps (the user's own, hidden until asked for).
  'sweeps',
  // The digits chapters' test evaluation and drawing pad (hidden elsewhere).
  'digits',
  // Compare mode: several methods' learning curves from one seed (opened by its action).
  'compare',
  // Meta-learning (the sinusoid chapter): one task's fit, and the meta-training curves.
  'meta',
  'metaCurves',
] as const;
export type ViewId = (typeof VIEW_IDS)[number];

export interface ConfigSlice {
  config: TrainConfig;
  preset: string | null;
  /** The configuration the chapter (preset) gives: what "reset to default" and tooltips use. */
  chapterConfig: TrainConfig;
}

/**
 * How the engine worker is doing: starting (no network yet: commands wait in its queue), ready,
 * unresponsive (no heartbeat for 2 s), or crashed (the worker died).
 */
export type EngineHealth = 'starting' | 'ready' | 'unresponsive' | 'crashed';

export interface RunSlice {
  playing: boolean;
  control: boolean;
  learnWhilePlaying: boolean;
  /** Euler steps per animation frame (slow motion below 1 is handled as frames per step). */
  speed: number;
  /** Updates that Train runs. */
  trainUpdates: number;
  phase: Phase;
  backend: string;
  backendReason: string;
  /** The engine's running job (progress, Cancel), or null when idle. */
  busy: Busy | null;
  health: EngineHealth;
  notices: StoredNotice[];
  /** Narration of the current phase (slow motion). */
  narration: boolean;
}

export interface StoredNotice extends Notice {
  id: number;
  /** A notice with an action: clicking it runs the action (the id names it in notices.ts). */
  action?: { label: string; run: () => void };
}

/** A synapse W[post, pre] (row = post-synaptic unit), picked on the network diagram. */
export interface Synapse {
  post: number;
  pre: number;
}

/** Overlays a view can draw on request (a chapter's scene, or the view's own toggle). */
export type Overlay = 'least-control';

/** Embed mode (an iframe): the views and controls shown, nothing else (src/ui/query.ts). */
export interface EmbedSpec {
  views: ViewId[];
  /** Ids of src/ui/actions.ts. */
  controls: string[];
}

export interface ViewSlice {
  hidden: ViewId[];
  embed: EmbedSpec | null;
  /** Overlays drawn now: 'least-control' = level curves of ½‖ψ(φ)‖² on the phase portrait. */
  overlays: Overlay[];
  /** The synapse whose local update the network diagram explains, or null. */
  synapse: Synapse | null;
  enlarged: ViewId | null;
  lecture: boolean;
  helpOpen: boolean;
}

/** Where the lecture is: the chapter (an id of src/chapters), its scene, and how it is shown. */
export interface SceneSlice {
  /** The chapter open now, or null (a custom setup). */
  chapter: string | null;
  /** The scene shown (0-based). */
  scene: number;
  /** The scene's actions are running (the engine works for the scene). */
  sceneRunning: boolean;
  /** The caption is hidden (H): a lecturer who speaks it. */
  captionHidden: boolean;
  /** The views the scene names (lecture mode shows exactly these), or null. */
  sceneViews: ViewId[] | null;
}

export type AppState = ConfigSlice & RunSlice & ViewSlice & SceneSlice;

export const initialRun: RunSlice = {
  playing: false,
  control: false,
  learnWhilePlaying: false,
  speed: 2,
  trainUpdates: 100,
  phase: 'idle',
  backend: '…',
  backendReason: '',
  busy: null,
  health: 'starting',
  notices: [],
  narration: false,
};

export const useApp = create<AppState>(() => ({
  config: defaultConfig(),
  preset: null,
  chapterConfig: defaultConfig(),
  ...initialRun,
  hidden: ['sweep', 'ep', 'sweeps', 'digits', 'compare', 'meta', 'metaCurves'],
  embed: null,
  overlays: [],
  synapse: null,
  enlarged: null,
  lecture: false,
  helpOpen: false,
  chapter: null,
  scene: 0,
  sceneRunning: false,
  captionHidden: false,
  sceneViews: null,
}));

/**
 * Notices disappear by themselves after this long; errors stay for a minute (unless their
 * condition ends first, or they offer an action that must stay within reach: a restart).
 */
export const NOTICE_MS = { info: 8000, warning: 15000, error: 60000 } as const;
/** At most this many notices at once (the oldest go). */
const MAX_NOTICES = 4;

let noticeId = 0;
const timers = new Map<number, ReturnType<typeof setTimeout>>();

/**
 * Show a notice. One per key: a notice with the key of one already shown replaces it (so an event
 * that repeats shows once); identical texts are not repeated either.
 */
export function pushNotice(notice: Notice, action?: StoredNotice['action']): number {
  const id = ++noticeId;
  useApp.setState((s) => {
    const kept = s.notices.filter(
      (n) => !(notice.key && n.key === notice.key) && n.text !== notice.text,
    );
    for (const n of s.notices) if (!kept.includes(n)) clearTimer(n.id);
    const next = [...kept, { ...notice, id, ...(action ? { action } : {}) }];
    for (const n of next.slice(0, Math.max(0, next.length - MAX_NOTICES))) clearTimer(n.id);
    return { notices: next.slice(-MAX_NOTICES) };
  });
  const ms = NOTICE_MS[notice.level];
  if (ms > 0)
    timers.set(
      id,
      setTimeout(() => dismissNotice(id), ms),
    );
  return id;
}

function clearTimer(id: number): void {
  const t = timers.get(id);
  if (t !== undefined) clearTimeout(t);
  timers.delete(id);
}

export function dismissNotice(id: number): void {
  clearTimer(id);
  useApp.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

/** Dismiss the notices with this key (their condition is over). */
export function dismissNoticeKey(key: string): void {
  for (const n of useApp.getState().notices) if (n.key === key) dismissNotice(n.id);
}
