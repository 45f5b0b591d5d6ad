import { tf, type Tensor } from './tf';

import type { LossKind } from './kinds';

export { LOSSES, type LossKind } from './kinds';

/**
 * Targets are always a [B, k] tensor: the target vector for `mse`, the one-hot class for
 * `cross-entropy`.
 */

/** Per-sample loss ℓ(y) [B]: mse ½‖y − t‖²; cross-entropy −Σ t log softmax(y). */
export function lossPerSample(kind: LossKind, y: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => {
    if (kind === 'mse') return tf.mul(0.5, tf.sum(tf.square(tf.sub(y, target)), -1));
    return tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(y)), -1));
  });
}

/** ∂ℓ/∂y [B, k]: mse y − t; cross-entropy softmax(y) − t. */
export function lossGradient(kind: LossKind, y: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => (kind === 'mse' ? tf.sub(y, target) : tf.sub(tf.softmax(y), target)));
}

/** Per-sample correctness [B] (1 or 0): argmax match for classification, sign match otherwise. */
export function correctPerSample(kind: LossKind, y: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => {
    if (kind === 'cross-entropy')
      return tf.cast(tf.equal(tf.argMax(y, -1), tf.argMax(target, -1)), 'float32');
    if (y.shape[1] === 1)
      return tf.reshape(tf.cast(tf.equal(tf.sign(y), tf.sign(target)), 'float32'), [-1]);
    return tf.cast(tf.equal(tf.argMax(y, -1), tf.argMax(target, -1)), 'float32');
  });
}
