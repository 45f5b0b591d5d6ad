/**
 * The fused step on tfjs's WebGL backend: one GPGPU program per Euler step, producing the packed
 * state [B, 2n + 2k] (φ | ψ | y | u_I) from the previous one; each output texel computes its own
 * row of the products (Wρ(φ), Wᵀψ + Dᵀu, Dρ(φ), …). After the last step of a dispatch, two small
 * reduction programs compute the stopping rule's per-block sums into stats [16] (the rule itself
 * is evaluated by the solver on the few numbers it reads back). Only the types of the WebGL
 * backend are imported: this file loads nothing until the kernel runs.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { Activation } from '../activations';
import { STAT, STATUS, STATS_SIZE, type FusedStepAttrs } from './spec';

interface Program {
  variableNames: string[];
  outputShape: number[];
  userCode: string;
  customUniforms?: { name: string; type: 'float' | 'int' }[];
}

/** The parts of tfjs's MathBackendWebGL used here. */
interface WebGLBackend {
  runWebGLProgram(
    program: Program,
    inputs: TensorInfo[],
    outputDtype: 'float32',
    customUniformValues?: number[][],
  ): TensorInfo;
  disposeIntermediateTensorInfo(info: TensorInfo): void;
}

const ACT: Record<Activation, string> = {
  tanh: `
    float act(float x) {
      float ax = abs(x);
      if (ax < 0.625) {
        float z = x * x;
        float p = ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z
          + 1.33314422036e-1) * z - 3.33332819422e-1);
        return p * z * x + x;
      }
      float e = exp(-2.0 * min(ax, 44.0));
      return sign(x) * (1.0 - e) / (1.0 + e);
    }
    float actSlope(float x, float r) { return 1.0 - r * r; }`,
  sigmoid: `
    float act(float x) { return 1.0 / (1.0 + exp(-clamp(x, -88.0, 88.0))); }
    float actSlope(float x, float r) { return r * (1.0 - r); }`,
  linear: `
    float act(float x) { return x; }
    float actSlope(float x, float r) { return 1.0; }`,
  softplus: `
    const float SP_THRESHOLD = ${(Math.log(1.1920928955078125e-7) + 2).toFixed(9)};
    float act(float x) {
      if (x < SP_THRESHOLD) return exp(x);
      if (x > -SP_THRESHOLD) return x;
      return log(1.0 + exp(x));
    }
    float actSlope(float x, float r) { return 1.0 / (1.0 + exp(-clamp(x, -88.0, 88.0))); }`,
};

const UNIFORMS = ['cPhi', 'cY', 'cU', 'cPsi', 'alpha', 'ki', 'kp'] as const;

/** ρ(φ) | ρ′(φ) [B, 2n] of a packed state (the two-pass variant's first pass). */
function ratesProgram(at: FusedStepAttrs, batch: number): Program {
  const N = at.n;
  return {
    variableNames: ['S'],
    outputShape: [batch, 2 * N],
    userCode: `
      ${ACT[at.activation]}
      void main() {
        ivec2 rc = getOutputCoords();
        int j = rc.y < ${N} ? rc.y : rc.y - ${N};
        float p = getS(rc.x, j);
        float r = act(p);
        setOutput(rc.y < ${N} ? r : actSlope(p, r));
      }`,
  };
}

/**
 * One Euler step. `rates`: read ρ(φ) and ρ′(φ) from a first pass (input R) instead of computing
 * ρ inside every product's loop — fewer transcendentals for large n·B, one more dispatch.
 * Inputs in the order of stepInputs: S, Drv, Tgt, Wm, then Dm, Dv (separate readout), FA (and
 * FB) for the controller's feedback, and R last.
 *
 * Readout `units` (y ≡ φ_y, the last K units): no Dρ(φ) + d; DI's ψ of an output unit takes u
 * after the slope (ρ′ ⊙ Wᵀψ + Pᵀu, and no F u for KP); a y texel computes φ′ of its unit (the
 * same code as the φ texel, so the same value) instead of integrating y.
 */
