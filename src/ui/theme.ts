/**
 * Colours and sizes shared by every view. Okabe–Ito for categorical series (safe for
 * colour-blind viewers), a diverging blue–orange scale for signed values (weights), viridis for
 * magnitudes. Lecture mode scales strokes and type through CSS variables (see styles.css).
 */
import { interpolateRgbBasis, interpolateViridis } from 'd3';

export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
} as const;

/** Categorical series: unit i gets CATEGORICAL[i % length]. */
export const CATEGORICAL = [
  OKABE_ITO.blue,
  OKABE_ITO.orange,
  OKABE_ITO.green,
  OKABE_ITO.vermillion,
  OKABE_ITO.purple,
  OKABE_ITO.skyBlue,
  OKABE_ITO.yellow,
  OKABE_ITO.black,
];

/** What each quantity is drawn in, everywhere. */
export const ROLE = {
  phi: OKABE_ITO.blue,
  psi: OKABE_ITO.vermillion,
  y: OKABE_ITO.green,
  target: OKABE_ITO.black,
  u: OKABE_ITO.purple,
  gradient: OKABE_ITO.orange,
  free: OKABE_ITO.skyBlue,
} as const;

/** Signed values: negative blue, zero light grey, positive orange (no red–green pair). */
export const diverging = interpolateRgbBasis([OKABE_ITO.blue, '#f2f2f2', OKABE_ITO.orange]);

/** Map v ∈ [−limit, limit] to a colour. */
export function signedColor(v: number, limit: number): string {
  const t = limit > 0 ? Math.max(-1, Math.min(1, v / limit)) : 0;
  return diverging((t + 1) / 2);
}

export const magnitude = interpolateViridis;

/** Stroke width multiplier: lecture mode draws thicker lines. */
export function strokeScale(): number {
  if (typeof document === 'undefined') return 1;
  return document.documentElement.classList.contains('lecture') ? 2 : 1;
}

/** Should motion (ΔW flashes, transitions) be skipped? */
export function reducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}
