/**
 * The gradients of the few tfjs kernels the meta-learning system differentiates through
 * (tfjs-core registers none by itself; its own register_all_gradients cannot be loaded from
 * Node's CommonJS build the CLI and the tests use). First order is all it needs: the network's
 * loss gradient is written out by hand (sinusoidNet.ts), and autodiff supplies vector–Jacobian
 * products of f(w, ω) = −∇L(w) − λ(w − ω), i.e. Hessian–vector products. Registered once, only
 * for kernels that have none yet (so tfjs's own, if an app loads them, stay).
 */
import { tf, type Tensor } from '../tf';

/** Gradient thunks by input name (Concat's inputs are named by their index). */
type Grads = Record<string, () => Tensor>;

/** Sum `dy` over the axes broadcasting added, back to `shape`. */
function unbroadcast(dy: Tensor, shape: number[]): Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  return tf.reshape(axes.length ? tf.sum(dy, axes) : dy, shape);
}

const CONFIGS: tf.GradConfig[] = [
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]): Grads => ({
      a: () => unbroadcast(dy as Tensor, a.shape),
      b: () => unbroadcast(dy as Tensor, b.shape),
    }),
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]): Grads => ({
      a: () => unbroadcast(dy as Tensor, a.shape),
      b: () => tf.neg(unbroadcast(dy as Tensor, b.shape)),
    }),
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]): Grads => ({
      a: () => unbroadcast(tf.mul(dy as Tensor, b), a.shape),
      b: () => unbroadcast(tf.mul(dy as Tensor, a), b.shape),
    }),
  },
  {
    // Σᵢ xᵢ: each input gets dy (inputs named by their index).
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved): Grads =>
      Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(dy as Tensor)])),
  },
  {
    kernelName: 'Neg',
    gradFunc: (dy): Grads => ({ x: () => tf.neg(dy as Tensor) }),
  },
  {
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]): Grads => ({ x: () => tf.mul(dy as Tensor, tf.mul(x, 2)) }),
  },
  {
    // d tanh(x) = (1 − y²) dx with y the saved output.
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dy, [y]): Grads => ({
      x: () => tf.mul(dy as Tensor, tf.sub(1, tf.square(y))),
    }),
  },
  {
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]): Grads => ({ x: () => tf.reshape(dy as Tensor, x.shape) }),
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs): Grads => {
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      return { x: () => tf.mul(tf.reshape(dy as Tensor, kept), tf.onesLike(x)) };
    },
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs): Grads => {
      const begin = attrs.begin as number[];
      const g = dy as Tensor;
      const pads = x.shape.map((d, i): [number, number] => [begin[i], d - begin[i] - g.shape[i]]);
      return { x: () => tf.pad(g, pads) };
    },
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs): Grads => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0].shape)[0];
      const parts = tf.split(
        dy as Tensor,
        saved.map((t) => t.shape[axis]),
        axis,
      );
      return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
    },
  },
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs): Grads => {
      const g = dy as Tensor;
      const tA = attrs.transposeA as boolean;
      const tB = attrs.transposeB as boolean;
      // C = op(A) op(B): dA = dC op(B)ᵀ (transposed back if A was), likewise dB.
      if (!tA && !tB)
        return { a: () => tf.matMul(g, b, false, true), b: () => tf.matMul(a, g, true, false) };
      if (!tA && tB) return { a: () => tf.matMul(g, b), b: () => tf.matMul(g, a, true, false) };
      if (tA && !tB) return { a: () => tf.matMul(b, g, false, true), b: () => tf.matMul(a, g) };
      return { a: () => tf.matMul(b, g, true, true), b: () => tf.matMul(g, a, true, true) };
    },
  },
];

let registered = false;

/** Register the gradients above (once; a kernel that already has one keeps it). */
export function registerMetaGradients(): void {
  if (registered) return;
  registered = true;
  for (const config of CONFIGS) {
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  }
}
