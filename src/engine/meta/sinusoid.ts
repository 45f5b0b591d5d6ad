/**
 * Few-shot sinusoid regression (Finn et al. 2017's benchmark): a task is y = A sin(x − φ) with
 * amplitude A ~ U(0.1, 5) and phase φ ~ U(0, π), inputs x ~ U(−5, 5); K support points to adapt
 * to and a query set to judge the adapted network by. The learner is a 1-n-n-1 tanh network
 * whose weights w are the fast weights of one task; the weights of a batch of T tasks are six
 * blocks with the task on axis 0, computed with batched matrix products:
 *   W1 [T, 1, n], b1 [T, 1, n], W2 [T, n, n], b2 [T, 1, n], W3 [T, n, 1], b3 [T, 1, 1],
 * h1 = tanh(x W1 + b1), h2 = tanh(h1 W2 + b2), y = h2 W3 + b3 for a column of inputs x [T, N, 1]
 * (P = n + n + n² + n + n + 1 weights per task; 1,761 for n = 40). Blocks, not one flat row:
 * tfjs's CPU backend slices a row's columns element by element (tens of ms per step).
 */
import type { Rng } from '../rng';
import { tf, type Tensor } from '../tf';
import {
  scale,
  sub,
  type Blocks,
  type EquilibriumSystem,
  type StateLoss,
} from './equilibriumSystem';

export const AMPLITUDE: readonly [number, number] = [0.1, 5];
export const PHASE: readonly [number, number] = [0, Math.PI];
export const INPUT_RANGE: readonly [number, number] = [-5, 5];

/** A batch of T tasks: support and query inputs and targets, [T, K, 1] as flat rows. */
export interface TaskBatch {
  count: number;
  amplitude: Float32Array;
  phase: Float32Array;
  shots: number;
  queries: number;
  /** [T·K] support inputs and targets, [T·K_q] query inputs and targets. */
  xs: Float32Array;
  ys: Float32Array;
  xq: Float32Array;
  yq: Float32Array;
}

export function sinusoid(amplitude: number, phase: number, x: number): number {
  return amplitude * Math.sin(x - phase);
}

/** T tasks from `rng`: amplitude, phase, then K support and K_q query inputs per task. */
export function sampleTasks(rng: Rng, count: number, shots: number, queries: number): TaskBatch {
  const [a0, a1] = AMPLITUDE;
  const [p0, p1] = PHASE;
  const [x0, x1] = INPUT_RANGE;
  const b: TaskBatch = {
    count,
    amplitude: new Float32Array(count),
    phase: new Float32Array(count),
    shots,
    queries,
    xs: new Float32Array(count * shots),
    ys: new Float32Array(count * shots),
    xq: new Float32Array(count * queries),
    yq: new Float32Array(count * queries),
  };
  for (let t = 0; t < count; t++) {
    const A = a0 + (a1 - a0) * rng.uniform();
    const phi = p0 + (p1 - p0) * rng.uniform();
    b.amplitude[t] = A;
    b.phase[t] = phi;
    for (let k = 0; k < shots; k++) {
      const x = x0 + (x1 - x0) * rng.uniform();
      b.xs[t * shots + k] = x;
      b.ys[t * shots + k] = sinusoid(A, phi, x);
    }
    for (let k = 0; k < queries; k++) {
      const x = x0 + (x1 - x0) * rng.uniform();
      b.xq[t * queries + k] = x;
      b.yq[t * queries + k] = sinusoid(A, phi, x);
    }
  }
  return b;
}

/** The 1-n-n-1 tanh network: its block shapes and its computations on a batch of weights. */
export class SinusoidNet {
  /** Shapes of the blocks without the batch axis: W1, b1, W2, b2, W3, b3. */
  readonly shapes: [number, number][];
  readonly paramCount: number;

  constructor(readonly hidden: number) {
    const n = hidden;
    this.shapes = [
      [1, n],
      [1, n],
      [n, n],
      [1, n],
      [n, 1],
      [1, 1],
    ];
    this.paramCount = this.shapes.reduce((a, [r, c]) => a + r * c, 0);
  }

  /**
   * PyTorch's default nn.Linear initialisation, U(±1/√fan-in) for weights and biases (fan-in 1,
   * n, n), as MAML's sinusoid networks are usually initialised; one flat array in block order.
   */
  init(rng: Rng): Float32Array {
    const w = new Float32Array(this.paramCount);
    const fanIn = [1, 1, this.hidden, this.hidden, this.hidden, this.hidden];
    let at = 0;
    this.shapes.forEach(([r, c], i) => {
      const bound = 1 / Math.sqrt(fanIn[i]);
      for (let j = 0; j < r * c; j++) w[at++] = bound * (2 * rng.uniform() - 1);
    });
    return w;
  }

  /** A flat array (block order) as blocks [count, r, c] (the same weights in every row). */
  blocks(flat: Float32Array, count = 1): Blocks {
    let at = 0;
    return this.shapes.map(([r, c]) => {
      const part = flat.subarray(at, at + r * c);
      at += r * c;
      const one = tf.tensor3d(part, [1, r, c]);
      if (count === 1) return one;
      const many = tf.tile(one, [count, 1, 1]);
      one.dispose();
      return many;
    });
  }

