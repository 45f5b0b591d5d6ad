/**
 * The benchmark's peers on this CPU, run with Debian's Python (`apt-get install -y python3-torch
 * libopenblas0-pthread python3-numpy`): the PyTorch reference step (../shared/bench/
 * torch_reference.py, which refuses the unoptimised reference BLAS) at 1 and 2 threads, and the
 * single-thread SGEMM peak of NumPy on the same OpenBLAS.
 *
 * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from these commands' environment (some
 * machines set them to work around old OpenBLAS builds; they slow a current one down), and the
 * OpenBLAS core in use is printed with the figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const PYTHON = '/usr/bin/python3';
export const TORCH_SCRIPT = resolve(import.meta.dirname, '../../shared/bench/torch_reference.py');

export function peerEnv(threads: number): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  env.OPENBLAS_NUM_THREADS = String(threads);
  env.OMP_NUM_THREADS = String(threads);
  return env;
}

export interface TorchFigure {
  threads: number;
  n: number;
  batch: number;
  steps_per_s: number;
  blas: string;
}

/** Why the peer cannot run here, or null. */
export function peerProblem(): string | null {
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  if (!existsSync(TORCH_SCRIPT)) return `no ${TORCH_SCRIPT}`;
  return null;
}

/** torch_reference.py at `threads` threads over `sizes`. */
export function runTorch(
  threads: number,
  seconds: number,
  sizes: [number, number][],
): TorchFigure[] {
  const text = execFileSync(
    PYTHON,
    [
      TORCH_SCRIPT,
      '--threads',
      String(threads),
      '--seconds',
      String(seconds),
      '--sizes',
      sizes.map((s) => s.join('x')).join(','),
    ],
    { encoding: 'utf8', env: peerEnv(threads) },
  );
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const r = JSON.parse(line) as TorchFigure;
      return { threads, n: r.n, batch: r.batch, steps_per_s: r.steps_per_s, blas: r.blas };
    });
}

const PEAK_SCRIPT = `
import ctypes, json, time
import numpy as np
a = np.ones((64, 64), np.float32); a @ a
blas = next((l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower()), 'unknown')
core = 'unknown'
for name in ('libopenblas.so.0', 'libopenblasp-r0.3.21.so'):
    try:
        lib = ctypes.CDLL(name)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode() + ' (' + lib.openblas_get_config().decode() + ')'
        break
    except OSError:
        pass
best = {}
for n in (512, 1024, 2048):
    x = np.random.rand(n, n).astype(np.float32); y = np.random.rand(n, n).astype(np.float32)
    c = np.empty((n, n), np.float32); np.matmul(x, y, out=c)
    rate = 0.0
    for _ in range(3):
        t0 = time.perf_counter(); count = 0
        while time.perf_counter() - t0 < 0.25:
            np.matmul(x, y, out=c); count += 1
        rate = max(rate, 2 * n ** 3 * count / (time.perf_counter() - t0) / 1e9)
    best[n] = round(rate, 1)
print(json.dumps({'gflops': max(best.values()), 'by_size': best, 'blas': blas, 'core': core}))
`;

export interface Peak {
  gflops: number;
  by_size: Record<string, number>;
  blas: string;
  core: string;
}

/** One core's SGEMM peak: NumPy's float32 matmul on OpenBLAS, one thread, best of 512…2048. */
export function sgemmPeak(): Peak {
  const text = execFileSync(PYTHON, ['-c', PEAK_SCRIPT], {
    encoding: 'utf8',
    env: peerEnv(1),
  });
  return JSON.parse(text.trim()) as Peak;
}

/** Floating-point operations of one controlled step at n × batch with k outputs (its products). */
export function stepFlops(n: number, batch: number, k = 10): number {
  // ρ(φ)Wᵀ, ψW (n² each), ρ(φ)Dᵀ and uD (nk each), per sample; 2 flops per multiply-add.
  return 2 * batch * (2 * n * n + 2 * n * k);
}
