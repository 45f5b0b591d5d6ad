/**
 * tfjs-wasm's BatchMatMul with a transposed operand (matMul(a, b, false, true), and (a, b, true,
 * false)) is 10–25× slower here than without (measured in Node: 64×784 · (256×784)ᵀ 42 ms
 * against 3.6 ms). The engine multiplies by Uᵀ for every presentation's drive U x + b and by
 * transposes in every outer product of the update, so on the wasm backend this wrapper runs the
 * plain product on transposed copies instead (tfjs-wasm's Transpose kernel).
 *
 * Two plain products give C = op(A)·op(B): op(A)·op(B) itself, or (op(B)ᵀ·op(A)ᵀ)ᵀ, where a
 * flagged operand needs no copy. The plain product also packs its right operand on every call
 * with new weights (~1 ms for the 784 × 256 of Uᵀ), so the cheaper order is the one that copies
 * and packs fewer entries: the drive x·Uᵀ as (U·xᵀ)ᵀ copies 50,000 + 16,000 entries instead of
 * 200,000 and packs 50,000 instead of 200,000 (2.3 → 1.2 ms a presentation at batch 64).
 *
 * Where the step engine has helper threads to spare, large products go to them first
 * (setThreadedProduct; engineMatMul.ts), with the same bits as tfjs's own.
 */
import {
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

let done = false;
/** A product that takes over where it applies (engineMatMul.ts: the engine's threads). */
type Product = (args: Parameters<KernelFunc>[0]) => TensorInfo | null;
let threaded: Product | null = null;

/** Route products through `product` first (it returns null where it does not apply). */
export function setThreadedProduct(product: Product | null): void {
  threaded = product;
}

const size = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

/**
 * Entries copied or packed for C = op(A)·op(B) directly (transposed copies of flagged operands,
 * the right operand packed) and swapped (copies of unflagged operands and of C, op(A)ᵀ packed).
 */
export function productCosts(
  a: number,
  b: number,
  c: number,
  transposeA: boolean,
  transposeB: boolean,
): { direct: number; swapped: number } {
  return {
    direct: (transposeA ? a : 0) + (transposeB ? b : 0) + b,
    swapped: (transposeA ? 0 : a) + (transposeB ? 0 : b) + a + c,
  };
}

/** Install the wrapper once the wasm backend's kernels are registered (idempotent). */
export function fastTransposedMatMul(): void {
  if (done) return;
  const mm = getKernel('BatchMatMul', 'wasm');
  const tr = getKernel('Transpose', 'wasm');
  if (!mm || !tr) return;
  done = true;
  const plain = mm.kernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const taken = threaded?.(args) ?? null;
    if (taken) return taken;
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
    const { transposeA, transposeB } = attrs;
    if (!transposeA && !transposeB) return plain(args);
    const backend = args.backend as unknown as { disposeData(dataId: object): void };
    const flip = (t: TensorInfo): TensorInfo => {
      const r = t.shape.length;
      const perm = t.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
      return tr.kernelFunc({
        inputs: { x: t },
        backend: args.backend,
        attrs: { perm },
      }) as TensorInfo;
    };
    const product = (a: TensorInfo, b: TensorInfo) =>
      plain({
        inputs: { a, b },
        backend: args.backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      }) as TensorInfo;
    const made: TensorInfo[] = [];
    const copy = (t: TensorInfo) => (made[made.length] = flip(t));
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)];
    const cols = b.shape[b.shape.length - (transposeB ? 2 : 1)];
    const batchesOf = (t: TensorInfo) => size(t) / (t.shape.at(-1)! * t.shape.at(-2)!);
    const batches = Math.max(batchesOf(a), batchesOf(b));
    const cost = productCosts(size(a), size(b), batches * rows * cols, transposeA, transposeB);
    try {
      if (cost.direct <= cost.swapped)
        return product(transposeA ? copy(a) : a, transposeB ? copy(b) : b);
      // Cᵀ = op(B)ᵀ · op(A)ᵀ, where op(B)ᵀ is B itself when B is flagged, and likewise A.
      const ct = product(transposeB ? b : copy(b), transposeA ? a : copy(a));
      made.push(ct);
      return flip(ct);
    } finally {
      for (const t of made) backend.disposeData(t.dataId);
    }
  };
  unregisterKernel('BatchMatMul', 'wasm');
  registerKernel({ ...mm, kernelFunc });
}