  /** Blocks [T, r, c] as T flat rows (block order), read back. */
  flat(w: Blocks): Float32Array[] {
    const T = w[0].shape[0];
    const rows = Array.from({ length: T }, () => new Float32Array(this.paramCount));
    let at = 0;
    w.forEach((b, i) => {
      const [r, c] = this.shapes[i];
      const size = r * c;
      const data = b.dataSync();
      for (let t = 0; t < T; t++) rows[t].set(data.subarray(t * size, (t + 1) * size), at);
      at += size;
    });
    return rows;
  }

  /*
   * tfjs's CPU backend broadcasts element by element (≈ 0.3 µs each) and sums over a middle axis
   * through a transpose, while its batched matrix product is fast: bias additions are written as
   * products with a column of ones (1 b, a rank-one [N, n]) and bias gradients as 1ᵀ δ.
   */
  private forward(w: Blocks, x: Tensor): { h1: Tensor; h2: Tensor; y: Tensor; ones: Tensor } {
    const [W1, b1, W2, b2, W3, b3] = w;
    const ones = tf.onesLike(x);
    const h1 = tf.tanh(tf.add(tf.matMul(x, W1), tf.matMul(ones, b1)));
    const h2 = tf.tanh(tf.add(tf.matMul(h1, W2), tf.matMul(ones, b2)));
    const y = tf.add(tf.matMul(h2, W3), tf.matMul(ones, b3));
    return { h1, h2, y, ones };
  }

  /** y [T, N, 1] for inputs x [T, N, 1]. */
  predict(w: Blocks, x: Tensor): Tensor {
    return this.forward(w, x).y;
  }

  /**
   * L(w) = (1/N) Σ_k (y_k − t_k)² per task [T] and its gradient, by backpropagation written out
   * (e = 2(y − t)/N, δ₂ = (e W3ᵀ) ⊙ (1 − h2²), δ₁ = (δ₂ W2ᵀ) ⊙ (1 − h1²)), so that autodiff of
   * it gives Hessian–vector products.
   */
  lossAndGradient(w: Blocks, x: Tensor, t: Tensor): { loss: Tensor; grad: Blocks } {
    const N = x.shape[1]!;
    const { h1, h2, y, ones } = this.forward(w, x);
    const W2 = w[2];
    const W3 = w[4];
    const diff = tf.sub(y, t);
    const loss = tf.mul(tf.reshape(tf.matMul(diff, diff, true, false), [-1]), 1 / N);
    const e = tf.mul(diff, 2 / N);
    const d2 = tf.mul(tf.matMul(e, W3, false, true), tf.sub(1, tf.square(h2)));
    const d1 = tf.mul(tf.matMul(d2, W2, false, true), tf.sub(1, tf.square(h1)));
    const grad = [
      tf.matMul(x, d1, true, false),
      tf.matMul(ones, d1, true, false),
      tf.matMul(h1, d2, true, false),
      tf.matMul(ones, d2, true, false),
      tf.matMul(h2, e, true, false),
      tf.matMul(ones, e, true, false),
    ];
    return { loss, grad };
  }

  /** Per-task MSE [T]. */
  loss(w: Blocks, x: Tensor, t: Tensor): Tensor {
    const N = x.shape[1]!;
    const diff = tf.sub(this.predict(w, x), t);
    return tf.mul(tf.reshape(tf.matMul(diff, diff, true, false), [-1]), 1 / N);
  }
}

/** A column tensor [T, N, 1] from flat rows. */
export function columns(values: Float32Array, count: number): Tensor {
  return tf.tensor3d(values, [count, values.length / count, 1]);
}

/** The tensors of a task batch (the caller disposes them). */
export interface TaskTensors {
  xs: Tensor;
  ys: Tensor;
  xq: Tensor;
  yq: Tensor;
}

export function taskTensors(b: TaskBatch): TaskTensors {
  return {
    xs: columns(b.xs, b.count),
    ys: columns(b.ys, b.count),
    xq: columns(b.xq, b.count),
    yq: columns(b.yq, b.count),
  };
}

export function disposeTasks(t: TaskTensors): void {
  t.xs.dispose();
  t.ys.dispose();
  t.xq.dispose();
  t.yq.dispose();
}

/**
 * The fast weights of a batch of tasks as an equilibrium system:
 *   ẇ = f(w, ω) = −∇L_support(w) − λ(w − ω),
 * whose equilibrium w*(ω) minimises L_support(w) + (λ/2)‖w − ω‖² (the adapted solution).
 * θ = Ω is ω repeated for every task (tileRows; shaped like w: no broadcasting in the step), so
 * (∂f/∂Ω)ᵀv is per task and sums to (∂f/∂ω)ᵀv. ∂f/∂w = −(H_support + λI), ∂f/∂ω = λI.
 */
export class FastWeights implements EquilibriumSystem {
  constructor(
    readonly net: SinusoidNet,
    readonly tasks: TaskTensors,
    readonly lambda: number,
  ) {}

  f(w: Blocks, omega: Blocks): Blocks {
    const { grad } = this.net.lossAndGradient(w, this.tasks.xs, this.tasks.ys);
    return sub(scale(sub(omega, w), this.lambda), grad);
  }

  /** The query loss per task and its gradient (what the controller drives down). */
  readonly query: StateLoss = (w) => this.net.lossAndGradient(w, this.tasks.xq, this.tasks.yq);
}
