import { existsSync } from 'node:fs';
import { applyOverrides, defaultConfig, parseConfig, type TrainConfig } from '../engine/config';
import { InputError } from '../engine/errors';
import { PRESETS } from '../engine/presets';
import { seededStreams } from '../engine/rng';
import { createDataset } from '../engine/tasks';
import { loadMnistNode } from '../engine/tasks/loadMnistNode';
import { selectBackend } from '../engine/tf';
import { Trainer, type EpochMetrics } from '../engine/trainer';
import { readJsonFile } from './io';

/** A preset name or a config file (a preset plus any fields, or a plain partial config). */
export async function loadTrainConfig(source: string, overrides: string[]): Promise<TrainConfig> {
  let config: TrainConfig;
  if (source in PRESETS) config = parseConfig(PRESETS[source].config);
  else if (existsSync(source)) {
    const raw = await readJsonFile(source);
    const preset =
      typeof raw === 'object' && raw && 'preset' in raw
        ? String((raw as { preset: unknown }).preset)
        : null;
    if (preset !== null && !(preset in PRESETS))
      throw InputError.single('preset', `unknown preset "${preset}"`);
    const base = preset ? parseConfig(PRESETS[preset].config) : defaultConfig();
    const fields = { ...(raw as Record<string, unknown>) };
    delete fields.preset;
    config = parseConfig(fields, base);
  } else {
    throw InputError.single(
      'preset',
      `"${source}" is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a file`,
    );
  }
  return applyOverrides(config, overrides);
}

function round(v: number | null | undefined, digits = 6): number | null {
  return v === null || v === undefined || !Number.isFinite(v)
    ? null
    : Number(v.toPrecision(digits));
}

/** The epoch line of DESIGN.md §2 (then the extra alignment metrics). */
function epochLine(m: EpochMetrics): Record<string, number | null> {
  const line: Record<string, number | null> = {
    epoch: m.epoch,
    loss: round(m.loss),
    accuracy: round(m.accuracy),
    testLoss: round(m.testLoss),
    testAccuracy: round(m.testAccuracy),
    control: round(m.control),
    cosine: round(m.cosine),
    steps: round(m.steps, 5),
    seconds: round(m.seconds, 4),
    lr: round(m.lr),
    spectralRadius: round(m.spectralRadius),
  };
  if (m.alignmentQ !== undefined) line.alignmentQ = round(m.alignmentQ);
  if (m.angleB !== undefined) line.angleB = round(m.angleB);
  return line;
}

/** `train PRESET|FILE [key=value …]`: one JSON line per epoch on stdout, progress on stderr. */
export async function runTrain(args: string[]): Promise<void> {
  const [source, ...overrides] = args;
  if (!source)
    throw InputError.single(
      'arguments',
      `expected a preset (${Object.keys(PRESETS).join(', ')}) or a config file`,
    );
  const config = await loadTrainConfig(source, overrides);
  if (config.backend !== 'auto' && config.backend !== 'cpu') await selectBackend(config.backend);
  else if (config.backend === 'auto') await autoNodeBackend(config);
  const streams = seededStreams(config.seed);
  const mnist = config.task === 'mnist' ? await loadMnistNode() : undefined;
  const data = createDataset(config, streams.stream('data'), mnist);
  const trainer = new Trainer(config, data, {
    init: streams.stream('init'),
    order: streams.stream('order'),
    noise: streams.stream('noise'),
  });
  const progress = process.stderr.isTTY || process.env.LCP_PROGRESS === '1';
  try {
    for (let e = 0; e < config.epochs; e++) {
      let last = 0;
      const m = trainer.trainEpoch((done, total, r) => {
        const now = performance.now();
        if (progress && (now - last > 1000 || done === total)) {
          last = now;
          process.stderr.write(
            `\repoch ${e + 1}/${config.epochs}  batch ${done}/${total}  loss ${r.loss.toFixed(4)}  steps ${r.steps}   `,
          );
        }
      });
      if (progress) process.stderr.write('\n');
      process.stdout.write(JSON.stringify(epochLine(m)) + '\n');
    }
  } finally {
    trainer.dispose();
  }
}

/**
 * In Node the WASM backend's matMul is several times faster than the CPU backend's for large
 * layers; small nets are dispatch-bound and stay on CPU.
 */
async function autoNodeBackend(config: TrainConfig): Promise<void> {
  const n =
    config.topology === 'layered' ? config.layers.reduce((a, b) => a + b, 0) : config.hidden;
  if (n * config.batch >= 2048 || config.task === 'mnist') {
    await import('@tensorflow/tfjs-backend-wasm');
    await selectBackend('wasm');
  }
}
