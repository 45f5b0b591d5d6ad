/**
 * What each method keeps in memory to compute one update, from the running configuration: the
 * states it must hold at once (float32, 4 bytes a number), for a batch of B samples of a network
 * of n units and k outputs. The weights are the same for all methods and are not counted.
 *
 *   LCP:  one controlled equilibrium φ*, y* (n + k) and the controller's ψ*, u*, u_I* (n + 2k):
 *         (2n + 3k)·B·4 bytes — the update ψ* ρ(φ*)ᵀ is local in what it reads.
 *   RBP:  one free equilibrium φ⁰, y⁰ (n + k) and the adjoint δ it relaxes (n): (2n + k)·B·4.
 *   EP:   the free equilibrium φ⁰, y⁰ (n + k), kept while the nudged one φ^β, y^β (n + k)
 *         settles: (2n + 2k)·B·4 (the nudge u, ψ = Dᵀu is recomputed from y^β each step).
 *   BPTT: the T states φ_t, y_t (n + k) of the free trajectory the solver took, to be walked
 *         back: T·(n + k)·B·4.
 */
export interface MemoryInput {
  /** Hidden units n, outputs k, batch B and the steps T of the last free solve. */
  n: number;
  k: number;
  batch: number;
  steps: number;
}

export interface UpdateMemory {
  /** Bytes per method (NaN for BPTT while T is unknown). */
  lcp: number;
  rbp: number;
  ep: number;
  bptt: number;
}

export const FLOAT32_BYTES = 4;

export function updateMemory({ n, k, batch, steps }: MemoryInput): UpdateMemory {
  const perSample = (floats: number) => floats * batch * FLOAT32_BYTES;
  return {
    lcp: perSample(2 * n + 3 * k),
    rbp: perSample(2 * n + k),
    ep: perSample(2 * n + 2 * k),
    bptt: Number.isFinite(steps) && steps >= 0 ? steps * perSample(n + k) : NaN,
  };
}

/** Bytes in words: "920 B", "14.1 KB", "3.2 MB" (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : Number(v.toPrecision(3))} ${units[u]}`;
}
