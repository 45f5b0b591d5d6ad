import {
  parseScenario,
  solveScenario,
  type ParamArrays,
  type SolveOutput,
} from '../../src/engine/scenario';

/** Solve a plain scenario object through the same path as the CLI. */
export function solve(raw: unknown): Promise<SolveOutput> {
  return solveScenario(parseScenario(raw));
}

/** All parameters of an update or gradient as one flat vector (W, U, b and D, d if present). */
export function flatParams(p: ParamArrays): number[] {
  return [...p.W.flat(), ...p.U.flat(), ...p.b, ...(p.D ?? []).flat(), ...(p.d ?? [])];
}

export function norm(a: number[]): number {
  return Math.sqrt(a.reduce((s, v) => s + v * v, 0));
}

/** Norm-wise relative error ‖a − b‖ / ‖b‖. */
export function relErr(a: number[], b: number[]): number {
  return norm(a.map((v, i) => v - b[i])) / Math.max(norm(b), 1e-30);
}

export function cos(a: number[], b: number[]): number {
  return a.reduce((s, v, i) => s + v * b[i], 0) / (norm(a) * norm(b));
}
