/**
 * Adam's constants and moments (Kingma & Ba 2015, with torch's defaults), shared by every Adam in
 * the engine: the optimiser on the weights, the energy controller on the states, and the
 * meta-learning rules. Each keeps its own step — where the learning rate and the bias corrections
 * enter — as the code it follows writes it.
 */
import { tf, type Tensor } from './tf';

export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** m′ = β₁m + (1 − β₁)g and v′ = β₂v + (1 − β₂)g² (m, v absent: zeros). */
export function adamMoments(
  g: Tensor,
  m: Tensor | null,
  v: Tensor | null,
): { m: Tensor; v: Tensor } {
  return tf.tidy(() => ({
    m: tf.add(tf.mul(ADAM.beta1, m ?? tf.zerosLike(g)), tf.mul(1 - ADAM.beta1, g)),
    v: tf.add(tf.mul(ADAM.beta2, v ?? tf.zerosLike(g)), tf.mul(1 - ADAM.beta2, tf.square(g))),
  }));
}
