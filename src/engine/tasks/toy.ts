import type { Rng } from '../rng';
import { oneHot, type Dataset, type Split } from './dataset';

/** The 2-D classification tasks, in the spirit of the TensorFlow playground (data within ±1). */
export const PLANE_TASKS = ['circle', 'xor', 'spiral', 'gaussians'] as const;
export type PlaneTask = (typeof PLANE_TASKS)[number];

/** One clean point of class `label` (0 or 1), before input noise. */
function planePoint(task: PlaneTask, label: number, rng: Rng): [number, number] {
  const angle = 2 * Math.PI * rng.uniform();
  switch (task) {
    case 'circle': {
      // Class 0 inside r < 0.5, class 1 in the ring 0.7 < r < 1: a gap the noise rarely crosses.
      const r = label === 0 ? 0.5 * rng.uniform() : 0.7 + 0.3 * rng.uniform();
      return [r * Math.sin(angle), r * Math.cos(angle)];
    }
    case 'xor': {
      const pad = 0.05;
      let a = 2 * rng.uniform() - 1;
      let b = 2 * rng.uniform() - 1;
      a += a > 0 ? pad : -pad;
      b += b > 0 ? pad : -pad;
      // Class 0 where the signs agree.
      if (a * b > 0 !== (label === 0)) b = -b;
      return [a / (1 + pad), b / (1 + pad)];
    }
    case 'spiral': {
      const r = rng.uniform();
      const t = 1.75 * r * 2 * Math.PI + (label === 0 ? 0 : Math.PI);
      return [r * Math.sin(t), r * Math.cos(t)];
    }
    case 'gaussians': {
      const c = label === 0 ? 0.5 : -0.5;
      return [c + 0.2 * rng.normal(), c + 0.2 * rng.normal()];
    }
  }
}

/** Balanced, shuffled samples with uniform input noise ± `noise` per coordinate. */
function planeSplit(task: PlaneTask, count: number, noise: number, rng: Rng): Split {
  const x = new Float32Array(count * 2);
  const labels = new Uint8Array(count);
  const order = rng.permutation(count);
  for (let i = 0; i < count; i++) {
    const label = order[i] % 2;
    const [a, b] = planePoint(task, label, rng);
    x[2 * i] = a + noise * (2 * rng.uniform() - 1);
    x[2 * i + 1] = b + noise * (2 * rng.uniform() - 1);
    labels[i] = label;
  }
  return { count, x, labels, target: oneHot(labels, 2) };
}

export function planeDataset(
  task: PlaneTask,
  trainSize: number,
  testSize: number,
  noise: number,
  rng: Rng,
): Dataset {
  return {
    task,
    m: 2,
    k: 2,
    loss: 'cross-entropy',
    classification: true,
    train: planeSplit(task, trainSize, noise, rng.stream('train')),
    test: planeSplit(task, testSize, noise, rng.stream('test')),
  };
}

/** One fixed pattern: x ~ N(0, I), target ~ U(−0.8, 0.8)ᵏ; the test set is the same sample. */
export function patternDataset(m: number, k: number, rng: Rng): Dataset {
  const x = rng.fillNormal(new Float32Array(m));
  const target = new Float32Array(k).map(() => 1.6 * rng.uniform() - 0.8);
  const split: Split = { count: 1, x, target };
  return { task: 'pattern', m, k, loss: 'mse', classification: false, train: split, test: split };
}

/**
 * Teacher–student regression: targets from a random teacher t = D_t tanh(U_t x + b_t) with
 * 2k + 4 hidden units; x ~ N(0, I).
 */
export function teacherDataset(
  m: number,
  k: number,
  trainSize: number,
  testSize: number,
  rng: Rng,
): Dataset {
  const h = 2 * k + 4;
  const teacher = rng.stream('teacher');
  const U = teacher.fillNormal(new Float64Array(h * m), 1.5 / Math.sqrt(m));
  const b = teacher.fillNormal(new Float64Array(h), 0.3);
  const D = teacher.fillNormal(new Float64Array(k * h), 1 / Math.sqrt(h));
  const split = (count: number, r: Rng): Split => {
    const x = r.fillNormal(new Float32Array(count * m));
    const target = new Float32Array(count * k);
    const hidden = new Float64Array(h);
    for (let s = 0; s < count; s++) {
      for (let i = 0; i < h; i++) {
        let v = b[i];
        for (let j = 0; j < m; j++) v += U[i * m + j] * x[s * m + j];
        hidden[i] = Math.tanh(v);
      }
      for (let o = 0; o < k; o++) {
        let v = 0;
        for (let i = 0; i < h; i++) v += D[o * h + i] * hidden[i];
        target[s * k + o] = v;
      }
    }
    return { count, x, target };
  };
  return {
    task: 'teacher',
    m,
    k,
    loss: 'mse',
    classification: false,
    train: split(trainSize, rng.stream('train')),
    test: split(testSize, rng.stream('test')),
  };
}
