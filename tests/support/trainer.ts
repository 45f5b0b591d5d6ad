import { parseConfig, type TrainConfig } from '../../src/engine/config';
import { seededStreams } from '../../src/engine/rng';
import { createDataset } from '../../src/engine/tasks';
import { Trainer } from '../../src/engine/trainer';

/** A trainer for a (partial) config, with the streams derived from its seed as the CLI does. */
export function makeTrainer(partial: Partial<TrainConfig>): Trainer {
  const config = parseConfig(partial);
  const streams = seededStreams(config.seed);
  const data = createDataset(config, streams.stream('data'));
  return new Trainer(config, data, {
    init: streams.stream('init'),
    order: streams.stream('order'),
    noise: streams.stream('noise'),
  });
}