function stepProgram(at: FusedStepAttrs, batch: number, rates: boolean): Program {
  const { n: N, k: K, kind } = at;
  const units = at.readout === 'units';
  const first = N - K;
  const controlled = kind !== 'free';
  const variableNames = ['S', 'Drv', 'Tgt', 'Wm'];
  if (!units) variableNames.push('Dm', 'Dv');
  if (kind === 'dynamic-inversion-kp') variableNames.push(...(units ? ['FA'] : ['FA', 'FB']));
  if (kind === 'linear-feedback') variableNames.push('FA');
  if (rates) variableNames.push('R');
  const rho = (b: string, j: string) => (rates ? `getR(${b}, ${j})` : `act(getS(${b}, ${j}))`);
  const slopeAt = (b: string, i: string) =>
    rates ? `getR(${b}, ${N} + ${i})` : `actSlope(getS(${b}, ${i}), act(getS(${b}, ${i})))`;
  const ce = at.loss === 'cross-entropy';
  // g = ∂L/∂y and u = k_i u_I − k_p g of sample b, for every output.
  const controls = `
    void controls(int b, out float g[${K}], out float u[${K}]) {
      ${
        ce
          ? `float m = -3.0e38;
      for (int c = 0; c < ${K}; c++) m = max(m, getS(b, ${2 * N} + c));
      float total = 0.0;
      for (int c = 0; c < ${K}; c++) { g[c] = exp(getS(b, ${2 * N} + c) - m); total += g[c]; }
      for (int c = 0; c < ${K}; c++) g[c] = g[c] / total - getTgt(b, c);`
          : `for (int c = 0; c < ${K}; c++) g[c] = getS(b, ${2 * N} + c) - getTgt(b, c);`
      }
      for (int c = 0; c < ${K}; c++) {
        float integral = ki * getS(b, ${2 * N + K} + c);
        u[c] = kp == 0.0 ? integral : integral - kp * g[c];
      }
    }`;
  const feedbackOfControl =
    kind === 'linear-feedback'
      ? `float qu(int i, float u[${K}]) {
           float s = 0.0;
           for (int c = 0; c < ${K}; c++) s += getFA(i, c) * u[c];
           return s;
         }`
      : '';
  let psiBranch: string;
  if (!controlled) psiBranch = 'res = x;';
  else if (kind === 'linear-feedback')
    psiBranch = `float g[${K}]; float u[${K}]; controls(b, g, u); res = qu(i, u);`;
  else {
    const kp = kind === 'dynamic-inversion-kp';
    const recurrent = `
      float acc = 0.0;
      for (int j = 0; j < ${N}; j++) acc += ${kp ? 'getFA(i, j)' : 'getWm(j, i)'} * getS(b, ${N} + j);`;
    psiBranch = units
      ? `
      float g[${K}]; float u[${K}]; controls(b, g, u);
      ${recurrent}
      float drive = ${slopeAt('b', 'i')} * acc;
      if (i >= ${first}) drive += u[i - ${first}];
      res = x + cPsi * (drive - x);`
      : `
      float g[${K}]; float u[${K}]; controls(b, g, u);
      ${recurrent}
      float fb = 0.0;
      for (int c = 0; c < ${K}; c++) fb += ${kp ? 'getFB(i, c)' : 'getDm(c, i)'} * u[c];
      acc += fb;
      res = x + cPsi * (${slopeAt('b', 'i')} * acc - x);`;
  }
  const psiUsed = !controlled
    ? 'float psiUsed = 0.0;'
    : kind === 'linear-feedback'
      ? `float g[${K}]; float u[${K}]; controls(b, g, u); float psiUsed = qu(col, u);`
      : `float psiUsed = getS(b, ${N} + col);`;
  // φ′ of unit `col` of sample b (the φ texels, and for `units` the y texels too).
  const phiNext = `
    float phiNext(int b, int col) {
      float x = getS(b, col);
      float acc = 0.0;
      for (int j = 0; j < ${N}; j++) acc += getWm(col, j) * ${rho('b', 'j')};
      float phiDrive = acc + getDrv(b, col);
      ${psiUsed}
      return x + cPhi * (phiDrive + psiUsed - x);
    }`;
  const yBranch = units
    ? `res = phiNext(b, ${first} + c);`
    : `
        float acc = 0.0;
        for (int j = 0; j < ${N}; j++) acc += getDm(c, j) * ${rho('b', 'j')};
        float yDrive = acc + getDv(c);
        ${
          controlled
            ? `float g[${K}]; float u[${K}]; controls(b, g, u); res = x + cY * (yDrive + u[c] - x);`
            : 'res = x + cY * (yDrive - x);'
        }`;
  const userCode = `
    ${ACT[at.activation]}
    ${controlled ? controls : ''}
    ${feedbackOfControl}
    ${phiNext}
    void main() {
      ivec2 rc = getOutputCoords();
      int b = rc.x;
      int col = rc.y;
      float x = getS(b, col);
      float res;
      if (col < ${N}) {
        res = phiNext(b, col);
      } else if (col < ${2 * N}) {
        int i = col - ${N};
        ${psiBranch}
      } else if (col < ${2 * N + K}) {
        int c = col - ${2 * N};
        ${yBranch}
      } else {
        int c = col - ${2 * N + K};
        ${
          controlled
            ? `float g[${K}]; float u[${K}]; controls(b, g, u); res = x + cU * -(g[c] + alpha * x);`
            : 'res = x;'
        }
      }
      setOutput(res);
    }`;
  return {
    variableNames,
    outputShape: [batch, 2 * N + 2 * K],
    userCode,
    customUniforms: UNIFORMS.map((name) => ({ name, type: 'float' as const })),
  };
}

