/** What the cache holds: a stepper with buffers of its own. */
export interface Disposable {
  dispose(): void;
}

/**
 * Host steppers by shape (batch × n × k), a few at a time: training alternates between its
 * batch and the evaluation batch, and each keeps its buffers and prepared weights.
 */
export class StepperCache<S extends Disposable = Disposable> {
  private readonly map = new Map<string, S>();

  constructor(private readonly capacity = 4) {}

  get(batch: number, n: number, k: number, make: () => S): S {
    const key = `${batch}x${n}x${k}`;
    let s = this.map.get(key);
    if (s) {
      // Most recently used last.
      this.map.delete(key);
      this.map.set(key, s);
      return s;
    }
    s = make();
    this.map.set(key, s);
    while (this.map.size > this.capacity) {
      const [oldKey, old] = this.map.entries().next().value as [string, S];
      this.map.delete(oldKey);
      old.dispose();
    }
    return s;
  }

  clear(): void {
    for (const s of this.map.values()) s.dispose();
    this.map.clear();
  }
}
