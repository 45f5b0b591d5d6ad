/**
 * Maps the views draw but the main thread must not compute: the free dynamics' vector field on
 * a 2-D slice through the current state, and the free network's predictions over the input
 * plane. Both evaluate the whole grid as one batch on the engine's backend.
 */
import { rateScalar } from '../engine/activations';
import type { LossKind } from '../engine/kinds';
import { disposeState, presentation, zeroState } from '../engine/dynamics';
import { drain, type Sliced } from '../engine/sliced';
import { RelaxDivergence, relaxSliced } from '../engine/solver';
import type { Simulation } from '../engine/simulation';
import { readFloats, tf, type Tensor } from '../engine/tf';
import type { DecisionMap, FlowField, FlowFieldRequest } from './protocol';

/** Largest grid side accepted (size² grid points in one batch). */
const MAX_GRID = 64;

/**
 * On a size×size grid over φ_i, φ_j ∈ range (other units at the current state):
 * dφ/dt = (−φ + Wρ(φ) + Ux + b)/τ_φ for units i and j, and ‖∂L/∂y‖ at the output the free
 * network would read there — ‖Dρ(φ) + d − t‖ for mse with a separate readout, ‖φ_y − t‖ with
 * readout `units` — whose zero set is the target set.
 *
 * Only φ_i and φ_j vary over the slice, so every sum over units is the current state's sum plus
 * the change in two terms: O(n) set-up and O(k) per grid point, whatever the network's size
 * (a dense evaluation would cost size²·n² — seconds for the MNIST nets).
 */
export function computeFlowField(sim: Simulation, req: FlowFieldRequest): FlowField {
  const size = Math.max(2, Math.min(MAX_GRID, Math.round(req.size)));
  const net = sim.trainer.net;
  const { n, k } = net;
  const i = Math.max(0, Math.min(req.i, n - 1));
  const j = Math.max(0, Math.min(req.j, n - 1));
  const [lo, hi] = req.range;
  const act = net.activation;
  const phi = readFloats(sim.dynState.phi);
  const rates = Float64Array.from(phi, (v) => rateScalar(act, v));
  const rowOf = (t: Tensor, r: number) => tf.tidy(() => readFloats(tf.slice(t, [r, 0], [1, -1])));
  const colOf = (t: Tensor, c: number) => tf.tidy(() => readFloats(tf.slice(t, [0, c], [-1, 1])));
  const drive = readFloats(sim.presentation.drive);
  const target = readFloats(sim.presentation.target);
  const tauPhi = sim.config.tauPhi;
  // Row a of Wρ(φ) + drive without the terms of units i and j.
  const rest = (a: number) => {
    const w = rowOf(net.params.W, a);
    let v = drive[a];
    for (let l = 0; l < n; l++) if (l !== i && l !== j) v += w[l] * rates[l];
    return { v, wi: w[i], wj: i === j ? 0 : w[j] };
  };
  const rowI = rest(i);
  const rowJ = rest(j);
  const units = net.readout === 'units';
  // The outputs without the terms of units i and j, and how they depend on those two.
  const y0 = new Float64Array(k);
  let dColI: Float32Array | null = null;
  let dColJ: Float32Array | null = null;
  if (units) for (let o = 0; o < k; o++) y0[o] = phi[n - k + o];
  else {
    const d = readFloats(net.params.d);
    const D = readFloats(net.params.D);
    dColI = colOf(net.params.D, i);
    dColJ = colOf(net.params.D, j);
    for (let o = 0; o < k; o++) {
      let v = d[o];
      for (let l = 0; l < n; l++) if (l !== i && l !== j) v += D[o * n + l] * rates[l];
      y0[o] = v;
    }
  }
  const loss = sim.presentation.loss;
  const y = new Float64Array(k);
  const field: FlowField = {
    i,
    j,
    range: [lo, hi],
    size,
    di: new Float32Array(size * size),
    dj: new Float32Array(size * size),
    outputError: new Float32Array(size * size),
  };
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const at = r * size + c;
      const pi = lo + ((hi - lo) * c) / (size - 1);
      const pj = i === j ? pi : lo + ((hi - lo) * r) / (size - 1);
      const ri = rateScalar(act, pi);
      const rj = rateScalar(act, pj);
      field.di[at] = (-pi + rowI.v + rowI.wi * ri + rowI.wj * rj) / tauPhi;
      field.dj[at] = (-pj + rowJ.v + rowJ.wi * ri + rowJ.wj * rj) / tauPhi;
      for (let o = 0; o < k; o++) {
        if (units) {
          const unit = n - k + o;
          y[o] = unit === i ? pi : unit === j ? pj : y0[o];
        } else y[o] = y0[o] + dColI![o] * ri + (i === j ? 0 : dColJ![o] * rj);
      }
      field.outputError[at] = lossGradientNorm(loss, y, target);
    }
  }
  return field;
}

