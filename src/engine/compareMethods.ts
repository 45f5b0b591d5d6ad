/**
 * Compare mode's methods (a leaf: the configuration schema only, no TensorFlow.js, so the page's
 * main thread can list them and say which the current network allows). Each method is a patch
 * on the run's configuration: the same seed, data, order and initial W, U, D for all of them.
 */
import { parseConfig, type TrainConfig } from './config';
import { InputError } from './errors';

export const COMPARE_METHODS = [
  'lcp-di',
  'lcp-kp',
  'lcp-lf',
  'lcp-lf-learned',
  'lcp-ebd',
  'rbp',
  'bp',
  'ep',
] as const;
export type CompareMethod = (typeof COMPARE_METHODS)[number];

/** Most updates a comparison runs per method (a link asking for more falls back to the default). */
export const MAX_COMPARE_UPDATES = 5000;
export const DEFAULT_COMPARE_UPDATES = 100;

export interface MethodInfo {
  /** Short name for the legend and the checkboxes. */
  label: string;
  description: string;
}

export const METHOD_INFO: Record<CompareMethod, MethodInfo> = {
  'lcp-di': { label: 'LCP-DI', description: 'Least control with dynamic inversion (ψ through Wᵀ)' },
  'lcp-kp': {
    label: 'LCP-DI (KP)',
    description: 'Dynamic inversion through learned feedback B, F (Kolen–Pollack)',
  },
  'lcp-lf': { label: 'LCP-LF', description: 'Linear feedback ψ = Q u with a fixed random Q' },
  'lcp-lf-learned': {
    label: 'LCP-LF (learned Q)',
    description: 'Linear feedback ψ = Q u, Q learned from noise before every update',
  },
  'lcp-ebd': {
    label: 'LCP-EBD',
    description: 'Energy-based: the controlled state minimises the augmented energy',
  },
  rbp: { label: 'RBP', description: 'The exact gradient by recurrent backpropagation' },
  bp: { label: 'BP', description: 'The exact gradient by backpropagation (layered nets)' },
  ep: {
    label: 'EP',
    description: 'Equilibrium propagation: a free and a nudged phase, their difference over β',
  },
};

/** The configuration fields each method sets. */
const PATCHES: Record<CompareMethod, Partial<TrainConfig>> = {
  'lcp-di': { method: 'lcp', controller: 'dynamic-inversion' },
  'lcp-kp': { method: 'lcp', controller: 'dynamic-inversion-kp' },
  'lcp-lf': { method: 'lcp', controller: 'linear-feedback', learnQ: false },
  'lcp-lf-learned': { method: 'lcp', controller: 'linear-feedback', learnQ: true },
  'lcp-ebd': { method: 'lcp', controller: 'energy' },
  rbp: { method: 'rbp' },
  bp: { method: 'rbp' },
  ep: { method: 'ep' },
};

/**
 * The configuration a method trains with on `base`, or why it cannot: RBP is for recurrent nets
 * and BP for layered ones (the trainer computes the exact gradient by backprop sweeps on layered
 * nets), and the cross-field rules (e.g. energy's α > 0, k_i > 0, EP's separate readout) may
 * refuse it.
 */
export function methodConfig(
  base: TrainConfig,
  method: CompareMethod,
): { config: TrainConfig } | { reason: string } {
  const patch = PATCHES[method];
  const layered = base.topology === 'layered';
  if (method === 'rbp' && layered)
    return { reason: 'this network is layered: its exact gradient is BP’s (choose BP)' };
  if (method === 'bp' && !layered)
    return { reason: 'BP needs a layered network; this one is recurrent (choose RBP)' };
  try {
    return { config: parseConfig(patch, base) };
  } catch (e) {
    if (e instanceof InputError) return { reason: e.message };
    throw e;
  }
}

/** Why each method cannot run on `base` (absent: it can). */
export function unavailableMethods(base: TrainConfig): Partial<Record<CompareMethod, string>> {
  const out: Partial<Record<CompareMethod, string>> = {};
  for (const m of COMPARE_METHODS) {
    const r = methodConfig(base, m);
    if ('reason' in r) out[m] = r.reason;
  }
  return out;
}

/** What a comparison asks for: the methods (in legend order) and updates per method. */
export interface CompareRequest {
  methods: CompareMethod[];
  updates: number;
}

export function isCompareMethod(v: unknown): v is CompareMethod {
  return typeof v === 'string' && (COMPARE_METHODS as readonly string[]).includes(v);
}
