/**
 * The page's copy of the engine's action log (engine/actionLog.ts): the worker writes the log as
 * it runs and sends what changed; a link is written from this copy.
 */
import { createStore } from 'zustand/vanilla';
import type { LogBase, LogEntry } from '../engine/actionLog';

export interface RunLogState {
  /** Where the log starts (null before the first network is built). */
  base: LogBase | null;
  entries: LogEntry[];
  /** The log reached its bound: later actions are not in it. */
  full: boolean;
}

export const runLog = createStore<RunLogState>(() => ({ base: null, entries: [], full: false }));

/** Fold the worker's `log` message in: a new base starts over; entries replace from `from` on. */
export function receiveLog(
  base: LogBase | undefined,
  from: number,
  entries: LogEntry[],
  full: boolean,
): void {
  runLog.setState((s) => {
    const kept = base ? [] : s.entries.slice(0, Math.max(0, from));
    return { base: base ?? s.base, entries: [...kept, ...entries], full };
  });
}
