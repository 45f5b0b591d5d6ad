/**
 * The scene runner: opening a chapter builds its network from scratch; entering a scene applies
 * its configuration, shows its views, overlays and synapse, then runs its actions one after
 * another, each only once the engine has finished the one before. Leaving a scene stops what it
 * started. The engine is reached through a SceneHost, so that tests can drive the runner with a
 * fake engine.
 */
import { CHAPTERS, chapterById, type Chapter, type SceneAction } from '../chapters';
import { baseConfig, sceneFields } from '../chapters/schema';
import type { TrainConfig } from '../engine/config';
import { loadChapter } from '../ui/configEdits';
import { strongestSynapse as strongestOf } from '../ui/views/networkSynapse';
import type { Busy, Command } from '../worker/protocol';
import { requestAlphaSweep, requestEpComparison, requestMetaTraining } from './analyses';
import { setConfigFields } from './configChanges';
import { engine } from './engine';
import { clearSimView, simView } from './simView';
import { pushNotice, useApp, VIEW_IDS, type Synapse, type ViewId } from './store';

/** What the runner watches to know when the engine has finished an action. */
export interface EngineStatus {
  /** The last snapshot's sequence number (−1 before the first one of this network). */
  seq: number;
  step: number;
  updates: number;
  control: boolean;
  playing: boolean;
  settled: boolean;
  busy: Busy['kind'] | null;
  /** A new network is on its way (its old snapshots are dropped until it arrives). */
  awaitingBuild: boolean;
}

/** The engine and the page as the runner uses them (the app's, or a test's fake). */
export interface SceneHost {
  status(): EngineStatus;
  /** Called whenever the status may have changed; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  send(cmd: Command): void;
  reset(): void;
  setControl(on: boolean): void;
  setPlaying(on: boolean): void;
  requestAlphaSweep(): void;
  requestEpComparison(): void;
  /** More meta-updates of the meta-learning run (its views show them). */
  requestMetaTraining(updates: number): void;
  notice(text: string): void;
}

export interface RunOptions {
  /** Give up on one action after this long (ms). */
  timeoutMs: number;
  /**
   * An action whose effect cannot be seen in the snapshots (an equilibrium already reached, an
   * analysis) counts as done once the engine has been idle, with news since it was sent, this long.
   */
  quietMs: number;
}

export const RUN_OPTIONS: RunOptions = { timeoutMs: 240_000, quietMs: 1500 };

/** A run in progress; `cancelled` is set when the scene is left. */
export interface RunToken {
  cancelled: boolean;
}

export class SceneCancelled extends Error {
  constructor() {
    super('scene left');
  }
}

/**
 * Wait until `done(status, sawBusy)` holds, re-checked on every status change; `sawBusy`: the
 * engine reported a job since the wait began. Also done when the engine went busy and is idle
 * again, or (if `quietOk`) when it has been idle with a newer snapshot for quietMs.
 */
export function waitFor(
  host: SceneHost,
  token: RunToken,
  done: (s: EngineStatus, sawBusy: boolean) => boolean,
  opts: RunOptions,
  what: string,
  quietOk = true,
): Promise<void> {
  const start = host.status();
  return new Promise<void>((resolve, reject) => {
    let sawBusy = false;
    let quietTimer: ReturnType<typeof setTimeout> | null = null;
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      off();
      clearTimeout(timeout);
      clearInterval(poll);
      if (quietTimer) clearTimeout(quietTimer);
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      if (token.cancelled) return finish(new SceneCancelled());
      const s = host.status();
      // A refresh (the free equilibrium after a change) is the engine's own housekeeping.
      if (s.busy !== null && s.busy !== 'refresh') sawBusy = true;
      const idle = s.busy === null && !s.awaitingBuild && s.seq >= 0;
      if (idle && (done(s, sawBusy) || sawBusy)) return finish();
      if (quietTimer) clearTimeout(quietTimer);
      quietTimer = null;
      if (quietOk && idle && s.seq > start.seq)
        quietTimer = setTimeout(() => {
          const now = host.status();
          if (now.busy === null && !now.awaitingBuild) finish();
        }, opts.quietMs);
    };
    const off = host.subscribe(check);
    // Cancellation has no status change of its own: look now and then.
    const poll = setInterval(check, 250);
    const timeout = setTimeout(
      () => finish(new Error(`${what} did not finish within ${opts.timeoutMs / 1000} s`)),
      opts.timeoutMs,
    );
    check();
  });
}

/** The engine has a network and nothing to do (a build, if any, has arrived). */
export function waitReady(host: SceneHost, token: RunToken, opts: RunOptions): Promise<void> {
  return waitFor(host, token, () => true, opts, 'building the network', false);
}

