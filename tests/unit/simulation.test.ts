import { describe, expect, it, onTestFinished } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { DivergenceError, InputError } from '../../src/engine/errors';
import { PRESETS } from '../../src/engine/presets';
import { Simulation } from '../../src/engine/simulation';
import { selectBackend, tf } from '../../src/engine/tf';
import { computeDecisionMap, computeFlowField } from '../../src/worker/fields';

const figure1 = () => new Simulation(parseConfig(PRESETS['figure-1'].config));

describe('the interactive simulation', () => {
  it('free play settles at the free equilibrium; control moves the output towards its target', () => {
    const sim = figure1();
    sim.equilibrium();
    expect(sim.metrics.settled).toBe(true);
    const free = sim.read();
    for (let i = 0; i < sim.n; i++) expect(free.phi[i]).toBeCloseTo(sim.freePhi![i], 3);
    sim.setControl(true);
    sim.equilibrium();
    const controlled = sim.read();
    expect(Math.abs(controlled.y[0] - controlled.target[0])).toBeLessThan(
      0.5 * Math.abs(free.y[0] - free.target[0]),
    );
    expect(sim.metrics.controlPsi).toBeGreaterThan(0);
    expect(sim.metrics.displacement).toBeGreaterThan(0);
    sim.dispose();
  });

  it('the default demo: 15 Learns shrink ½‖ψ*‖² at least twofold', () => {
    const sim = figure1();
    const values: number[] = [];
    for (let i = 0; i < 15; i++) {
      sim.learn();
      sim.afterUpdate(true);
      values.push(sim.metrics.controlPsi);
    }
    expect(values[14]).toBeLessThan(values[0] / 2);
    expect(sim.lastUpdate?.W?.data.length).toBe(4);
    sim.dispose();
  });

  it('the local rule: a one-sample update is ψ*_post · ρ(φ*_pre) at its controlled equilibrium', () => {
    for (const readout of ['units', 'separate'] as const) {
      const sim = new Simulation(
        parseConfig({ ...PRESETS['figure-1'].config, hidden: 5, outputs: 2, readout }),
      );
      sim.learn();
      const at = sim.lastUpdateAt!;
      const dW = sim.lastUpdate!.W!;
      expect(at.psi.length).toBe(5);
      // ρ = tanh here: the rate read back is the activation of the φ read back.
      for (let j = 0; j < 5; j++) expect(at.rate[j]).toBeCloseTo(Math.tanh(at.phi[j]), 6);
      let largest = 0;
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 5; j++) {
          largest = Math.max(largest, Math.abs(dW.data[i * 5 + j]));
          expect(dW.data[i * 5 + j]).toBeCloseTo(at.psi[i] * at.rate[j], 6);
        }
      expect(largest).toBeGreaterThan(1e-3);
      sim.dispose();
    }
  });

  it('Figure 1 trains on once its control is float32 noise: a flickering ψ* is no divergence', async () => {
    // Before: on WASM, at update 24 (½‖ψ*‖² + ½‖u*‖² ≈ 1e-12) the controlled solve "did not
    // settle" and the update was rolled back as if it had made the network unstable.
    await import('@tensorflow/tfjs-backend-wasm');
    await selectBackend('wasm');
    onTestFinished(() => selectBackend('cpu'));
    const sim = figure1();
    sim.setControl(true);
    for (let i = 0; i < 3; i++) {
      sim.learn();
      sim.afterUpdate(false);
    }
    let last = null;
    for (let i = 0; i < 40; i++) last = sim.trainStep();
    expect(sim.trainer.updates).toBe(43);
    expect(last!.control).toBeLessThan(1e-10);
    sim.dispose();
  });

  it('diverging play keeps the last good state and says so', () => {
    const sim = new Simulation(
      parseConfig({ ...PRESETS['figure-1'].config, activation: 'linear', gain: 8 }),
    );
    let error: unknown;
    let before: Float32Array = sim.read().phi;
    // Calls of one trace stride each: a divergence keeps the state before the failing chunk,
    // and a chunk ends at every trace sample.
    const stride = sim.traceStride();
    try {
      for (let i = 0; i < 1000; i++) {
        before = sim.read().phi;
        sim.advance(stride);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DivergenceError);
    const after = sim.read().phi;
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(Array.from(after).every(Number.isFinite)).toBe(true);
    sim.dispose();
  });

  it('the flow field is the free vector field (checked against a direct evaluation)', () => {
    const sim = figure1();
    const field = computeFlowField(sim, { i: 0, j: 1, range: [-2, 2], size: 5 });
    const W = sim.trainer.net.params.W.arraySync() as number[][];
    const drive = sim.presentation.drive.arraySync() as number[][];
    // Grid point (row 1, col 3): φ = (−2 + 4·3/4, −2 + 4·1/4) = (1, −1).
    const phi = [1, -1];
    const r = phi.map(Math.tanh);
    const f = phi.map((p, a) => -p + W[a][0] * r[0] + W[a][1] * r[1] + drive[0][a]);
    expect(field.di[1 * 5 + 3]).toBeCloseTo(f[0], 4);
    expect(field.dj[1 * 5 + 3]).toBeCloseTo(f[1], 4);
    sim.dispose();
  });

  it('the flow field on a slice of a larger net equals a dense evaluation (both readouts)', () => {
    for (const readout of ['separate', 'units'] as const) {
      const sim = new Simulation(
        parseConfig({ ...PRESETS['figure-1'].config, hidden: 12, outputs: 3, inputs: 2, readout }),
      );
      sim.advance(7);
      const field = computeFlowField(sim, { i: 4, j: 10, range: [-1.5, 1.5], size: 6 });
      const W = sim.trainer.net.params.W.arraySync() as number[][];
      const D = sim.trainer.net.params.D.arraySync() as number[][];
      const d = sim.trainer.net.params.d.arraySync() as number[];
      const drive = (sim.presentation.drive.arraySync() as number[][])[0];
      const t = (sim.presentation.target.arraySync() as number[][])[0];
      const base = Array.from(sim.read().phi);
      for (const [r, c] of [
        [0, 0],
        [2, 5],
        [5, 3],
      ]) {
        const phi = base.slice();
        phi[4] = -1.5 + (3 * c) / 5;
        phi[10] = -1.5 + (3 * r) / 5;
        const rate = phi.map(Math.tanh);
        const f = (a: number) => -phi[a] + W[a].reduce((s, w, l) => s + w * rate[l], 0) + drive[a];
        expect(field.di[r * 6 + c]).toBeCloseTo(f(4), 4);
        expect(field.dj[r * 6 + c]).toBeCloseTo(f(10), 4);
        const y =
          readout === 'units'
            ? phi.slice(12 - 3)
            : D.map((row, o) => row.reduce((s, w, l) => s + w * rate[l], d[o]));
        const err = Math.hypot(...y.map((v, o) => v - t[o]));
        expect(field.outputError[r * 6 + c]).toBeCloseTo(err, 4);
      }
      sim.dispose();
    }
  });

  it('the decision map covers the plane for 2-D tasks', () => {
    const sim = new Simulation(
      parseConfig({ ...PRESETS['circle-lcp-di'].config, trainSize: 32, testSize: 16 }),
    );
    const map = computeDecisionMap(sim, 8);
    expect(map.values).toHaveLength(64);
    for (const v of map.values) expect(v).toBeGreaterThanOrEqual(0);
    expect(map.testPredictions).toHaveLength(16);
    sim.dispose();
  });

  it('refuses edits that would make the computation meaningless, changing nothing', () => {
    const sim = figure1();
    const W = Array.from(sim.trainer.net.params.W.dataSync());
    const x = Array.from(sim.read().x);
    for (const bad of [1e39, -2e6, NaN, Infinity]) {
      expect(() => sim.editSample('input', 0, bad)).toThrow(InputError);
      expect(() => sim.editParam('W', 0, 0, bad)).toThrow(/within ±1e\+6/);
    }
    expect(() => sim.editParam('W', 2, 0, 0.1)).toThrow(/no such entry/);
    expect(() => sim.editSample('target', 3, 0.1)).toThrow(/no such entry/);
    expect(Array.from(sim.trainer.net.params.W.dataSync())).toEqual(W);
    expect(Array.from(sim.read().x)).toEqual(x);
    sim.dispose();
  });

  it('does not leak tensors while stepping, learning and editing', () => {
    const sim = figure1();
    sim.advance(10);
    const before = tf.memory().numTensors;
    sim.setControl(true);
    sim.advance(100);
    sim.setControl(false);
    sim.learn();
    sim.afterUpdate(true);
    // The last update is held (not read back) until a snapshot reads it: once, not per update.
    const holding = tf.memory().numTensors;
    sim.learn();
    sim.afterUpdate(true);
    expect(tf.memory().numTensors).toBe(holding);
    expect(sim.lastUpdate?.W?.data.length).toBeGreaterThan(0);
    expect(sim.appliedStep?.W?.data.length).toBeGreaterThan(0);
    sim.editParam('W', 0, 1, 0.3);
    sim.editSample('target', 0, 0.2);
    sim.read();
    sim.advance(10);
    expect(tf.memory().numTensors).toBe(before);
    sim.dispose();
  });
});
