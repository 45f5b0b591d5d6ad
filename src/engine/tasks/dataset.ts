import type { LossKind } from '../losses';

/** Samples of one split, row-major: x [count, m], target [count, k] (one-hot for classes). */
export interface Split {
  count: number;
  x: Float32Array;
  target: Float32Array;
  /** Class index per sample (classification only). */
  labels?: Uint8Array;
}

export interface Dataset {
  task: string;
  m: number;
  k: number;
  loss: LossKind;
  classification: boolean;
  train: Split;
  test: Split;
  /** For images: rows × cols of the input (MNIST); for 2-D tasks: the data extent ±1. */
  image?: { rows: number; cols: number };
}

/** Rows `indices` of a split, copied into fresh arrays. */
export function selectRows(split: Split, indices: ArrayLike<number>, m: number, k: number): Split {
  const count = indices.length;
  const x = new Float32Array(count * m);
  const target = new Float32Array(count * k);
  const labels = split.labels ? new Uint8Array(count) : undefined;
  for (let r = 0; r < count; r++) {
    const i = indices[r];
    x.set(split.x.subarray(i * m, (i + 1) * m), r * m);
    target.set(split.target.subarray(i * k, (i + 1) * k), r * k);
    if (labels && split.labels) labels[r] = split.labels[i];
  }
  return { count, x, target, labels };
}

export function oneHot(labels: Uint8Array, k: number): Float32Array {
  const out = new Float32Array(labels.length * k);
  for (let i = 0; i < labels.length; i++) out[i * k + labels[i]] = 1;
  return out;
}
