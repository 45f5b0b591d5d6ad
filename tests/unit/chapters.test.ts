/**
 * Chapters and scenes: every chapter file parses and every scene's configuration is valid when
 * merged with its preset; the runner sends each action only after the engine finished the one
 * before (against a fake engine that takes its time, and answers late), stops when the scene is
 * left, and reports an analysis that is not there instead of failing the scene.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAPTER_FILES, CHAPTERS } from '../../src/chapters';
import { parseChapter, sceneFields, sentences, baseConfig } from '../../src/chapters/schema';
import { parseConfig, type TrainConfig } from '../../src/engine/config';
import { PRESETS } from '../../src/engine/presets';
import {
  runActions,
  type EngineStatus,
  type RunToken,
  type SceneHost,
} from '../../src/state/scenes';
import { VIEW_IDS } from '../../src/state/store';
import { ACTIONS } from '../../src/ui/actions';
import type { Command } from '../../src/worker/protocol';

const DIR = join(__dirname, '../../src/chapters');

describe('chapter files', () => {
  it('every JSON file of src/chapters is listed, in file-name order, twelve at least', () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(CHAPTER_FILES.map(([name]) => name)).toEqual(files);
    expect(CHAPTERS.length).toBeGreaterThanOrEqual(12);
    expect(new Set(CHAPTERS.map((c) => c.id)).size).toBe(CHAPTERS.length);
  });

  it.each(CHAPTER_FILES.map(([name]) => name))('%s parses with the schema', (name) => {
    const raw: unknown = JSON.parse(readFileSync(join(DIR, name), 'utf8'));
    expect(() => parseChapter(raw, name)).not.toThrow();
  });

  it('every scene: known views, a 2–4 sentence caption, a config valid on its preset', () => {
    for (const chapter of CHAPTERS) {
      expect(Object.keys(PRESETS)).toContain(chapter.base.preset);
      const base = parseConfig({ ...PRESETS[chapter.base.preset].config, ...chapter.base.config });
      let acc: Record<string, unknown> = {};
      chapter.scenes.forEach((scene, i) => {
        const where = `${chapter.id} scene ${i + 1}`;
        for (const v of scene.views) expect(VIEW_IDS, where).toContain(v);
        const n = sentences(scene.caption).length;
        expect(n, `${where}: ${scene.caption}`).toBeGreaterThanOrEqual(2);
        expect(n, where).toBeLessThanOrEqual(4);
        acc = { ...acc, ...scene.config };
        // Independently of sceneFields: the preset, the chapter's overrides, the scenes so far.
        expect(() => parseConfig({ ...base, ...acc }), where).not.toThrow();
        // An analysis shows in its own view.
        for (const a of scene.actions ?? []) {
          if (a.do === 'alphaSweep') expect(scene.views, where).toContain('sweep');
          if (a.do === 'epCompare') expect(scene.views, where).toContain('ep');
          if (a.do === 'metaTrain') expect(scene.views, where).toContain('meta');
        }
      });
    }
  });

  it("each chapter's first scene states its idea and its last says what to try", () => {
    for (const chapter of CHAPTERS) {
      expect(chapter.scenes[0].caption).toMatch(/^This chapter shows one idea: /);
      expect(chapter.scenes[chapter.scenes.length - 1].caption).toMatch(/\bTry\b/);
    }
  });

  it('"strongest synapse" comes after an update (a learn or a train in the chapter so far)', () => {
    for (const chapter of CHAPTERS) {
      let updated = false;
      for (const scene of chapter.scenes) {
        updated ||= (scene.actions ?? []).some((a) => a.do === 'learn' || a.do === 'train');
        if (scene.synapse === 'strongest') expect(updated, chapter.id).toBe(true);
      }
    }
  });

  it('chapters 7–10 use small networks, and every Train is short', () => {
    for (const chapter of CHAPTERS.slice(6, 10)) {
      const c = baseConfig(chapter);
      const units = c.topology === 'layered' ? c.layers.reduce((a, b) => a + b, 0) : c.hidden;
      expect(units, chapter.id).toBeLessThanOrEqual(64);
    }
    for (const chapter of CHAPTERS)
      for (const scene of chapter.scenes)
        for (const a of scene.actions ?? [])
          if (a.do === 'train') expect(a.updates).toBeLessThanOrEqual(50);
  });

  it('a scene reached backwards has the configuration it had going forwards', () => {
    const chapter = CHAPTERS.find((c) => c.id === 'output-control')!;
    const base = baseConfig(chapter);
    // Scene 3 sets α = 1 and scene 4 sets it back; scene 2 inherits scene 1's.
    expect(sceneFields(chapter, 2, base).alpha).toBe(1);
    expect(sceneFields(chapter, 1, base).alpha).toBe(chapter.scenes[0].config!.alpha);
    expect(sceneFields(chapter, 3, base).alpha).toBe(0.01);
    // A field only a later scene sets takes the chapter's value before it.
    const ch7 = CHAPTERS.find((c) => c.id === 'inversion-vs-feedback')!;
    const b7 = baseConfig(ch7);
    expect(sceneFields(ch7, 0, b7).learnQ).toBe(b7.learnQ);
    expect(sceneFields(ch7, 2, b7).controller).toBe('linear-feedback');
  });

  it('a bad chapter fails loudly, naming the field', () => {
    const good = JSON.parse(readFileSync(join(DIR, CHAPTER_FILES[0][0]), 'utf8')) as {
      scenes: { views: string[]; config?: Record<string, unknown>; caption: string }[];
    };
    const badView = structuredClone(good);
    badView.scenes[0].views = ['phase', 'nope'];
    expect(() => parseChapter(badView, 'x.json')).toThrow(/x\.json: scenes\.0\.views\.1/);
    const badConfig = structuredClone(good);
    badConfig.scenes[1].config = { alpha: -1 };
    expect(() => parseChapter(badConfig, 'x.json')).toThrow(/scene 2 .*alpha/);
    const longCaption = structuredClone(good);
    longCaption.scenes[0].caption = 'One. Two. Three. Four. Five.';
    expect(() => parseChapter(longCaption, 'x.json')).toThrow(/5 sentences/);
  });

  it('the keyboard: scene keys are free, no key belongs to two actions, Step moved off →', () => {
    const keys = ACTIONS.flatMap((a) => a.keys);
    expect(new Set(keys).size).toBe(keys.length);
    const byKey = (k: string) => ACTIONS.find((a) => a.keys.includes(k))?.id;
    expect(byKey('ArrowRight')).toBe('sceneNext');
    expect(byKey('PageDown')).toBe('sceneNext');
    expect(byKey('ArrowLeft')).toBe('scenePrev');
    expect(byKey('PageUp')).toBe('scenePrev');
    expect(byKey('h')).toBe('caption');
    expect(byKey('.')).toBe('step');
  });
});

// ---------------------------------------------------------------------------------------------
// The runner against a fake engine

interface Job {
  kind: 'equilibrium' | 'learn' | 'train' | 'build' | 'sweep';
  ticks: number;
  updates: number;
}

/**
 * A fake worker: commands queue jobs that take a few ticks (5 ms each); snapshots arrive a tick
 * after they are made, so one made before a command can arrive after it (as in the app). It
 * records every command with the engine's state when it came, to check the runner's order.
 */
