/**
 * What a chapter file may say (one JSON file per chapter in this folder), checked when the app
 * loads them: a lecturer edits these files by hand, and a typo must fail loudly, naming the field.
 * A leaf module: zod, the configuration schema and the presets, no TensorFlow.js.
 */
import { z } from 'zod';
import { parseConfig, type TrainConfig } from '../engine/config';
import { PRESETS } from '../engine/presets';
import { VIEW_IDS } from '../state/store';

const viewId = z.enum(VIEW_IDS);

/** Configuration changes: field names and values are judged by the app's own config schema. */
const configPatch = z.record(z.string(), z.unknown());

/** The steps a scene runs on entry, in order, each after the engine finished the previous one. */
export const actionSchema = z.discriminatedUnion('do', [
  /** Start over with the chapter's seed: the same network and data. */
  z.strictObject({ do: z.literal('reset') }),
  /** Run the current dynamics (free, or controlled when control is on) until they settle. */
  z.strictObject({ do: z.literal('equilibrium') }),
  /** Switch the output controller on or off. */
  z.strictObject({ do: z.literal('control'), on: z.boolean() }),
  /** Play (animated, at the current speed) for this many Euler steps, then pause. */
  z.strictObject({ do: z.literal('play'), steps: z.number().int().min(1).max(20_000) }),
  /** Learn (relax → control → local update) this many times. */
  z.strictObject({ do: z.literal('learn'), count: z.number().int().min(1).max(20) }),
  /** Train this many updates on batches of the training set. */
  z.strictObject({ do: z.literal('train'), updates: z.number().int().min(1).max(500) }),
  /** The α limit: the worker sweeps α on the current sample (the `sweep` view). */
  z.strictObject({ do: z.literal('alphaSweep') }),
  /** Equilibrium propagation's two phases beside LCP's one (the `ep` view). */
  z.strictObject({ do: z.literal('epCompare') }),
  /** More meta-updates of the meta-learning run (the `meta` and `metaCurves` views). */
  z.strictObject({ do: z.literal('metaTrain'), updates: z.number().int().min(1).max(200) }),
]);
export type SceneAction = z.infer<typeof actionSchema>;

export const synapseSchema = z.union([
  z.literal('strongest'),
  z.strictObject({ post: z.number().int().min(0), pre: z.number().int().min(0) }),
]);

export const sceneSchema = z.strictObject({
  title: z.string().min(1).max(80),
  /** Two to four plain sentences, with the symbols the views show. */
  caption: z.string().min(1).max(900),
  views: z.array(viewId).min(1).max(VIEW_IDS.length),
  overlays: z.array(z.enum(['least-control'])).optional(),
  /** A synapse W[post, pre], or the one with the largest |ΔW| of the last update. */
  synapse: synapseSchema.optional(),
  /** Parameter changes on entering the scene (they last until a later scene changes them). */
  config: configPatch.optional(),
  actions: z.array(actionSchema).max(12).optional(),
});
export type Scene = z.infer<typeof sceneSchema>;

export const chapterSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string().min(1).max(80),
  base: z.strictObject({
    preset: z.string(),
    config: configPatch.optional(),
  }),
  scenes: z.array(sceneSchema).min(2).max(20),
});
export type Chapter = z.infer<typeof chapterSchema>;

/** The sentences of a caption (a full stop, question or exclamation mark, then a space or end). */
export function sentences(caption: string): string[] {
  return caption
    .split(/(?<=[.!?])\s+(?=[A-Z0-9ψφρα½‖(“"Δ])/u)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The chapter's starting configuration: its preset with its overrides (backend aside). */
export function baseConfig(chapter: Chapter, backend?: TrainConfig['backend']): TrainConfig {
  const preset = PRESETS[chapter.base.preset];
  return parseConfig({
    ...preset.config,
    ...(chapter.base.config ?? {}),
    ...(backend ? { backend } : {}),
  });
}

/**
 * The configuration fields scene `index` sets: for every field some scene of the chapter names,
 * the value of the last scene up to `index` that names it, else the chapter's own value. So a
 * scene reached backwards looks as it did going forwards.
 */
export function sceneFields(
  chapter: Chapter,
  index: number,
  base: TrainConfig,
): Partial<TrainConfig> {
  const out: Record<string, unknown> = {};
  for (const scene of chapter.scenes)
    for (const key of Object.keys(scene.config ?? {})) out[key] = base[key as keyof TrainConfig];
  for (const scene of chapter.scenes.slice(0, index + 1)) Object.assign(out, scene.config ?? {});
  return out as Partial<TrainConfig>;
}

/**
 * Parse one chapter file: its shape, its preset, and every scene's configuration merged with the
 * chapter's (through the app's config schema). Throws an Error naming the chapter and the field.
 */
export function parseChapter(raw: unknown, source = 'chapter'): Chapter {
  const r = chapterSchema.safeParse(raw);
  if (!r.success)
    throw new Error(
      `${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  const chapter = r.data;
  if (!Object.prototype.hasOwnProperty.call(PRESETS, chapter.base.preset))
    throw new Error(`${source}: base.preset "${chapter.base.preset}" is not a preset`);
  let base: TrainConfig;
  try {
    base = baseConfig(chapter);
  } catch (e) {
    throw new Error(`${source}: base.config: ${(e as Error).message}`, { cause: e });
  }
  chapter.scenes.forEach((scene, i) => {
    try {
      parseConfig({ ...base, ...sceneFields(chapter, i, base) });
    } catch (e) {
      throw new Error(
        `${source}: scene ${i + 1} (${scene.title}) config: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    const n = sentences(scene.caption).length;
    if (n < 2 || n > 4)
      throw new Error(
        `${source}: scene ${i + 1} (${scene.title}) caption has ${n} sentences (2 to 4)`,
      );
  });
  return chapter;
}
