/**
 * Why dynamics diverged, from the configuration and what the run knew just before, with one fix
 * a user can apply in a click. Pure: no tfjs, so the page may use it too.
 */
import type { TrainConfig } from './config';

/** What the run knew when it diverged. */
export interface DivergenceContext {
  /** Which solve blew up: 'free', 'controlled', 'energy', 'adjoint (RBP)', 'update', … */
  phase: string;
  /** Was the last update rolled back because the solves after it diverged? */
  restored: boolean;
  /** ρ(W diag ρ′) at the last free equilibrium (NaN when unknown). */
  spectralRadius: number;
  /** Updates applied so far (0: the network is as initialised). */
  updates: number;
}

/** A change of configuration that should cure it, and how to say it on a button. */
export interface DivergenceFix {
  label: string;
  changes: Partial<TrainConfig>;
}

export interface Diagnosis {
  /** The likely cause, one sentence with the numbers that show it. */
  cause: string;
  fix: DivergenceFix | null;
}

const fmt = (v: number) => String(Number(v.toPrecision(3)));

function halveDt(config: TrainConfig): DivergenceFix {
  return {
    label: `Halve dt (${fmt(config.dt)} → ${fmt(config.dt / 2)})`,
    changes: { dt: config.dt / 2 },
  };
}

/**
 * The likeliest cause, checked in this order: an Euler step too large for a block's time constant
 * (dt/τ ≥ 1, or dt·α/τ_u ≥ 1 for the output integrator); an update that made the network
 * unstable (a learning-rate blow-up); a free network without a stable equilibrium
 * (ρ(W diag ρ′) ≥ 1, from the gain); linear units, which nothing bounds; else the control loop.
 */
export function diagnoseDivergence(config: TrainConfig, ctx: DivergenceContext): Diagnosis {
  const controlled = ctx.phase !== 'free' && ctx.phase !== 'adjoint (RBP)';
  const ratios: [string, number][] = [
    ['dt/τ_φ', config.dt / config.tauPhi],
    ['dt/τ_y', config.dt / config.tauY],
  ];
  if (controlled) {
    ratios.push(
      ['dt/τ_ψ', config.dt / config.tauPsi],
      ['dt·α/τ_u', (config.dt * config.alpha) / config.tauU],
    );
  }
  const [name, worst] = ratios.reduce((a, b) => (b[1] > a[1] ? b : a));
  if (worst >= 1) {
    return {
      cause: `${name} = ${fmt(worst)} ≥ 1: each Euler step overshoots the state it relaxes to.`,
      fix: halveDt(config),
    };
  }
  if (ctx.restored) {
    const lower = config.lr / 10;
    return {
      cause: `the last update (learning rate η = ${fmt(config.lr)}) made the network unstable; the weights from before it are restored.`,
      fix: { label: `Lower η (${fmt(config.lr)} → ${fmt(lower)})`, changes: { lr: lower } },
    };
  }
  if (ctx.spectralRadius >= 1) {
    const gain = config.gain / 2;
    return {
      cause: `ρ(W diag ρ′) = ${fmt(ctx.spectralRadius)} ≥ 1: the free network has no stable equilibrium.`,
      fix:
        ctx.updates === 0
          ? {
              label: `Lower the gain g (${fmt(config.gain)} → ${fmt(gain)}, new weights)`,
              changes: { gain },
            }
          : {
              label: `Lower η (${fmt(config.lr)} → ${fmt(config.lr / 10)})`,
              changes: { lr: config.lr / 10 },
            },
    };
  }
  if (config.activation === 'linear') {
    return {
      cause: 'linear units are unbounded: with this gain their activity grows without limit.',
      fix: { label: 'Use tanh units', changes: { activation: 'tanh' } },
    };
  }
  if (controlled) {
    return {
      cause: `the output-control loop is unstable at dt·α/τ_u = ${fmt((config.dt * config.alpha) / config.tauU)}, k_i = ${fmt(config.ki)} (it can be, below 1).`,
      fix: halveDt(config),
    };
  }
  return { cause: 'the free dynamics blew up.', fix: halveDt(config) };
}
