/**
 * What the digits view shows besides snapshots: the test evaluations at the ends of epochs (test
 * accuracy per epoch, the last confusion matrix). A vanilla store, cleared with a new network.
 */
import { createStore } from 'zustand/vanilla';
import type { TestEvaluation } from '../worker/protocol';

export interface DigitsState {
  /** One per epoch ended, in order. */
  evaluations: TestEvaluation[];
}

export const digitsStore = createStore<DigitsState>(() => ({ evaluations: [] }));

export function receiveTestEvaluation(evaluation: TestEvaluation): void {
  digitsStore.setState((s) => ({ evaluations: [...s.evaluations, evaluation] }));
}

export function clearDigits(): void {
  digitsStore.setState({ evaluations: [] });
}
