/**
 * `train sinusoid-meta-*` (and config files whose `preset` is one): meta-training as
 * src/engine/meta/metaTrainer.ts does it, one JSON line per meta-epoch (docs/cli.md).
 */
import { existsSync } from 'node:fs';
import { InputError, oneLine } from '../engine/errors';
import { parseMetaConfig, parseMetaOverrides, type MetaConfig } from '../engine/meta/config';
import { META_PRESETS } from '../engine/meta/presets';
import { selectBackend } from '../engine/tf';
import { CONFIG_FILE_LIMIT, isJsonObject, readJsonFile } from './io';
import { round, type TrainIo } from './train';

export const META_PRESET_LIST = Object.keys(META_PRESETS).join(', ');

export function isMetaPreset(name: string): boolean {
  return Object.hasOwn(META_PRESETS, name);
}

/** A config file naming a meta preset as its base (read only to look; null when it does not). */
export async function metaFileFields(
  path: string,
): Promise<{ preset: string; fields: Record<string, unknown> } | null> {
  if (!existsSync(path)) return null;
  const raw = await readJsonFile(path, CONFIG_FILE_LIMIT);
  if (!isJsonObject(raw)) return null;
  const { preset, ...fields } = raw;
  return typeof preset === 'string' && isMetaPreset(preset) ? { preset, fields } : null;
}

/** The preset's configuration with the file's fields and the overrides (all problems at once). */
export function loadMetaConfig(
  preset: string,
  fields: Record<string, unknown>,
  overrides: string[],
): MetaConfig {
  const { values, issues } = parseMetaOverrides(overrides);
  const base = parseMetaConfig(META_PRESETS[preset].config);
  try {
    const config = parseMetaConfig({ ...fields, ...values }, base);
    if (issues.length) throw new InputError(issues);
    return config;
  } catch (e) {
    if (e instanceof InputError) throw new InputError([...issues, ...e.issues], e.omitted);
    throw e;
  }
}

/** One meta-epoch's line. */
export interface MetaEpochLine {
  metaEpoch: number;
  metaUpdates: number;
  metaTrainQueryLoss: number | null;
  metaTestQueryLoss: number | null;
  metaTestQueryLossBefore: number | null;
  meanPsiNorm: number | null;
  adaptSteps: number | null;
  adaptResidual: number | null;
  seconds: number | null;
}

/** Meta-train `config` (the backend chosen), calling `onEpoch` after every meta-epoch. */
export async function metaTrainRun(
  config: MetaConfig,
  io: Pick<TrainIo, 'err' | 'progress'>,
  onEpoch: (line: MetaEpochLine) => void,
): Promise<void> {
  const { MetaTrainer } = await import('../engine/meta/metaTrainer');
  const { drain } = await import('../engine/sliced');
  const trainer = new MetaTrainer(config);
  const start = performance.now();
  try {
    for (let e = 1; e <= config.metaEpochs; e++) {
      let query = 0;
      let psi = 0;
      let steps = 0;
      let residual = 0;
      for (let i = 0; i < config.iterations; i++) {
        const s = drain(trainer.stepSliced());
        query += s.queryLoss;
        psi += s.psiNorm ?? 0;
        steps += s.steps;
        residual = Math.max(residual, s.residual);
        if (io.progress)
          io.err(`\rmeta-epoch ${e}/${config.metaEpochs}  update ${i + 1}/${config.iterations}   `);
      }
      if (io.progress) io.err('\n');
      const test = trainer.evaluate();
      const n = config.iterations;
      onEpoch({
        metaEpoch: e,
        metaUpdates: trainer.updates,
        metaTrainQueryLoss: round(query / n),
        metaTestQueryLoss: round(test.after),
        metaTestQueryLossBefore: round(test.before),
        meanPsiNorm: config.method === 'lcp' ? round(psi / n) : null,
        adaptSteps: round(steps / n, 5),
        adaptResidual: round(residual),
        seconds: round((performance.now() - start) / 1000, 4),
      });
    }
  } finally {
    trainer.dispose();
  }
}

/** `train META-PRESET|FILE [key=value …]` for meta-learning; WASM in Node (several times faster). */
export async function runMetaTrain(
  preset: string,
  fields: Record<string, unknown>,
  overrides: string[],
  io: TrainIo,
): Promise<void> {
  if (!isMetaPreset(preset))
    throw InputError.single(
      'preset',
      `unknown meta preset "${oneLine(preset, 60)}" (${META_PRESET_LIST})`,
    );
  const config = loadMetaConfig(preset, fields, overrides);
  await import('@tensorflow/tfjs-backend-wasm');
  await selectBackend('wasm');
  await metaTrainRun(config, io, (line) => io.out(JSON.stringify(line) + '\n'));
}
