import { ADAM, adamMoments } from './adam';
import type { TrainConfig } from './config';
import { DivergenceError } from './errors';
import { fusedAdamStep } from './kernels';
import { applyMask, isMasked, type Network, type ParamName } from './model';
import { tf, type Tensor } from './tf';

/** An ascent direction per parameter (the LCP update or −∇L), before the learning rate. */
export type Direction = Partial<Record<ParamName, Tensor>>;

/** Cosine decay from lr to lrFinal over `total` updates, or a constant rate. */
export function learningRate(
  config: Pick<TrainConfig, 'lr' | 'lrFinal' | 'schedule'>,
  update: number,
  total: number,
): number {
  if (config.schedule === 'constant' || total <= 1) return config.lr;
  const t = Math.min(1, update / (total - 1));
  return config.lrFinal + 0.5 * (config.lr - config.lrFinal) * (1 + Math.cos(Math.PI * t));
}

/**
 * SGD or Adam on an ascent direction, with gradient-norm clipping (over the direction's
 * network parameters W, U, b, D, d; feedback weights are scaled by the same factor) and weight
 * decay (subtracted from the direction after clipping, as torch's optimisers do).
 */
export class Optimizer {
  private moments = new Map<ParamName, { m: Tensor; v: Tensor }>();
  private t = 0;

  constructor(
    private readonly config: Pick<TrainConfig, 'optimizer' | 'weightDecay' | 'clip'> &
      Partial<Pick<TrainConfig, 'biases'>>,
  ) {}

  /**
   * The direction's norm over W, U, b, D, d (read back once); b counts `biases` times (two
   * biases with the same update, as clipping over the reference's parameters sees them).
   */
  static norm(direction: Direction, biases = 1): number {
    const names = (['W', 'U', 'b', 'D', 'd'] as const).filter((n) => direction[n]);
    const s = tf.tidy(() =>
      tf.addN(names.map((n) => tf.mul(n === 'b' ? biases : 1, tf.sum(tf.square(direction[n]!))))),
    );
    const v = s.dataSync()[0];
    s.dispose();
    return Math.sqrt(v);
  }

  /**
   * θ ← θ + lr · step(direction), in place on net.params (masked). Throws DivergenceError, with
   * nothing applied, when the direction is not finite. Returns the applied step per parameter
   * (for the weights view; the caller disposes it) and the direction's norm as clipping saw it
   * (Optimizer.norm with the config's biases).
   */
  apply(net: Network, direction: Direction, lr: number): { applied: Direction; norm: number } {
    const biases = this.config.biases ?? 1;
    const norm = Optimizer.norm(direction, biases);
    if (!Number.isFinite(norm)) throw new DivergenceError('update', this.t, 'non-finite update');
    const scale = this.config.clip > 0 && norm > this.config.clip ? this.config.clip / norm : 1;
    this.t++;
    const applied: Direction = {};
    for (const [name, dir] of Object.entries(direction) as [ParamName, Tensor][]) {
      const param = net.params[name]!;
      // Two biases b_U + b_W = b receive the same update and (from equal moments) the same
      // step: b moves by their sum. Exact without weight decay (with it, each would decay alone).
      const copies = name === 'b' ? biases : 1;
      const c1 = 1 - Math.pow(ADAM.beta1, this.t);
      const c2 = 1 - Math.pow(ADAM.beta2, this.t);
      const prev = this.moments.get(name);
      // Adam in one pass where the backend has it (the same bits as the ops below).
      const fused =
        this.config.optimizer === 'adam' && !isMasked(net.masks, name)
          ? fusedAdamStep(param, dir, prev?.m ?? null, prev?.v ?? null, {
              scale,
              decay: this.config.weightDecay,
              rate: copies * lr,
              c1,
              c2,
            })
          : null;
      let step: Tensor;
      if (fused) {
        const [next, fusedStep, m, v] = fused;
        this.replaceMoments(name, m, v);
        net.params[name] = next;
        step = fusedStep;
      } else {
        step = tf.tidy(() => {
          let g = scale === 1 ? dir : tf.mul(scale, dir);
          if (this.config.weightDecay > 0) g = tf.sub(g, tf.mul(this.config.weightDecay, param));
          if (this.config.optimizer === 'sgd')
            return applyMask(net.masks, name, tf.mul(copies * lr, g));
          const { m, v } = adamMoments(g, prev?.m ?? null, prev?.v ?? null);
          this.replaceMoments(name, m, v);
          const adam = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), ADAM.eps));
          return applyMask(net.masks, name, tf.mul(copies * lr, adam));
        });
        net.params[name] = tf.add(param, step);
      }
      param.dispose();
      applied[name] = step;
    }
    return { applied, norm };
  }

  /** A parameter's new Adam moments, kept past any tidy; the old ones are disposed. */
  private replaceMoments(name: ParamName, m: Tensor, v: Tensor): void {
    const prev = this.moments.get(name);
    if (prev) tf.dispose([prev.m, prev.v]);
    this.moments.set(name, { m: tf.keep(m), v: tf.keep(v) });
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }
}