/** ‖∂L/∂y‖ for one sample: mse y − t, cross-entropy softmax(y) − t. */
function lossGradientNorm(loss: LossKind, y: Float64Array, t: Float32Array): number {
  let s = 0;
  if (loss === 'mse') {
    for (let o = 0; o < y.length; o++) s += (y[o] - t[o]) ** 2;
    return Math.sqrt(s);
  }
  let max = -Infinity;
  for (const v of y) max = Math.max(max, v);
  let z = 0;
  for (const v of y) z += Math.exp(v - max);
  for (let o = 0; o < y.length; o++) s += (Math.exp(y[o] - max) / z - t[o]) ** 2;
  return Math.sqrt(s);
}

/**
 * The test samples the task view shows: all of a small split (up to 2,000), or 24 spread evenly
 * over MNIST's class-ordered split so that every digit appears.
 */
export function displayedTestIndices(data: Simulation['data']): number[] {
  const count = data.test.count;
  if (data.task !== 'mnist') return Array.from({ length: Math.min(count, 2000) }, (_, i) => i);
  const shown = Math.min(24, count);
  return Array.from({ length: shown }, (_, i) => Math.floor(((i + 0.5) * count) / shown));
}

/** Rows of a row-major [count, width] array. */
export function rowsOf(values: Float32Array, width: number, indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((row, r) => out.set(values.subarray(row * width, (row + 1) * width), r * width));
  return out;
}

/** The free network's output over [-1.2, 1.2]² (2-D tasks) and on the test samples shown. */
export function computeDecisionMap(sim: Simulation, sizeRequest: number): DecisionMap {
  return drain(decisionMapSliced(sim, sizeRequest));
}

/** computeDecisionMap in slices (its relaxations yield; stopping early frees everything). */
export function* decisionMapSliced(sim: Simulation, sizeRequest: number): Sliced<DecisionMap> {
  const data = sim.data;
  const extent: [number, number] = [-1.2, 1.2];
  const size = Math.max(2, Math.min(MAX_GRID, Math.round(sizeRequest)));
  const net = sim.trainer.net;
  function* outputs(x: Float32Array, count: number): Sliced<Float32Array> {
    if (count === 0) return new Float32Array(0);
    const xs = tf.tensor2d(x, [count, data.m]);
    const dummyTarget = tf.zeros([count, data.k]);
    const p = presentation(net, xs, dummyTarget, data.loss);
    try {
      const free = yield* relaxSliced(
        net,
        sim.trainer.ctrl,
        sim.trainer.solver,
        p,
        zeroState(count, net.n, net.k),
        false,
      );
      const out = tf.tidy(() => {
        if (data.classification && data.k === 2)
          return tf.slice(tf.softmax(free.state.y), [0, 1], [-1, 1]);
        if (data.classification) return tf.cast(tf.argMax(free.state.y, 1), 'float32');
        return tf.slice(free.state.y, [0, 0], [-1, 1]);
      });
      const v = readFloats(out);
      tf.dispose([out, free.state.phi, free.state.y, free.state.uI, free.state.psi]);
      return v;
    } catch (e) {
      // No free equilibrium (diverging weights): nothing to map.
      if (e instanceof RelaxDivergence) {
        disposeState(e.lastGood);
        return new Float32Array(count).fill(NaN);
      }
      throw e;
    } finally {
      tf.dispose([xs, dummyTarget, p.drive]);
    }
  }
  let values: Float32Array = new Float32Array(0);
  if (data.m === 2) {
    const grid = new Float32Array(size * size * 2);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        grid[2 * (r * size + c)] = extent[0] + ((extent[1] - extent[0]) * c) / (size - 1);
        grid[2 * (r * size + c) + 1] = extent[0] + ((extent[1] - extent[0]) * r) / (size - 1);
      }
    }
    values = yield* outputs(grid, size * size);
  }
  const shown = displayedTestIndices(data);
  const testPredictions = yield* outputs(rowsOf(data.test.x, data.m, shown), shown.length);
  return { size, extent, values, testPredictions };
}
