/**
 * The action log as the worker writes it (engine/actionLog.ts has its format): the entries in
 * the order their work ran — the worker knows that order, the page does not — and what the page
 * has not seen of them yet.
 */
import { appendEntry, type LogBase, type LogEntry } from '../engine/actionLog';
import { DivergenceError } from '../engine/errors';
import type { Sliced } from '../engine/sliced';
import type { WorkerMessage } from './protocol';

export type LogMessage = Extract<WorkerMessage, { type: 'log' }>;

export class Journal {
  /** What the log replays from (null before the first network). */
  base: LogBase | null = null;
  private entries: LogEntry[] = [];
  /** The first entry the page has not seen as it stands (merges change the last one). */
  private unsentFrom = 0;
  private baseUnsent = false;
  private full = false;
  /** The next entry may not merge into the last (a failure came between them). */
  private barrier = false;

  /** A new log for a new network. */
  start(base: LogBase): void {
    this.base = base;
    this.entries = [];
    this.unsentFrom = 0;
    this.baseUnsent = true;
    this.full = false;
    this.barrier = false;
  }

  write(entry: LogEntry): void {
    const before = this.entries.length;
    if (!appendEntry(this.entries, entry, !this.barrier)) this.full = true;
    this.barrier = false;
    this.unsentFrom = Math.min(
      this.unsentFrom,
      before === this.entries.length ? before - 1 : before,
    );
  }

  /** What the page has not seen (marked seen), or null. */
  unsent(): LogMessage | null {
    if (!this.base || (!this.baseUnsent && this.unsentFrom >= this.entries.length)) return null;
    const message: LogMessage = {
      type: 'log',
      ...(this.baseUnsent ? { base: this.base } : {}),
      from: this.unsentFrom,
      entries: this.entries.slice(this.unsentFrom),
      full: this.full,
    };
    this.unsentFrom = this.entries.length;
    this.baseUnsent = false;
    return message;
  }

  /**
   * `work`, logged as `entry` when it ends — a divergence included, which the next entry may
   * not merge into — or when it is stopped after `tookEffect()` says its change landed (a Train
   * step stopped in the epoch's test evaluation has made its update: a replay must make it too).
   */
  *logged<T>(work: Sliced<T>, entry: LogEntry, tookEffect?: () => boolean): Sliced<T> {
    let settled = false;
    try {
      const result = yield* work;
      settled = true;
      this.write(entry);
      return result;
    } catch (e) {
      settled = true;
      if (e instanceof DivergenceError) {
        this.write(entry);
        this.barrier = true;
      }
      throw e;
    } finally {
      if (!settled && tookEffect?.()) this.write(entry);
    }
  }
}
