/**
 * The meta-learning presets (`lcp -- train NAME`): issue 14's comparison, the same budget for
 * the three rules (docs/results.md says why these values). A leaf: no TensorFlow.js.
 */
import type { MetaConfig } from './config';

export interface MetaPreset {
  title: string;
  description: string;
  config: Partial<MetaConfig>;
}

/**
 * 10-shot sinusoid regression (K = 10 support, 10 query points per task), a 1-40-40-1 tanh
 * network, λ = 1; the fast weights adapt by 100 heavy-ball Euler steps (dt = 0.01, β = 0.9),
 * meta-batches of 10 tasks, Adam 1e-3 on ω, 8 meta-epochs of 25 meta-updates, 100 test tasks.
 */
const SINUSOID_10_SHOT: Partial<MetaConfig> = {
  hidden: 40,
  shots: 10,
  queries: 10,
  lambda: 1,
  innerLr: 0.01,
  momentum: 0.9,
  innerSteps: 100,
  tol: 1e-4,
  metaBatch: 10,
  metaLr: 1e-3,
  metaEpochs: 8,
  iterations: 25,
  testTasks: 100,
};

export const META_PRESETS: Record<string, MetaPreset> = {
  'sinusoid-meta-lcp': {
    title: 'Meta-learning sinusoids with the least-control principle',
    description:
      'ω learns from Δω = λψ*, the least control that drives each task’s adapted weights to fit its query set (dynamic inversion, α = 10)',
    config: {
      ...SINUSOID_10_SHOT,
      method: 'lcp',
      controller: 'dynamic-inversion',
      alpha: 10,
      controlSteps: 100,
    },
  },
  'sinusoid-meta-imaml': {
    title: 'Meta-learning sinusoids with the implicit gradient (iMAML)',
    description:
      'The exact baseline: −λ(H + λI)⁻¹∇L_query at the adapted weights, by 10 conjugate-gradient steps',
    config: { ...SINUSOID_10_SHOT, method: 'imaml', cgSteps: 10 },
  },
  'sinusoid-meta-fo': {
    title: 'Meta-learning sinusoids, first order',
    description: 'The first-order baseline: −∇L_query at the adapted weights, applied to ω',
    config: { ...SINUSOID_10_SHOT, method: 'fo' },
  },
};

/**
 * The chapter's run in the browser: the same network, task and λ, with fewer tasks per update
 * and shorter solves so that an update of all three rules takes about a second in the page's
 * worker, a faster meta-learning rate, and 20 test tasks.
 */
export const META_CHAPTER_CONFIG: Partial<MetaConfig> = {
  ...SINUSOID_10_SHOT,
  alpha: 10,
  controller: 'dynamic-inversion',
  metaBatch: 5,
  innerSteps: 60,
  controlSteps: 60,
  cgSteps: 10,
  metaLr: 3e-3,
  testTasks: 20,
};