class FakeEngine implements SceneHost {
  seq = 0;
  step = 0;
  updates = 0;
  control = false;
  playing = false;
  settled = false;
  awaitingBuild = false;
  job: Job | null = null;
  queue: Job[] = [];
  log: { cmd: string; busyWhenSent: boolean }[] = [];
  notices: string[] = [];
  delivered: EngineStatus;
  listeners = new Set<() => void>();
  timer: ReturnType<typeof setInterval>;
  sweepThrows = false;

  constructor() {
    this.delivered = this.make();
    this.timer = setInterval(() => this.tick(), 5);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private make(): EngineStatus {
    return {
      seq: this.seq,
      step: this.step,
      updates: this.updates,
      control: this.control,
      playing: this.playing,
      settled: this.settled,
      busy: this.job ? (this.job.kind === 'sweep' ? 'train' : this.job.kind) : null,
      awaitingBuild: this.awaitingBuild,
    };
  }

  private tick(): void {
    // The snapshot made last tick arrives now; then the engine works and makes the next one.
    const inFlight = this.make();
    if (!this.job) this.job = this.queue.shift() ?? null;
    if (this.job) {
      this.job.ticks--;
      if (this.job.kind === 'train' || this.job.kind === 'learn') this.settled = false;
      if (this.job.ticks <= 0) {
        if (this.job.kind === 'equilibrium') this.settled = true;
        if (this.job.kind === 'build') {
          this.awaitingBuild = false;
          this.seq = 100;
        }
        this.updates += this.job.updates;
        this.job = null;
      }
    }
    if (this.playing) this.step += 4;
    this.seq++;
    this.delivered = this.awaitingBuild ? { ...inFlight, seq: -1 } : inFlight;
    for (const l of this.listeners) l();
  }

  private record(cmd: string): void {
    this.log.push({ cmd, busyWhenSent: this.job !== null || this.queue.length > 0 });
  }

  status(): EngineStatus {
    return this.delivered;
  }
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  send(cmd: Command): void {
    this.record(cmd.type === 'train' ? `train ${cmd.updates}` : cmd.type);
    if (cmd.type === 'equilibrium') this.queue.push({ kind: 'equilibrium', ticks: 3, updates: 0 });
    if (cmd.type === 'learn') this.queue.push({ kind: 'learn', ticks: 4, updates: 1 });
    if (cmd.type === 'train') {
      // One update per tick, as Train reports them.
      for (let i = 0; i < cmd.updates; i++)
        this.queue.push({ kind: 'train', ticks: 1, updates: 1 });
    }
    if (cmd.type === 'stop') this.queue = [];
  }
  reset(): void {
    this.record('reset');
    this.awaitingBuild = true;
    this.delivered = { ...this.delivered, seq: -1 };
    this.updates = 0;
    this.step = 0;
    this.control = false;
    this.settled = false;
    this.queue.push({ kind: 'build', ticks: 5, updates: 0 });
  }
  setControl(on: boolean): void {
    this.record(`control ${on}`);
    this.control = on;
    this.settled = false;
  }
  setPlaying(on: boolean): void {
    this.record(`play ${on}`);
    this.playing = on;
  }
  requestAlphaSweep(): void {
    this.record('alphaSweep');
    if (this.sweepThrows) throw new Error('requestAlphaSweep: not implemented yet');
    this.queue.push({ kind: 'sweep', ticks: 6, updates: 0 });
  }
  requestEpComparison(): void {
    this.record('epCompare');
    throw new Error('requestEpComparison: not implemented yet');
  }
  requestMetaTraining(updates: number): void {
    this.record(`metaTrain ${updates}`);
    this.queue.push({ kind: 'sweep', ticks: 3, updates: 0 });
  }
  notice(text: string): void {
    this.notices.push(text);
  }
}

const FAST = { timeoutMs: 5000, quietMs: 60 };

describe('the scene runner', () => {
  it('runs actions in order, each after the engine finished the one before', async () => {
    const fake = new FakeEngine();
    const token: RunToken = { cancelled: false };
    const ok = await runActions(
      fake,
      [
        { do: 'reset' },
        { do: 'play', steps: 40 },
        { do: 'equilibrium' },
        { do: 'control', on: true },
        { do: 'equilibrium' },
        { do: 'learn', count: 2 },
        { do: 'train', updates: 5 },
        { do: 'alphaSweep' },
      ],
      token,
      FAST,
    );
    fake.stop();
    expect(ok).toBe(true);
    expect(fake.log.map((l) => l.cmd)).toEqual([
      'reset',
      'play true',
      'play false',
      'equilibrium',
      'control true',
      'equilibrium',
      'learn',
      'learn',
      'train 5',
      'alphaSweep',
    ]);
    // No command went to an engine that was still working on the previous one.
    expect(fake.log.filter((l) => l.busyWhenSent)).toEqual([]);
    expect(fake.job).toBeNull();
    expect(fake.queue).toEqual([]);
    // The counters as the fake engine computed them: 2 learns + 5 train updates after the reset.
    expect(fake.updates).toBe(7);
    expect(fake.step).toBeGreaterThanOrEqual(40);
    expect(fake.playing).toBe(false);
    expect(fake.notices).toEqual([]);
  });

  it('an analysis that throws is reported as a notice and the scene goes on', async () => {
    const fake = new FakeEngine();
    fake.sweepThrows = true;
    const ok = await runActions(
      fake,
      [{ do: 'alphaSweep' }, { do: 'epCompare' }, { do: 'learn', count: 1 }],
      { cancelled: false },
      FAST,
    );
    fake.stop();
    expect(ok).toBe(true);
    expect(fake.notices).toHaveLength(2);
    expect(fake.notices[0]).toMatch(/α sweep.*not implemented/);
    expect(fake.notices[1]).toMatch(/EP comparison.*not implemented/);
    expect(fake.updates).toBe(1);
  });

  it('leaving the scene ends the run without sending the rest', async () => {
    const fake = new FakeEngine();
    const token: RunToken = { cancelled: false };
    const run = runActions(
      fake,
      [
        { do: 'train', updates: 400 },
        { do: 'learn', count: 1 },
      ],
      token,
      FAST,
    );
    await new Promise((r) => setTimeout(r, 100));
    token.cancelled = true;
    const t0 = Date.now();
    expect(await run).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    fake.stop();
    expect(fake.log.map((l) => l.cmd)).toEqual(['train 400']);
  });

  it('an engine that never finishes is reported after the timeout', async () => {
    const fake = new FakeEngine();
    fake.stop();
    // A status that stays busy forever.
    fake.delivered = { ...fake.delivered, busy: 'train' };
    const ok = await runActions(
      fake,
      [{ do: 'learn', count: 1 }],
      { cancelled: false },
      {
        timeoutMs: 200,
        quietMs: 50,
      },
    );
    expect(ok).toBe(false);
    expect(fake.notices[0]).toMatch(/did not finish within 0.2 s/);
  });

  it('the merged configuration of every scene is what parseConfig accepts', () => {
    for (const chapter of CHAPTERS) {
      const base = baseConfig(chapter);
      chapter.scenes.forEach((_, i) => {
        const c: TrainConfig = parseConfig({ ...base, ...sceneFields(chapter, i, base) });
        expect(c.task).toBe(base.task);
      });
    }
  });
});
