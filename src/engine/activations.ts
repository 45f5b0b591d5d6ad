import { tf, type Tensor } from './tf';

import type { Activation } from './kinds';

export { ACTIVATIONS, type Activation } from './kinds';

/** Rate ρ(φ). */
export function rate(act: Activation, phi: Tensor): Tensor {
  switch (act) {
    case 'tanh':
      return tf.tanh(phi);
    case 'sigmoid':
      return tf.sigmoid(phi);
    case 'linear':
      // A new handle on the same data, so that disposing the rate never disposes φ.
      return tf.clone(phi);
    case 'softplus':
      return tf.softplus(phi);
  }
}

/** Slope ρ'(φ); `r` is ρ(φ) when the caller has it (tanh: 1 − r², sigmoid: r(1 − r)). */
export function slope(act: Activation, phi: Tensor, r: Tensor = rate(act, phi)): Tensor {
  switch (act) {
    case 'tanh':
      return tf.sub(1, tf.square(r));
    case 'sigmoid':
      return tf.mul(r, tf.sub(1, r));
    case 'linear':
      return tf.onesLike(phi);
    case 'softplus':
      return tf.sigmoid(phi);
  }
}

/** Scalar ρ and ρ' in float64, for code that works on plain arrays (metrics, tests). */
export function rateScalar(act: Activation, v: number): number {
  switch (act) {
    case 'tanh':
      return Math.tanh(v);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'linear':
      return v;
    case 'softplus':
      return v > 30 ? v : Math.log1p(Math.exp(v));
  }
}

export function slopeScalar(act: Activation, v: number): number {
  switch (act) {
    case 'tanh': {
      const t = Math.tanh(v);
      return 1 - t * t;
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-v));
      return s * (1 - s);
    }
    case 'linear':
      return 1;
    case 'softplus':
      return 1 / (1 + Math.exp(-v));
  }
}
