import { bpGradient } from '../../src/engine/baselines';
import { presentation } from '../../src/engine/dynamics';
import { disposeNetwork, layeredMasks, networkFromArrays } from '../../src/engine/model';
import { tf } from '../../src/engine/tf';
import { randomScenario } from './randomScenario';

function toMatrix(a: Float32Array, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from(a.subarray(i * cols, (i + 1) * cols)));
}

/** A random layered scenario and its backpropagation gradient, computed layer by layer. */
export async function layeredNetwork(layers: number[], m: number, k: number, seed: number) {
  const n = layers.reduce((a, b) => a + b, 0);
  const base = randomScenario({ n, m, k, seed, gain: 1.5, tol: 1e-8 });
  const masks = layeredMasks(layers, m, k);
  const s = {
    ...base,
    model: {
      ...base.model,
      mask: toMatrix(masks.W, n, n),
      maskU: toMatrix(masks.U, n, m),
      maskD: toMatrix(masks.D, k, n),
    },
  };
  const net = networkFromArrays(s.model);
  const x = tf.tensor2d([s.x]);
  const target = tf.tensor2d([s.target as number[]]);
  const p = presentation(net, x, target, 'mse');
  const result = bpGradient(net, layers.length, p);
  const bp = {
    W: result.descent.W.arraySync() as number[][],
    U: result.descent.U.arraySync() as number[][],
    b: Array.from(result.descent.b.dataSync()),
    D: result.descent.D.arraySync() as number[][],
    d: Array.from(result.descent.d.dataSync()),
  };
  tf.dispose([x, target, p.drive, result.phi, result.y, ...Object.values(result.descent)]);
  disposeNetwork(net);
  return { s, bp };
}
