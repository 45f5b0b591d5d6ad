/**
 * Analyses that a chapter's scene asks the engine for: the α limit (a sweep of α on the current
 * sample) and equilibrium propagation's two phases beside LCP's one. CONTRACT, to be implemented:
 * each sends its command to the worker and keeps the reply where its view reads it.
 */

/** Ask the worker for the α sweep of the current sample (the `sweep` view draws it). */
export function requestAlphaSweep(): void {
  throw new Error('requestAlphaSweep: not implemented yet');
}

/** Ask the worker for EP's free and nudged phases beside LCP's controlled one (the `ep` view). */
export function requestEpComparison(): void {
  throw new Error('requestEpComparison: not implemented yet');
}
