/**
 * ρ and ρ′ for one number, in float64: for code that works on plain arrays (metrics, fields,
 * EP, tests) and for the page's main thread, which must not load TensorFlow.js (so this module
 * imports none).
 */
import type { Activation } from './kinds';

export function rateScalar(act: Activation, v: number): number {
  switch (act) {
    case 'tanh':
      return Math.tanh(v);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'linear':
      return v;
    case 'softplus':
      return v > 30 ? v : Math.log1p(Math.exp(v));
  }
}

export function slopeScalar(act: Activation, v: number): number {
  switch (act) {
    case 'tanh': {
      const t = Math.tanh(v);
      return 1 - t * t;
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-v));
      return s * (1 - s);
    }
    case 'linear':
      return 1;
    case 'softplus':
      return 1 / (1 + Math.exp(-v));
  }
}
