/**
 * Maps the views draw but the main thread must not compute: the free dynamics' vector field on
 * a 2-D slice through the current state, and the free network's predictions over the input
 * plane. Both evaluate the whole grid as one batch on the engine's backend.
 */
import { rate } from '../engine/activations';
import { disposeState, presentation, zeroState } from '../engine/dynamics';
import { lossGradient } from '../engine/losses';
import { outputUnits } from '../engine/model';
import { drain, type Sliced } from '../engine/sliced';
import { RelaxDivergence, relaxSliced } from '../engine/solver';
import type { Simulation } from '../engine/simulation';
import { readFloats, tf } from '../engine/tf';
import type { DecisionMap, FlowField, FlowFieldRequest } from './protocol';

/** Largest grid side accepted (size² grid points in one batch). */
const MAX_GRID = 64;

/**
 * On a size×size grid over φ_i, φ_j ∈ range (other units at the current state):
 * dφ/dt = (−φ + Wρ(φ) + Ux + b)/τ_φ for units i and j, and ‖∂L/∂y‖ at the output the free
 * network would read there — ‖Dρ(φ) + d − t‖ for mse with a separate readout, ‖φ_y − t‖ with
 * readout `units` — whose zero set is the target set.
 */
export function computeFlowField(sim: Simulation, req: FlowFieldRequest): FlowField {
  const size = Math.max(2, Math.min(MAX_GRID, Math.round(req.size)));
  const n = sim.n;
  const i = Math.min(req.i, n - 1);
  const j = Math.min(req.j, n - 1);
  const base = readFloats(sim.dynState.phi);
  const grid = new Float32Array(size * size * n);
  const [lo, hi] = req.range;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const row = (r * size + c) * n;
      grid.set(base, row);
      grid[row + i] = lo + ((hi - lo) * c) / (size - 1);
      grid[row + j] = lo + ((hi - lo) * r) / (size - 1);
    }
  }
  const net = sim.trainer.net;
  const p = sim.presentation;
  const tauPhi = sim.config.tauPhi;
  const [di, dj, err] = tf.tidy(() => {
    const phi = tf.tensor2d(grid, [size * size, n]);
    const r = rate(net.activation, phi);
    const drive = tf.add(tf.matMul(r, net.params.W, false, true), p.drive);
    const velocity = tf.div(tf.sub(drive, phi), tauPhi);
    const y =
      net.readout === 'units'
        ? outputUnits(net, phi)
        : tf.add(tf.matMul(r, net.params.D, false, true), net.params.d);
    const target = tf.tile(p.target, [size * size, 1]);
    const e = tf.norm(lossGradient(p.loss, y, target), 'euclidean', 1);
    return [tf.slice(velocity, [0, i], [-1, 1]), tf.slice(velocity, [0, j], [-1, 1]), e];
  });
  const field: FlowField = {
    i,
    j,
    range: [lo, hi],
    size,
    di: readFloats(di),
    dj: readFloats(dj),
    outputError: readFloats(err),
  };
  tf.dispose([di, dj, err]);
  return field;
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
