/**
 * What the digits chapters show besides training: the test set's confusion matrix after an
 * epoch, and the network's free and controlled response to one image (a digit drawn on the pad).
 */
import { presentation, type DynState } from './dynamics';
import { DivergenceError } from './errors';
import { controlsAt } from './learning';
import { meanHalfSquaredNorm } from './metrics';
import type { Sliced } from './sliced';
import type { Trainer } from './trainer';
import { readFloats, tf, type Tensor } from './tf';

/**
 * The k×k confusion matrix, row-major: entry [t·k + p] counts the samples of true class t that
 * were predicted as p (the diagonal holds the right ones).
 */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  k: number,
): Uint32Array {
  if (labels.length !== predictions.length)
    throw new RangeError(`${labels.length} labels but ${predictions.length} predictions`);
  const out = new Uint32Array(k * k);
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predictions[i];
    if (t < 0 || t >= k || p < 0 || p >= k) throw new RangeError(`class out of 0…${k - 1}`);
    out[t * k + p]++;
  }
  return out;
}

/** The test split measured after an epoch: loss, accuracy and the confusion matrix. */
export interface TestEvaluation {
  epoch: number;
  updates: number;
  loss: number;
  accuracy: number;
  /** Classes, and the k×k confusion matrix (see confusionMatrix), as plain numbers. */
  k: number;
  confusion: number[];
}

/** The network's answer to one image: free equilibrium, and controlled toward a class. */
export interface DigitResponse {
  /** Output y⁰ at the free equilibrium, softmax(y⁰), and its arg max. */
  freeScores: number[];
  freeProbs: number[];
  prediction: number;
  /** The class the controlled equilibrium is driven to (the one asked for, else `prediction`). */
  target: number;
  /** Output y* and softmax(y*) at the controlled equilibrium, ½‖ψ*‖² and ½‖u*‖²; null (with
   *  the reason) when the controlled dynamics diverge. */
  controlledScores: number[] | null;
  controlledProbs: number[] | null;
  controlPsi: number;
  controlU: number;
  controlError: string | null;
}

function softmax(v: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]);
  const e = Array.from(v, (x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

function argMax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * The free equilibrium φ⁰ of input `x` (one sample, m values as the dataset has them) with the
 * trainer's solver — RBP's for an RBP network, as evaluation uses — then the controlled one
 * from φ⁰ toward the one-hot target `target` (default: the free prediction), and the control
 * ½‖ψ*‖² it needs there. Throws DivergenceError when there is no free equilibrium.
 */
export function* digitResponseSliced(
  trainer: Trainer,
  x: Float32Array,
  target: number | null,
): Sliced<DigitResponse> {
  const { m, k, loss } = trainer.data;
  if (x.length !== m) throw new RangeError(`the image has ${x.length} values, expected ${m}`);
  if (target !== null && !(Number.isInteger(target) && target >= 0 && target < k))
    throw new RangeError(`target class ${target} is not in 0…${k - 1}`);
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  const ownState = (s: DynState): DynState => {
    owned.push(s.phi, s.y, s.uI, s.psi);
    return s;
  };
  try {
    const xs = own(tf.tensor2d(x, [1, m]));
    const free = presentation(trainer.net, xs, own(tf.zeros([1, k])), loss);
    own(free.drive);
    const solver = trainer.config.method === 'rbp' ? trainer.rbpSolver : trainer.solver;
    const freeState = ownState((yield* trainer.freeEquilibriumSliced(free, solver)).state);
    const freeScores = Array.from(readFloats(freeState.y));
    const prediction = argMax(freeScores);
    const goal = target ?? prediction;
    const oneHot = new Float32Array(k);
    oneHot[goal] = 1;
    const controlledP = { ...free, target: own(tf.tensor2d(oneHot, [1, k])) };
    const out: DigitResponse = {
      freeScores,
      freeProbs: softmax(freeScores),
      prediction,
      target: goal,
      controlledScores: null,
      controlledProbs: null,
      controlPsi: NaN,
      controlU: NaN,
      controlError: null,
    };
    let controlled: DynState;
    try {
      controlled = ownState(
        (yield* trainer.controlledEquilibriumSliced(controlledP, freeState)).state,
      );
    } catch (e) {
      if (!(e instanceof DivergenceError)) throw e;
      return {
        ...out,
        controlError: `${e.phase} dynamics diverged at step ${e.step}: ${e.reason}`,
      };
    }
    const c = controlsAt(trainer.net, trainer.ctrl, controlledP, controlled);
    own(c.u);
    own(c.psi);
    out.controlledScores = Array.from(readFloats(controlled.y));
    out.controlledProbs = softmax(out.controlledScores);
    out.controlPsi = meanHalfSquaredNorm(c.psi);
    out.controlU = meanHalfSquaredNorm(c.u);
    return out;
  } finally {
    tf.dispose(owned);
  }
}
