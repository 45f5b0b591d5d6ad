/**
 * The action log: what was done to a network since it was built, in the order the engine did
 * it, counted in steps and updates (never in wall time), so that replaying it on a network built
 * from the same configuration ends in the same state, bit for bit on the same backend. A link
 * carries it; the worker writes it (engine.worker.ts) and replays it.
 *
 * Entries are short tuples (a link carries thousands of them):
 *
 *  - `['s', n]`      n Euler steps in the current mode (Play, Step and Equilibrium alike)
 *  - `['c', 0 | 1]`  control off / on
 *  - `['l']`         Learn: one update at the current sample, then the sample again from rest
 *  - `['lp']`        an update of "learn while playing": then control on and the next sample
 *  - `['t', n]`      n Train updates (the sample on screen is left as it is)
 *  - `['p']`         the current sample presented again from rest (the end of a Train)
 *  - `['n']`         the next sample of the seeded order
 *  - `['r']`         the current sample's equilibria found again (after a stopped Train)
 *  - `['w', name, row, col, value]`  a weight set by hand
 *  - `['x', i, value]` / `['y', i, value]`  an input / target entry set by hand (or dragged)
 *  - `['f', fields]` configuration fields that need no rebuild (a rebuild starts a new log)
 *
 * This module is a leaf: no tfjs, no dynamics.
 */
import { z } from 'zod';
import type { TrainConfig } from './config';

/** The parameters a hand edit can set (a tfjs-free twin of model.ts's ParamName). */
export const PARAM_KEYS = ['W', 'U', 'b', 'D', 'd', 'Q', 'B', 'F'] as const;
export type ParamKey = (typeof PARAM_KEYS)[number];

export type LogEntry =
  | ['s', number]
  | ['c', 0 | 1]
  | ['l']
  | ['lp']
  | ['t', number]
  | ['p']
  | ['n']
  | ['r']
  | ['w', ParamKey, number, number, number]
  | ['x', number, number]
  | ['y', number, number]
  | ['f', Partial<TrainConfig>];

/** Most entries a log keeps (a longer history is exported as a model, not linked). */
export const MAX_LOG_ENTRIES = 5000;
/** Most steps in one `s` entry and updates in one `t` entry (merging stops there). */
export const MAX_STEPS_PER_ENTRY = 1_000_000;
export const MAX_UPDATES_PER_ENTRY = 100_000;
/** Index bound for edits (far above any network the schema allows per dimension). */
const MAX_INDEX = 2 ** 26;

const count = (max: number) => z.number().int().min(1).max(max);
const index = z.number().int().min(0).max(MAX_INDEX);
const finite = z.number().finite();

/** One entry, checked (the fields of `f` are checked by the configuration's own schema later). */
export const logEntrySchema: z.ZodType<LogEntry> = z.union([
  z.tuple([z.literal('s'), count(MAX_STEPS_PER_ENTRY)]),
  z.tuple([z.literal('c'), z.union([z.literal(0), z.literal(1)])]),
  z.tuple([z.literal('l')]),
  z.tuple([z.literal('lp')]),
  z.tuple([z.literal('t'), count(MAX_UPDATES_PER_ENTRY)]),
  z.tuple([z.literal('p')]),
  z.tuple([z.literal('n')]),
  z.tuple([z.literal('r')]),
  z.tuple([z.literal('w'), z.enum(PARAM_KEYS), index, index, finite]),
  z.tuple([z.literal('x'), index, finite]),
  z.tuple([z.literal('y'), index, finite]),
  z.tuple([
    z.literal('f'),
    z
      .record(z.string(), z.unknown())
      .refine((r) => Object.keys(r).length > 0 && Object.keys(r).length <= 64),
  ]) as unknown as z.ZodType<['f', Partial<TrainConfig>]>,
]) as unknown as z.ZodType<LogEntry>;

/** Same edit target (a later value of the same weight or sample entry replaces the earlier). */
function sameTarget(a: LogEntry, b: LogEntry): boolean {
  if (a[0] !== b[0]) return false;
  if (a[0] === 'w' && b[0] === 'w') return a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
  if ((a[0] === 'x' || a[0] === 'y') && (b[0] === 'x' || b[0] === 'y')) return a[1] === b[1];
  return false;
}

/**
 * Append `entry` to `log` in place, merging where the state would be the same: consecutive steps
 * add up (an Euler step does not depend on how steps are grouped into calls), consecutive Train
 * updates add up, and a hand edit replaces an edit of the same entry just before it (each edit
 * finds the equilibria from rest, so the earlier one leaves nothing behind). Returns false when
 * the log is full (the entry is not kept). `merge` false: after a failure, which a replay meets
 * again and which ends the entry it happens in, the next entry must stay separate.
 */
export function appendEntry(log: LogEntry[], entry: LogEntry, merge = true): boolean {
  const last = merge ? log[log.length - 1] : undefined;
  if (last && last[0] === 's' && entry[0] === 's' && last[1] + entry[1] <= MAX_STEPS_PER_ENTRY) {
    last[1] += entry[1];
    return true;
  }
  if (last && last[0] === 't' && entry[0] === 't' && last[1] + entry[1] <= MAX_UPDATES_PER_ENTRY) {
    last[1] += entry[1];
    return true;
  }
  if (last && sameTarget(last, entry)) {
    log[log.length - 1] = entry;
    return true;
  }
  if (log.length >= MAX_LOG_ENTRIES) return false;
  log.push(entry);
  return true;
}

/**
 * Where a log starts: a network built from `config` alone (reproducible from a link), or one that
 * continues saved weights (a restored session, a backend switch, a lost WebGL context), which a
 * link cannot carry: `continued` says why.
 */
export interface LogBase {
  config: TrainConfig;
  continued: string | null;
}

/** Short names of the entries, for progress lines and notices. */
export function describeEntry(e: LogEntry): string {
  switch (e[0]) {
    case 's':
      return `${e[1]} step${e[1] === 1 ? '' : 's'}`;
    case 'c':
      return e[1] ? 'control on' : 'control off';
    case 'l':
    case 'lp':
      return 'learn';
    case 't':
      return `train ${e[1]}`;
    case 'p':
      return 'present the sample';
    case 'n':
      return 'next sample';
    case 'r':
      return 'find the equilibria';
    case 'w':
      return `set ${e[1]}[${e[2]}, ${e[3]}]`;
    case 'x':
      return `set input ${e[1]}`;
    case 'y':
      return `set target ${e[1]}`;
    case 'f':
      return `set ${Object.keys(e[1]).join(', ')}`;
  }
}
