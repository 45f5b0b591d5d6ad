/**
 * Seeded random streams. One seed; every consumer draws from its own named stream
 * (e.g. `init/W`, `data`, `order`, `noise`), so adding a consumer never shifts another's numbers.
 */

/** 32-bit FNV-1a over a string, mixed with the seed: the stream's key. */
function hashKey(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** splitmix32: spreads one 32-bit key over the generator's four words. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** The four words of xoshiro128** and Box–Muller's spare draw. */
export type RngState = [number, number, number, number, number | null];

/** A stream: xoshiro128** with uniform, normal, integer and permutation draws. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(
    readonly seed: number,
    readonly name: string = '',
  ) {
    const mix = splitmix32(hashKey(seed, name));
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
  }

  /** An independent stream named `name` below this one (its numbers do not depend on this one's use). */
  stream(name: string): Rng {
    return new Rng(this.seed, this.name ? `${this.name}/${name}` : name);
  }

  /** The generator's whole state, to put back with restore (an update that was stopped). */
  save(): RngState {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal];
  }

  restore(state: RngState): void {
    [this.s0, this.s1, this.s2, this.s3, this.spareNormal] = state;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal by Box–Muller (the second value is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u1 = this.uniform();
    while (u1 <= 0) u1 = this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fill `out` with N(0, std²) draws. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, std = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = std * this.normal();
    return out;
  }

  /** A Fisher–Yates permutation of 0 … n−1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The root of all streams for one seed. */
export function seededStreams(seed: number): Rng {
  return new Rng(seed >>> 0, '');
}
