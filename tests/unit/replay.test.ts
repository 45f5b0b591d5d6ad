/**
 * What an action log's replay relies on (engine/actionLog.ts): steps give the same state however
 * they are grouped into calls, and an update stopped before it applies leaves no trace (the next
 * update is the one it would have been: same samples, same noise).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { PRESETS } from '../../src/engine/presets';
import { seededStreams } from '../../src/engine/rng';
import { Simulation } from '../../src/engine/simulation';
import { createDataset } from '../../src/engine/tasks';
import { Trainer } from '../../src/engine/trainer';

const weights = (sim: Simulation) =>
  Object.fromEntries(Object.entries(sim.readWeights()).map(([k, m]) => [k, Array.from(m!.data)]));

describe('replaying an action log', () => {
  it('n Euler steps are the same state in one call or in many', () => {
    for (const preset of ['figure-1', 'circle-lcp-di']) {
      const a = new Simulation(parseConfig(PRESETS[preset].config));
      const b = new Simulation(parseConfig(PRESETS[preset].config));
      a.setControl(true);
      b.setControl(true);
      a.advance(37);
      for (const n of [1, 5, 11, 20]) b.advance(n);
      expect(Array.from(b.read().phi)).toEqual(Array.from(a.read().phi));
      expect(Array.from(b.read().psi)).toEqual(Array.from(a.read().psi));
      expect(b.step).toBe(a.step);
      a.dispose();
      b.dispose();
    }
  });

  it('a Train update stopped halfway leaves no trace: the next updates are as without it', () => {
    // Learned Q: the update draws noise (its own stream) and takes a batch from the seeded order.
    const config = parseConfig({
      ...PRESETS['circle-lcp-di'].config,
      controller: 'linear-feedback',
      learnQ: true,
      batch: 16,
      noiseSteps: 400,
    });
    const stopped = new Simulation(config);
    const plain = new Simulation(config);
    const work = stopped.trainStepSliced();
    let stage = '';
    for (let r = work.next(); !r.done; r = work.next()) {
      stage = r.value.stage;
      if (/noise/.test(stage)) break;
    }
    expect(stage).toMatch(/noise/);
    work.return(undefined as never);
    expect(stopped.trainer.updates).toBe(0);
    for (let i = 0; i < 2; i++) {
      stopped.trainStep();
      plain.trainStep();
    }
    expect(weights(stopped)).toEqual(weights(plain));
    // The order goes on in step too: the next sample shown is the same.
    stopped.nextSample();
    plain.nextSample();
    expect(stopped.sample).toBe(plain.sample);
    stopped.dispose();
    plain.dispose();
  });
});

describe('Train and the CLI', () => {
  it("an epoch of Train from a fresh network is the CLI's epoch, update for update", () => {
    // 1000 samples in batches of 32: the epoch ends with a partial batch of 8.
    const config = parseConfig({ ...PRESETS['circle-lcp-di'].config, trainSize: 1000, batch: 32 });
    const sim = new Simulation(config);
    let last = null;
    for (let i = 0; i < sim.trainer.batchesPerEpoch; i++) last = sim.trainStep();
    const streams = seededStreams(config.seed);
    const data = createDataset(config, streams.stream('data'));
    const trainer = new Trainer(config, data, {
      init: streams.stream('init'),
      order: streams.stream('order'),
      noise: streams.stream('noise'),
    });
    const epoch = trainer.trainEpoch();
    expect(last?.testLoss).toBe(epoch.testLoss);
    expect(last?.testAccuracy).toBe(epoch.testAccuracy);
    const cli = Object.fromEntries(
      Object.entries(trainer.net.params).map(([k, t]) => [k, Array.from(t!.dataSync())]),
    );
    expect(weights(sim)).toEqual(cli);
    trainer.dispose();
    sim.dispose();
  });
});
