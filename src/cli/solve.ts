import { parseScenario, solveScenario, type SolveOutput } from '../engine/scenario';
import { readJsonFile, SCENARIO_FILE_LIMIT } from './io';

/** `solve FILE`: one scenario's free and controlled equilibria, −∇L and the LCP update. */
export async function runSolve(path: string): Promise<SolveOutput> {
  return solveScenario(parseScenario(await readJsonFile(path, SCENARIO_FILE_LIMIT)));
}
