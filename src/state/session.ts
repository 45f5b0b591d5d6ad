/**
 * Work survives a reload: the configuration, the chapter and the weights (with the sample and
 * the counters) are kept in this browser's IndexedDB a moment after they change, and offered
 * back when the page opens again. Best effort: where IndexedDB is unavailable nothing is kept.
 */
import { del, get, set } from 'idb-keyval';
import { chapterById } from '../chapters';
import { parseConfig, type TrainConfig } from '../engine/config';
import { PRESETS } from '../engine/presets';
import type { Checkpoint, Matrix } from '../worker/protocol';
import { engine, pageCheckpoint } from './engine';
import { abandonReplay } from './linkSync';
import { showRun } from './scenes';
import { simView } from './simView';
import { useApp } from './store';

const KEY = 'lcp-lab/session';
const VERSION = 1;
/**
 * A save happens this long after the first change of a burst (training changes weights many times
 * a second: at most one save per interval, and never more than this behind).
 */
const SAVE_DELAY_MS = 1500;
/** Larger networks are not kept (IndexedDB quotas, and seconds to write). */
const MAX_FLOATS = 16 * 1024 * 1024;

export interface SavedSession {
  version: number;
  savedAt: number;
  preset: string | null;
  /** The chapter and scene shown (sessions saved before chapters had none: null, 0). */
  chapter: string | null;
  scene: number;
  config: TrainConfig;
  checkpoint: Checkpoint;
}

/** The saved session, if there is a valid one (an invalid one is deleted). */
export async function loadSession(): Promise<SavedSession | null> {
  let raw: unknown;
  try {
    raw = await get(KEY);
  } catch {
    return null;
  }
  if (!raw) return null;
  const session = validSession(raw);
  if (!session) await del(KEY).catch(() => undefined);
  return session;
}

/** A stored value checked field by field: nothing from storage is trusted as it is. */
export function validSession(raw: unknown): SavedSession | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (r.version !== VERSION || typeof r.savedAt !== 'number') return null;
  let config: TrainConfig;
  try {
    config = parseConfig(r.config);
  } catch {
    return null;
  }
  const cp = r.checkpoint as Checkpoint | undefined;
  if (!cp || typeof cp !== 'object' || typeof cp.params !== 'object' || cp.params === null)
    return null;
  for (const m of Object.values(cp.params) as Matrix[]) {
    if (
      !m ||
      !(m.data instanceof Float32Array) ||
      m.data.length !== m.rows * m.cols ||
      !m.data.every(Number.isFinite)
    )
      return null;
  }
  const counters = [cp.sample, cp.updates, cp.epoch, cp.step];
  if (!counters.every((v) => Number.isInteger(v) && v >= 0)) return null;
  const preset = typeof r.preset === 'string' ? r.preset : null;
  const chapter = typeof r.chapter === 'string' && chapterById(r.chapter) ? r.chapter : null;
  const scene =
    chapter && Number.isInteger(r.scene) && (r.scene as number) >= 0 ? (r.scene as number) : 0;
  return { version: VERSION, savedAt: r.savedAt, preset, chapter, scene, config, checkpoint: cp };
}

export async function forgetSession(): Promise<void> {
  await del(KEY).catch(() => undefined);
}

/** Is there anything a user would miss: updates, hand edits or a changed configuration? */
function worthKeeping(): boolean {
  const { config, chapterConfig } = useApp.getState();
  const latest = simView.getState().latest;
  return (latest?.updates ?? 0) > 0 || JSON.stringify(config) !== JSON.stringify(chapterConfig);
}

async function save(): Promise<void> {
  if (!worthKeeping()) return;
  const checkpoint = pageCheckpoint();
  if (!checkpoint) return;
  const floats = Object.values(checkpoint.params).reduce((a, m) => a + (m?.data.length ?? 0), 0);
  if (floats > MAX_FLOATS) return;
  const { config, preset, chapter, scene } = useApp.getState();
  const session: SavedSession = {
    version: VERSION,
    savedAt: Date.now(),
    preset,
    chapter,
    scene,
    config,
    checkpoint,
  };
  await set(KEY, session).catch(() => undefined);
}

/** Keep the session saved as it changes (and when the page goes away). Returns the unsubscribe. */
export function startAutosave(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const later = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      void save();
    }, SAVE_DELAY_MS);
  };
  const offView = simView.subscribe((v, prev) => {
    if (v.weights !== prev.weights) later();
  });
  const offApp = useApp.subscribe((s, prev) => {
    if (s.config !== prev.config || s.scene !== prev.scene || s.chapter !== prev.chapter) later();
  });
  const onHide = () => void save();
  window.addEventListener('pagehide', onHide);
  return () => {
    offView();
    offApp();
    window.removeEventListener('pagehide', onHide);
    if (timer) clearTimeout(timer);
  };
}

/**
 * Continue a saved session: its configuration, chapter, scene and weights. The scene is shown
 * (views, caption) but its actions do not run: they would undo the restored work.
 */
export function restoreSession(session: SavedSession): void {
  const preset =
    session.preset && Object.prototype.hasOwnProperty.call(PRESETS, session.preset)
      ? session.preset
      : null;
  const chapterConfig = preset
    ? parseConfig({ ...PRESETS[preset].config, backend: session.config.backend })
    : session.config;
  abandonReplay();
  showRun({
    config: session.config,
    chapterConfig,
    preset,
    chapter: session.chapter,
    scene: session.scene,
  });
  engine().send({ type: 'restore', config: session.config, checkpoint: session.checkpoint });
}

/** The title a user knows the saved session by. */
export function sessionTitle(session: SavedSession): string {
  const chapter = chapterById(session.chapter);
  if (chapter) return `${chapter.title} (scene ${session.scene + 1})`;
  if (session.preset && Object.prototype.hasOwnProperty.call(PRESETS, session.preset))
    return PRESETS[session.preset].title;
  return 'a custom setup';
}
