/**
 * The fused step on tfjs's CPU backend: HostStepper with plain typed-array loops over its own
 * arena (several steps per call, stopping rule after each).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { jsPrims, HostStepper, type Arena, type HostInputs, type HostView } from './host';
import { FUSED_STEP, STATS_SIZE, type FusedStepAttrs } from './spec';
import { StepperCache } from './stepperCache';

/** The parts of tfjs's MathBackendCPU used here. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values?: Float32Array): TensorInfo;
}

function arrayArena(): Arena {
  let heap = new Float32Array(0);
  return {
    heap: () => heap,
    alloc(floats) {
      heap = new Float32Array(floats);
      return 0;
    },
    free() {
      heap = new Float32Array(0);
    },
  };
}

const cache = new StepperCache<HostStepper>();

function view(backend: CpuBackend, t: TensorInfo | undefined): HostView | undefined {
  if (!t) return undefined;
  const values = backend.data.get(t.dataId).values;
  if (!(values instanceof Float32Array)) throw new Error(`${FUSED_STEP}: float32 inputs only`);
  return { heap: values, offset: 0 };
}

export const cpuFusedStepConfig: KernelConfig = {
  kernelName: FUSED_STEP,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as CpuBackend;
    const at = attrs as unknown as FusedStepAttrs;
    const state = inputs.state as TensorInfo;
    const batch = state.shape[0];
    const stepper = cache.get(batch, at.n, at.k, () => {
      const arena = arrayArena();
      return new HostStepper(arena, jsPrims(arena), batch, at.n, at.k);
    });
    const inp: HostInputs = {
      state: view(b, state)!,
      drive: view(b, inputs.drive as TensorInfo)!,
      target: view(b, inputs.target as TensorInfo)!,
      W: view(b, inputs.W as TensorInfo)!,
      D: view(b, inputs.D as TensorInfo)!,
      d: view(b, inputs.d as TensorInfo)!,
      fbA: view(b, inputs.fbA as TensorInfo | undefined),
      fbB: view(b, inputs.fbB as TensorInfo | undefined),
      ids: {
        drive: (inputs.drive as TensorInfo).dataId,
        W: (inputs.W as TensorInfo).dataId,
        D: (inputs.D as TensorInfo).dataId,
        d: (inputs.d as TensorInfo).dataId,
        fbA: (inputs.fbA as TensorInfo | undefined)?.dataId,
        fbB: (inputs.fbB as TensorInfo | undefined)?.dataId,
      },
    };
    const out = new Float32Array(batch * (2 * at.n + 2 * at.k));
    const stats = new Float32Array(STATS_SIZE);
    stepper.run(inp, at, out, 0, stats);
    return [
      b.makeTensorInfo([batch, 2 * at.n + 2 * at.k], 'float32', out),
      b.makeTensorInfo([STATS_SIZE], 'float32', stats),
    ];
  },
};