/** Run one action and wait until the engine has finished it. */
export async function runAction(
  host: SceneHost,
  action: SceneAction,
  token: RunToken,
  opts: RunOptions = RUN_OPTIONS,
): Promise<void> {
  const before = host.status();
  switch (action.do) {
    case 'reset':
      host.reset();
      // The old network's status is gone: wait for the new one's first snapshot.
      return waitFor(host, token, (s) => s.seq >= 0, opts, 'reset', false);
    case 'equilibrium':
      host.send({ type: 'equilibrium' });
      return waitFor(host, token, (s) => s.settled && s.seq > before.seq, opts, 'equilibrium');
    case 'control':
      host.setControl(action.on);
      return waitFor(host, token, (s) => s.control === action.on, opts, 'control', false);
    case 'play': {
      host.setPlaying(true);
      try {
        await waitFor(
          host,
          token,
          (s) => s.step >= before.step + action.steps || (!s.playing && s.seq > before.seq + 1),
          opts,
          'play',
          false,
        );
      } finally {
        host.setPlaying(false);
      }
      return;
    }
    case 'learn':
      for (let i = 0; i < action.count; i++) {
        const u = host.status().updates;
        host.send({ type: 'learn' });
        await waitFor(host, token, (s) => s.updates > u, opts, 'learn', false);
      }
      return;
    case 'train':
      host.send({ type: 'train', updates: action.updates });
      return waitFor(
        host,
        token,
        (s) => s.updates >= before.updates + action.updates,
        opts,
        'train',
        false,
      );
    case 'alphaSweep':
    case 'epCompare': {
      const name = action.do === 'alphaSweep' ? 'The α sweep' : 'The EP comparison';
      try {
        if (action.do === 'alphaSweep') host.requestAlphaSweep();
        else host.requestEpComparison();
      } catch (e) {
        host.notice(`${name} is not available: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      return waitFor(host, token, () => false, opts, name);
    }
    case 'metaTrain':
      host.requestMetaTraining(action.updates);
      // Done when the engine has been busy with it and is idle again.
      return waitFor(host, token, () => false, opts, 'Meta-learning', false);
  }
}

/** Run a scene's actions in order; a failure is reported and ends the scene's run. */
export async function runActions(
  host: SceneHost,
  actions: SceneAction[],
  token: RunToken,
  opts: RunOptions = RUN_OPTIONS,
): Promise<boolean> {
  try {
    await waitReady(host, token, opts);
    for (const action of actions) {
      if (token.cancelled) return false;
      await runAction(host, action, token, opts);
    }
    return !token.cancelled;
  } catch (e) {
    if (e instanceof SceneCancelled) return false;
    host.notice(`The scene stopped: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The app's host and the scene state

/** The page's view of the engine, from the snapshot bus and the store. */
function appStatus(): EngineStatus {
  const { latest, awaitingBuild } = simView.getState();
  const busy = useApp.getState().busy;
  return {
    seq: latest?.seq ?? -1,
    step: latest?.step ?? 0,
    updates: latest?.updates ?? 0,
    control: latest?.control ?? false,
    playing: latest?.playing ?? false,
    settled: latest?.metrics.settled ?? false,
    busy: busy?.kind ?? null,
    awaitingBuild,
  };
}

export const appHost: SceneHost = {
  status: appStatus,
  subscribe(listener) {
    const a = simView.subscribe(listener);
    const b = useApp.subscribe((s, prev) => {
      if (s.busy !== prev.busy) listener();
    });
    return () => {
      a();
      b();
    };
  },
  send: (cmd) => engine().send(cmd),
  reset() {
    useApp.setState({ playing: false, control: false, busy: null });
    clearSimView(true);
    engine().send({ type: 'reset' });
  },
  setControl(on) {
    useApp.setState({ control: on });
    engine().send({ type: 'control', on });
  },
  setPlaying(on) {
    useApp.setState({ playing: on });
    engine().send({ type: 'play', playing: on });
  },
  requestAlphaSweep,
  requestEpComparison,
  requestMetaTraining,
  notice: (text) => pushNotice({ level: 'warning', key: 'scene', text }),
};

let current: RunToken | null = null;

/** Stop the running scene's actions (and the engine work they started). */
export function leaveScene(): void {
  const token = current;
  current = null;
  if (!token || token.cancelled) return;
  token.cancelled = true;
  if (useApp.getState().sceneRunning) {
    useApp.setState({ sceneRunning: false, playing: false });
    engine().send({ type: 'play', playing: false });
    engine().send({ type: 'stop' });
  }
}

/** The synapse with the largest |ΔW| of the last update (row = post-synaptic), or null. */
export function strongestSynapse(): Synapse | null {
  const dW = simView.getState().weights?.lastUpdate?.W;
  return strongestOf(dW, dW?.rows ?? 0);
}

function resolveSynapse(chapter: Chapter, index: number): Synapse | null {
  const s = chapter.scenes[index].synapse;
  if (!s) return null;
  return s === 'strongest' ? strongestSynapse() : s;
}

/**
 * Put a run on the page before the engine builds it (a link, a saved session, a model file): its
 * configuration, and its chapter's scene shown without running the scene's actions; play and
 * control off, the views cleared for the network on its way. `preset` undefined keeps the page's.
 */
export function showRun(run: {
  config: TrainConfig;
  chapterConfig: TrainConfig;
  preset?: string | null;
  chapter: string | null;
  scene: number;
}): void {
  leaveScene();
  useApp.setState({
    config: run.config,
    chapterConfig: run.chapterConfig,
    ...(run.preset !== undefined ? { preset: run.preset } : {}),
    playing: false,
    control: false,
    busy: null,
    chapter: null,
    scene: 0,
    sceneViews: null,
  });
  if (run.chapter) showScene(run.chapter, run.scene);
  clearSimView(true);
}

/** Show scene `index` of the chapter (views, overlays, synapse) without running anything. */
export function showScene(chapterId: string, index: number): void {
  const chapter = chapterById(chapterId);
  if (!chapter) return;
  const i = Math.max(0, Math.min(chapter.scenes.length - 1, index));
  const scene = chapter.scenes[i];
  const views = scene.views as ViewId[];
  useApp.setState({
    chapter: chapter.id,
    scene: i,
    sceneViews: views,
    hidden: VIEW_IDS.filter((v) => !views.includes(v)),
    enlarged: null,
    overlays: scene.overlays ?? [],
    synapse: resolveSynapse(chapter, i),
  });
}

/**
 * Enter scene `index` of the open chapter: leave the current one, show the new one, apply the
 * configuration fields the chapter's scenes set (as they stand at this scene), then run its
 * actions (`fresh`: the chapter's network was just built, so a leading reset is skipped).
 * Resolves when the actions are done (or the scene was left).
 */
export async function enterScene(
  index: number,
  host: SceneHost = appHost,
  fresh = false,
): Promise<void> {
  const chapter = chapterById(useApp.getState().chapter);
  if (!chapter) return;
  leaveScene();
  const token: RunToken = { cancelled: false };
  current = token;
  showScene(chapter.id, index);
  const i = useApp.getState().scene;
  const { config } = useApp.getState();
  const fields = sceneFields(chapter, i, baseConfig(chapter, config.backend));
  const changes = Object.fromEntries(
    Object.entries(fields).filter(
      ([k, v]) => JSON.stringify(config[k as keyof TrainConfig]) !== JSON.stringify(v),
    ),
  ) as Partial<TrainConfig>;
  if (Object.keys(changes).length) setConfigFields(changes);
  let actions = chapter.scenes[i].actions ?? [];
  // A chapter just built is already reset: a second build would only cost time.
  if (fresh && actions[0]?.do === 'reset') actions = actions.slice(1);
  useApp.setState({ sceneRunning: true });
  const ok = await runActions(host, actions, token);
  if (token.cancelled) return;
  current = null;
  useApp.setState({ sceneRunning: false });
  // After a Learn, "the strongest synapse" names one of the new update.
  if (ok && chapter.scenes[i].synapse === 'strongest')
    useApp.setState({ synapse: strongestSynapse() });
}

/** Open a chapter from scratch (a fresh network) at its first scene, or at `scene`. */
export function openChapter(id: string, scene = 0): Promise<void> {
  const chapter = chapterById(id);
  if (!chapter) return Promise.resolve();
  leaveScene();
  const backend = useApp.getState().config.backend;
  // The scene's own fields go into the build, so that entering it changes nothing more.
  loadChapter(chapter.base.preset, {
    ...(chapter.base.config as Partial<TrainConfig> | undefined),
    ...sceneFields(chapter, scene, baseConfig(chapter, backend)),
  });
  useApp.setState({ chapter: chapter.id, scene });
  return enterScene(scene, appHost, true);
}

/** The next scene; past the last, the next chapter's first. */
export function nextScene(): void {
  const { chapter: id, scene } = useApp.getState();
  const chapter = chapterById(id);
  if (!chapter) return;
  if (scene + 1 < chapter.scenes.length) void enterScene(scene + 1);
  else {
    const k = CHAPTERS.indexOf(chapter);
    if (k + 1 < CHAPTERS.length) void openChapter(CHAPTERS[k + 1].id);
  }
}

/** The previous scene (the first scene stays). */
export function previousScene(): void {
  const { chapter: id, scene } = useApp.getState();
  if (!chapterById(id) || scene === 0) return;
  void enterScene(scene - 1);
}

/**
 * On page open: the first chapter is already being built (main.tsx loads its preset), so its
 * first scene is shown without running its actions: the fresh network is their starting point.
 */
export function startChapters(): void {
  if (useApp.getState().chapter !== null) return;
  const first = CHAPTERS[0];
  if (useApp.getState().preset !== first.base.preset) return;
  showScene(first.id, 0);
}