/** The step program's inputs after the state, in its variableNames' order (R is added last). */
function stepInputs(at: FusedStepAttrs, inputs: Record<string, TensorInfo | undefined>) {
  const names = ['drive', 'target', 'W'];
  if (at.readout !== 'units') names.push('D', 'd');
  if (at.kind === 'dynamic-inversion-kp')
    names.push(...(at.readout === 'units' ? ['fbA'] : ['fbA', 'fbB']));
  if (at.kind === 'linear-feedback') names.push('fbA');
  return names.map((name) => inputs[name] as TensorInfo);
}

/** Per sample and block: Σ(next − prev)² (even columns) and Σ next² (odd), blocks φ, y, u_I, ψ. */
function rowSumsProgram(n: number, k: number, batch: number): Program {
  const maxLen = Math.max(n, k);
  return {
    variableNames: ['Prev', 'Next'],
    outputShape: [batch, 8],
    userCode: `
      void main() {
        ivec2 rc = getOutputCoords();
        int b = rc.x;
        int blk = rc.y / 2;
        bool square = rc.y - 2 * blk == 1;
        int start = blk == 0 ? 0 : blk == 1 ? ${2 * n} : blk == 2 ? ${2 * n + k} : ${n};
        int len = (blk == 0 || blk == 3) ? ${n} : ${k};
        float s = 0.0;
        for (int i = 0; i < ${maxLen}; i++) {
          if (i >= len) break;
          float v = getNext(b, start + i);
          float d = square ? v : v - getPrev(b, start + i);
          s += d * d;
        }
        setOutput(s);
      }`,
  };
}

/** stats [16]: header (steps, status = not evaluated) and the batch totals of the row sums. */
function statsProgram(batch: number): Program {
  return {
    variableNames: ['Rows'],
    outputShape: [STATS_SIZE],
    customUniforms: [{ name: 'steps', type: 'float' }],
    userCode: `
      void main() {
        int j = getOutputCoords();
        float res = 0.0;
        if (j == ${STAT.steps}) res = steps;
        else if (j == ${STAT.status}) res = ${STATUS.notEvaluated.toFixed(1)};
        else if (j >= ${STAT.sums}) {
          for (int b = 0; b < ${batch}; b++) res += getRows(b, j - ${STAT.sums});
        }
        setOutput(res);
      }`,
  };
}

/** B·n² from which the two-pass step is faster (measured in headless Chromium, SwiftShader). */
let twoPassFrom = 4096;

/** Use the two-pass step (rates first) when B·n² is at least `from` (Infinity: never; 0: always). */
export function setWebGLTwoPassThreshold(from: number): void {
  twoPassFrom = from;
}

function twoPassFor(batch: number, n: number): boolean {
  return batch * n * n >= twoPassFrom;
}

const programs = new Map<string, Program>();

function cached(key: string, make: () => Program): Program {
  let p = programs.get(key);
  if (!p) {
    p = make();
    programs.set(key, p);
  }
  return p;
}

export const webglFusedStepConfig: KernelConfig = {
  kernelName: 'LcpFusedEulerStep',
  backendName: 'webgl',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const gl = backend as unknown as WebGLBackend;
    const at = attrs as unknown as FusedStepAttrs;
    const state = inputs.state as TensorInfo;
    const batch = state.shape[0];
    const key = `${at.kind}|${at.readout}|${at.loss}|${at.activation}|${batch}|${at.n}|${at.k}`;
    const twoPass = twoPassFor(batch, at.n);
    const step = cached(`step|${twoPass}|${key}`, () => stepProgram(at, batch, twoPass));
    const ratesProg = twoPass
      ? cached(`rates|${at.activation}|${batch}|${at.n}`, () => ratesProgram(at, batch))
      : null;
    const rows = cached(`rows|${batch}|${at.n}|${at.k}`, () => rowSumsProgram(at.n, at.k, batch));
    const total = cached(`stats|${batch}`, () => statsProgram(batch));
    const rest = stepInputs(at, inputs as Record<string, TensorInfo | undefined>);
    const uniforms = UNIFORMS.map((u) => [at[u]]);
    let prev: TensorInfo = state;
    let cur: TensorInfo = state;
    for (let t = 0; t < at.steps; t++) {
      let next: TensorInfo;
      if (ratesProg) {
        const r = gl.runWebGLProgram(ratesProg, [cur], 'float32');
        next = gl.runWebGLProgram(step, [cur, ...rest, r], 'float32', uniforms);
        gl.disposeIntermediateTensorInfo(r);
      } else next = gl.runWebGLProgram(step, [cur, ...rest], 'float32', uniforms);
      if (prev !== state && prev !== cur) gl.disposeIntermediateTensorInfo(prev);
      prev = cur;
      cur = next;
    }
    const partial = gl.runWebGLProgram(rows, [prev, cur], 'float32');
    const stats = gl.runWebGLProgram(total, [partial], 'float32', [[at.steps]]);
    gl.disposeIntermediateTensorInfo(partial);
    if (prev !== state) gl.disposeIntermediateTensorInfo(prev);
    return [cur, stats];
  },
};
