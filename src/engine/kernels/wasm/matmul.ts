/**
 * tfjs-wasm's BatchMatMul with a transposed operand (matMul(a, b, false, true), and (a, b, true,
 * false)) is 10–25× slower here than without (measured in Node: 64×784 · (256×784)ᵀ 42 ms
 * against 3.6 ms). The engine multiplies by Uᵀ for every presentation's drive U x + b and by
 * transposes in every outer product of the update, so on the wasm backend this wrapper transposes
 * the operand first (tfjs-wasm's Transpose kernel) and runs the plain product.
 */
import {
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

let done = false;

/** Install the wrapper once the wasm backend's kernels are registered (idempotent). */
export function fastTransposedMatMul(): void {
  if (done) return;
  const mm = getKernel('BatchMatMul', 'wasm');
  const tr = getKernel('Transpose', 'wasm');
  if (!mm || !tr) return;
  done = true;
  const plain = mm.kernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return plain(args);
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
    const made: TensorInfo[] = [];
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const aa = attrs.transposeA ? (made[made.length] = flip(a)) : a;
    const bb = attrs.transposeB ? (made[made.length] = flip(b)) : b;
    try {
      return plain({
        inputs: { a: aa, b: bb },
        backend: args.backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of made) backend.disposeData(t.dataId);
    }
  };
  unregisterKernel('BatchMatMul', 'wasm');
  registerKernel({ ...mm, kernelFunc });
}
