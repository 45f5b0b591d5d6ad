import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTrainConfig } from '../../src/cli/train';
import { InputError } from '../../src/engine/errors';
import { PRESETS } from '../../src/engine/presets';
import { cliInProcess, contractViolations, type CliResult } from '../support/cli';

const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lcp-train-'));
});

/** `lcp train …` in this process (the runCli of the entry). */
function train(args: string[]): Promise<CliResult> {
  return cliInProcess(['train', ...args]);
}

function configFile(content: unknown): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function expectRefused(r: CliResult, pattern: RegExp) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(contractViolations(r, [dir])).toEqual([]);
  expect(r.stderr).toMatch(pattern);
}

const PRESET_LIST = new RegExp(`presets: ${Object.keys(PRESETS).join(', ')}`);

describe('lcp train', () => {
  it('a short circle run learns: well above chance, loss and control falling, LCP aligned with −∇L', async () => {
    const r = await train([
      'circle-lcp-di',
      'epochs=3',
      'trainSize=1000',
      'testSize=500',
      'seed=3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3]);
    for (const key of ['loss', 'accuracy', 'testLoss', 'testAccuracy', 'control', 'cosine'])
      for (const l of lines) expect(Number.isFinite(l[key]), key).toBe(true);
    const [first, , last] = lines;
    // Two balanced classes: chance is 50 % accuracy and a loss of ln 2 ≈ 0.693.
    expect(last.testAccuracy).toBeGreaterThan(0.85);
    expect(last.accuracy).toBeGreaterThan(0.8);
    expect(last.testLoss).toBeLessThan(Math.log(2) - 0.2);
    expect(last.loss).toBeLessThan(first.loss - 0.15);
    // Learning removes the need for control (DESIGN.md §1).
    expect(last.control).toBeLessThan(0.8 * first.control);
    // The LCP update follows the gradient (cosine with −∇L on a fixed batch).
    for (const l of lines) expect(l.cosine).toBeGreaterThan(0.7);
    // Every solve settled well within the preset's 1000 steps.
    for (const l of lines) expect(l.steps).toBeLessThan(500);
    // Each solve's steps apart (as the paper's code logs them): `steps` is the controlled one.
    for (const l of lines) {
      expect(l.stepsControlled).toBe(l.steps);
      expect(l.stepsFree).toBeGreaterThan(1);
      expect(l.stepsFree).toBeLessThan(1000);
      expect(l).not.toHaveProperty('stepsAdjoint');
    }
    expect(last.seconds).toBeGreaterThan(first.seconds);
    // An epoch's own updates and test evaluation, timed apart, fit in the time since the start.
    for (const l of lines) {
      expect(l.trainSeconds).toBeGreaterThan(0);
      expect(l.evalSeconds).toBeGreaterThan(0);
    }
    expect(first.trainSeconds + first.evalSeconds).toBeLessThanOrEqual(first.seconds);
    expect(last.trainSeconds + last.evalSeconds).toBeLessThan(last.seconds - first.seconds + 1e-3);
  });

  it('RBP reports its forward and adjoint steps; each stops at its cap', async () => {
    const base = ['circle-lcp-di', 'topology=recurrent', 'hidden=8', 'method=rbp', 'epochs=1'];
    const sizes = ['trainSize=64', 'testSize=32', 'seed=2'];
    const line = async (extra: string[]) => {
      const r = await train([...base, ...sizes, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim());
    };
    const free = await line(['rbpTol=1e-6', 'rbpMaxSteps=1000']);
    expect(free.steps).toBe(free.stepsFree);
    expect(free.stepsFree).toBeGreaterThan(1);
    expect(free.stepsAdjoint).toBeGreaterThan(1);
    expect(free).not.toHaveProperty('stepsControlled');
    // A cap below both solves' needs: the free and the adjoint solve run it out (one batch: an
    // unsettled free solve after an update would count as a divergence).
    const capped = await line(['rbpTol=1e-9', 'rbpMaxSteps=3', 'batch=64']);
    expect([capped.stepsFree, capped.stepsAdjoint]).toEqual([3, 3]);
  });

  it('rejects a config file with three bad fields, naming all three (exit 2)', async () => {
    const file = configFile({
      preset: 'circle-lcp-di',
      alpha: -3,
      batch: 0,
      activation: 'relu',
      epochs: 1,
    });
    const r = await train([file]);
    expectRefused(r, /^error: /);
    for (const field of ['alpha', 'batch', 'activation'])
      expect(r.stderr).toMatch(new RegExp(`\\b${field}:`));
  });

  it('rejects an unknown preset, listing the presets, and a bad override', async () => {
    expectRefused(
      await train(['no-such-preset']),
      /preset: unknown preset "no-such-preset" and no such file/,
    );
    expectRefused(await train(['circle-lcp-di', 'epochs=zero']), /epochs:/);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'looks presets up by own keys only: "%s" is an unknown preset',
    async (name) => {
      const r = await train([name]);
      expectRefused(r, new RegExp(`unknown preset "${name}"`));
      expect(r.stderr).toMatch(PRESET_LIST);
      const inFile = await train([configFile({ preset: name })]);
      expectRefused(inFile, new RegExp(`preset: unknown preset "${name}"`));
    },
  );

  it('refuses prototype keys as overrides and as fields of a file', async () => {
    expectRefused(
      await train(['circle-lcp-di', '__proto__=1', 'constructor=2']),
      /^error: __proto__: unknown field; constructor: unknown field$/m,
    );
    expectRefused(
      await train([configFile('{"__proto__": {"epochs": 1}, "toString": 1}')]),
      /__proto__, toString: unknown fields/,
    );
  });

  it.each([
    ['null', 'null'],
    ['42', 'a number'],
    ['[]', 'an array'],
    ['true', 'a boolean'],
    ['"circle-lcp-di"', 'a string'],
  ])('refuses a config file holding %s: "expected a JSON object"', async (text, kind) => {
    expectRefused(
      await train([configFile(text)]),
      new RegExp(`expected a JSON object of configuration fields, got ${kind}$`, 'm'),
    );
  });

  it('refuses backend=webgl with a clear message; runs on wasm', async () => {
    expectRefused(
      await train(['circle-lcp-di', 'backend=webgl']),
      /^error: backend: webgl is not available in the CLI \(Node has no WebGL\); use auto, wasm or cpu$/m,
    );
    const r = await train([
      'circle-lcp-di',
      'backend=wasm',
      'epochs=1',
      'trainSize=32',
      'testSize=32',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).epoch).toBe(1);
  });

  it.each([
    ['dt = 1e-300', ['dt=1e-300'], /dt, tauPhi, tauY, tauU, tauPsi: .*below float32 resolution/],
    ['tol = 1e-40', ['tol=1e-40'], /tol: 1e-40 is below the smallest normal float32/],
    ['k_i = k_p = 0', ['ki=0', 'kp=0'], /ki, kp: k_i = 0 and k_p = 0 give no control at all/],
    ['energy with k_i = 0', ['controller=energy', 'ki=0'], /ki: must be > 0 for energy/],
    ['energy with α = 0', ['controller=energy', 'alpha=0'], /alpha: must be > 0 for energy/],
    [
      'layers = 8 × 4096',
      ['topology=layered', `layers=${new Array(8).fill(4096).join(',')}`],
      /layers: 8 × 4096 units need 1\.1e9 weights; at most 3\.4e7/,
    ],
    [
      '33 layers',
      [`layers=${new Array(33).fill(2).join(',')}`],
      /layers: at most 32 entries, got 33/,
    ],
    [
      'a million bad layer sizes',
      [`layers=${new Array(1_000_000).fill('a').join(',')}`],
      /layers: at most 32 entries, got 1000000/,
    ],
    [
      '4096 units with dynamic-inversion-kp on MNIST',
      ['task=mnist', 'topology=recurrent', 'hidden=4096', 'controller=dynamic-inversion-kp'],
      /hidden: 4096 units with dynamic-inversion-kp's B and F need 3\.7e7 weights; at most 3\.4e7/,
    ],
  ])('refuses %s, naming the fields and the bound (exit 2)', async (_label, overrides, pattern) => {
    expectRefused(await train(['circle-lcp-di', ...overrides]), pattern);
  });

  it('allows 4096 recurrent units on MNIST (slow but possible)', async () => {
    const config = await loadTrainConfig('mnist-rnn-lcp-di', ['hidden=4096']);
    expect(config.hidden).toBe(4096);
  });

  it('validates a file and the overrides together: an override can fix the file', async () => {
    const file = configFile({ preset: 'circle-lcp-di', controller: 'energy', alpha: 0 });
    await expect(loadTrainConfig(file, [])).rejects.toThrow(InputError);
    const config = await loadTrainConfig(file, ['alpha=1']);
    expect(config.alpha).toBe(1);
    expect(config.controller).toBe('energy');
  });

  it('as a process: a bad preset exits 2 with one line and nothing on stdout', async () => {
    let r: CliResult;
    try {
      const { stdout, stderr } = await run('node', [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'train',
        'toString',
      ]);
      r = { code: 0, stdout, stderr };
    } catch (e) {
      r = e as CliResult;
    }
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: preset: unknown preset "toString" and no such file/);
    expect(contractViolations(r)).toEqual([]);
  });
});
