/**
 * The one place that imports TensorFlow.js for the engine. The CPU backend is always registered
 * (Node, tests, CLI, fallback); the worker registers WebGL and WASM itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

// Production mode: skips per-op debug checks and the tfjs-node advertisement that the CPU backend
// would print on stderr in Node (stderr carries the CLI's one-line errors).
tf.enableProdMode();

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;

/** Select a backend and wait for it; the CPU backend needs nothing else. */
export async function selectBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend "${name}" could not be initialised`);
  await tf.ready();
}

/** A copy of a float tensor's values (synchronous: CPU and WASM, or a deliberate read-back). */
export function readFloats(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync());
}
