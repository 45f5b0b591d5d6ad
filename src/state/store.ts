/**
 * The app's one zustand store: configuration, run state and view state. Snapshots do not pass
 * through here (see simView.ts); only what React renders does.
 */
import { create } from 'zustand';
import { defaultConfig, type TrainConfig } from '../engine/config';
import type { Notice, Phase, StatusMetrics } from '../worker/protocol';

export const VIEW_IDS = [
  'network',
  'traces',
  'phase',
  'learning',
  'weights',
  'task',
  'equations',
] as const;
export type ViewId = (typeof VIEW_IDS)[number];

export interface ConfigSlice {
  config: TrainConfig;
  preset: string | null;
}

export interface RunSlice {
  playing: boolean;
  control: boolean;
  learnWhilePlaying: boolean;
  /** Euler steps per animation frame (slow motion below 1 is handled as frames per step). */
  speed: number;
  phase: Phase;
  step: number;
  backend: string;
  backendReason: string;
  metrics: StatusMetrics | null;
  progress: { done: number; total: number } | null;
  notices: (Notice & { id: number })[];
  /** Narration of the current phase (slow motion). */
  narration: boolean;
}

export interface ViewSlice {
  hidden: ViewId[];
  enlarged: ViewId | null;
  lecture: boolean;
  helpOpen: boolean;
}

export type AppState = ConfigSlice & RunSlice & ViewSlice;

export const initialRun: RunSlice = {
  playing: false,
  control: false,
  learnWhilePlaying: false,
  speed: 4,
  phase: 'idle',
  step: 0,
  backend: '…',
  backendReason: '',
  metrics: null,
  progress: null,
  notices: [],
  narration: false,
};

export const useApp = create<AppState>(() => ({
  config: defaultConfig(),
  preset: null,
  ...initialRun,
  hidden: [],
  enlarged: null,
  lecture: false,
  helpOpen: false,
}));

let noticeId = 0;
export function pushNotice(notice: Notice): void {
  const id = ++noticeId;
  useApp.setState((s) => ({ notices: [...s.notices.slice(-4), { ...notice, id }] }));
}

export function dismissNotice(id: number): void {
  useApp.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}
