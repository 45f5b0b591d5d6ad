/**
 * Milliseconds per training update of a preset through the CLI's engine path (Node; the backend
 * the CLI picks — wasm for MNIST), for `npm run bench` to compare with the app's Train:
 * `tsx scripts/updateCost.ts PRESET [updates]` prints {"preset", "backend", "msPerUpdate"}.
 * One update first warms the kernels up; the seed, data and order are the preset's. The kernel
 * keeps the app's thread policy (one core left for the page), so that app and CLI differ only in
 * their engine path, not in their thread counts.
 */
import { loadTrainConfig, prepareBackend } from '../src/cli/train';
import { setWasmKernelOptions } from '../src/engine/kernels/wasm/kernel';
import { seededStreams } from '../src/engine/rng';
import { createDataset } from '../src/engine/tasks';
import { loadMnistNode } from '../src/engine/tasks/loadMnistNode';
import { tf } from '../src/engine/tf';
import { Trainer } from '../src/engine/trainer';

const [preset, count = '4'] = process.argv.slice(2);
setWasmKernelOptions({ keepCores: 1 });
const config = await loadTrainConfig(preset, []);
await prepareBackend(config);
const streams = seededStreams(config.seed);
const mnist = config.task === 'mnist' ? await loadMnistNode() : undefined;
const data = createDataset(config, streams.stream('data'), mnist);
const trainer = new Trainer(config, data, {
  init: streams.stream('init'),
  order: streams.stream('order'),
  noise: streams.stream('noise'),
});
const order = streams.stream('order').permutation(data.train.count);
const batch = (i: number) => order.subarray(i * config.batch, (i + 1) * config.batch);
trainer.trainBatch(batch(0));
const updates = Number(count);
const t0 = performance.now();
for (let i = 1; i <= updates; i++) trainer.trainBatch(batch(i));
const ms = (performance.now() - t0) / updates;
trainer.dispose();
console.log(JSON.stringify({ preset, backend: tf.getBackend(), msPerUpdate: Math.round(ms) }));
