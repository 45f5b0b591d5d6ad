/**
 * Writes this project's MNIST split — the CLI's `mnist-rnn-*` datasets: 8,004 training and 1,996
 * test digits (DESIGN.md's rule), standardised or raw — as flat files the benchmark's driver of
 * the paper's own code reads (scripts/official_epoch.py), so that both train on the same digits
 * with the same preprocessing:
 *   DIR/{train,test}.x.f32  float32 [count, 784], row-major;  DIR/{train,test}.y.u8  labels.
 * Usage: npx tsx scripts/officialData.ts DIR [standardised|raw]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/engine/config';
import { PRESETS } from '../src/engine/presets';
import { seededStreams } from '../src/engine/rng';
import { createDataset } from '../src/engine/tasks';
import { loadMnistNode } from '../src/engine/tasks/loadMnistNode';

const [dir, pixels = 'standardised'] = process.argv.slice(2);
if (!dir || (pixels !== 'standardised' && pixels !== 'raw')) {
  console.error('usage: npx tsx scripts/officialData.ts DIR [standardised|raw]');
  process.exit(2);
}
const config = parseConfig({ pixels }, parseConfig(PRESETS['mnist-rnn-rbp'].config));
const data = createDataset(
  config,
  seededStreams(config.seed).stream('data'),
  await loadMnistNode(),
);
mkdirSync(dir, { recursive: true });
for (const [name, split] of [
  ['train', data.train],
  ['test', data.test],
] as const) {
  if (!split.labels) throw new Error('MNIST split without labels');
  writeFileSync(join(dir, `${name}.x.f32`), new Uint8Array(split.x.buffer, 0, split.x.byteLength));
  writeFileSync(join(dir, `${name}.y.u8`), split.labels);
}
console.log(
  JSON.stringify({ dir, pixels, train: data.train.count, test: data.test.count, m: data.m }),
);
