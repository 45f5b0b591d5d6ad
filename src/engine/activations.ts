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

export { rateScalar, slopeScalar } from './scalarActivations';
