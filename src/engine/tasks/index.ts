import type { TrainConfig } from '../config';
import { InputError } from '../errors';
import type { Rng } from '../rng';
import { selectRows, type Dataset } from './dataset';
import type { MnistData } from './mnistData';
import { mnistDataset } from './mnistTask';
import { patternDataset, planeDataset, teacherDataset, PLANE_TASKS, type PlaneTask } from './toy';

export type { Dataset, Split } from './dataset';

/**
 * The dataset a configuration asks for, drawn from the `data` stream. `limit` keeps the first N
 * training samples after a seeded shuffle. MNIST needs its file, loaded by the caller.
 */
export function createDataset(config: TrainConfig, dataRng: Rng, mnist?: MnistData): Dataset {
  let data: Dataset;
  if (config.task === 'mnist') {
    if (!mnist) throw InputError.single('task', 'MNIST data not loaded (run `npm run data`)');
    data = mnistDataset(mnist, config.pixels);
  } else if ((PLANE_TASKS as readonly string[]).includes(config.task)) {
    data = planeDataset(
      config.task as PlaneTask,
      config.trainSize,
      config.testSize,
      config.noise,
      dataRng.stream(config.task),
    );
  } else if (config.task === 'pattern') {
    data = patternDataset(config.inputs, config.outputs, dataRng.stream('pattern'));
  } else {
    data = teacherDataset(
      config.inputs,
      config.outputs,
      config.trainSize,
      config.testSize,
      dataRng.stream('teacher'),
    );
  }
  if (config.limit > 0 && config.limit < data.train.count) {
    const order = dataRng.stream('limit').permutation(data.train.count).subarray(0, config.limit);
    data = { ...data, train: selectRows(data.train, order, data.m, data.k) };
  }
  return data;
}
