/**
 * Trace samples: the state at one step, taken by the engine every few steps (Simulation.advance)
 * for the traces view and its CSV. A leaf (no TensorFlow.js), so that the page can name it.
 */

/** How many units' traces are sampled (the first ones; the traces view picks among them). */
export const TRACE_UNITS = 16;

/** The state at one step (the first TRACE_UNITS units of φ and ψ). */
export interface TraceSample {
  t: number;
  step: number;
  phi: Float32Array;
  psi: Float32Array;
  y: Float32Array;
  u: Float32Array;
  target: Float32Array;
}
