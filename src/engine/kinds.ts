/**
 * The engine's vocabulary of kinds (activations, losses, controllers, readouts): a leaf with no
 * imports, so that the configuration schema — and through it the page's main thread — never
 * loads TensorFlow.js.
 */

export const ACTIVATIONS = ['tanh', 'sigmoid', 'linear', 'softplus'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const LOSSES = ['mse', 'cross-entropy'] as const;
export type LossKind = (typeof LOSSES)[number];

export const CONTROLLER_KINDS = [
  'dynamic-inversion',
  'dynamic-inversion-kp',
  'linear-feedback',
  'energy',
] as const;
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];

/**
 * Where the output lives (DESIGN.md §1): `separate`, the reference code's output population
 * y = Dρ(φ) + d; `units`, the seed poster's (and Figure 1's) output units inside the network,
 * y ≡ φ_y, the last k hidden units.
 */
export const READOUTS = ['separate', 'units'] as const;
export type Readout = (typeof READOUTS)[number];
