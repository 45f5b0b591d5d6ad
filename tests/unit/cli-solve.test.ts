import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { INPUT_LIMIT } from '../../src/engine/config';
import { cliInProcess, contractViolations, type CliResult } from '../support/cli';
import { randomScenario } from '../support/randomScenario';

const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lcp-cli-'));
});

function writeScenario(content: unknown): string {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Run `lcp solve FILE` as a user would: a process through tsx, the entry of `npm run lcp`. */
async function spawned(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** `lcp solve FILE` in this process (the same runCli as the entry; no start-up cost). */
async function cli(content: unknown): Promise<CliResult> {
  return cliInProcess(['solve', writeScenario(content)]);
}

function expectOneLineError(r: CliResult, code: number, field: RegExp) {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(field);
  expect(contractViolations(r, [dir])).toEqual([]);
}

type S = ReturnType<typeof randomScenario>;

describe('lcp solve', () => {
  it('prints the free and controlled results as JSON and exits 0 (a process, as `npm run lcp`)', async () => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 1 });
    const r = await spawned(['solve', writeScenario(s)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['free', 'controlled']);
    expect(out.free.phi).toHaveLength(4);
    expect(out.free.gradient.W).toHaveLength(4);
    expect(out.free.gradient.U[0]).toHaveLength(2);
    expect(out.controlled.u).toHaveLength(2);
    expect(out.controlled.update.D[0]).toHaveLength(4);
    expect(out.controlled.converged).toBe(true);
  });

  it('reports "converged": false (exit 0) when maxSteps is too small', async () => {
    const s = randomScenario({ n: 4, seed: 2, maxSteps: 3 });
    const r = await cli(s);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).controlled.converged).toBe(false);
  });

  it.each([
    ['a missing field', (s: S) => ({ ...s, x: undefined }), /\bx\b.*missing/],
    [
      'a wrong shape',
      (s: S) => ({
        ...s,
        model: { ...s.model, U: s.model.U.slice(1) },
      }),
      /model\.U: expected a 4×2 matrix/,
    ],
    [
      'an unknown kind',
      (s: S) => ({
        ...s,
        controller: { ...s.controller, kind: 'magic' },
      }),
      /controller\.kind/,
    ],
    [
      'α < 0',
      (s: S) => ({
        ...s,
        controller: { ...s.controller, alpha: -1 },
      }),
      /controller\.alpha: must be ≥ 0/,
    ],
    [
      'k_i < 0',
      (s: S) => ({
        ...s,
        controller: { ...s.controller, ki: -0.5 },
      }),
      /controller\.ki/,
    ],
    [
      'τ ≤ 0',
      (s: S) => ({
        ...s,
        controller: { ...s.controller, tauPsi: 0 },
      }),
      /controller\.tauPsi: must be > 0/,
    ],
    ['dt ≤ 0', (s: S) => ({ ...s, solver: { ...s.solver, dt: 0 } }), /solver\.dt: must be > 0/],
    ['tol ≤ 0', (s: S) => ({ ...s, solver: { ...s.solver, tol: -1 } }), /solver\.tol/],
    [
      'maxSteps < 1',
      (s: S) => ({ ...s, solver: { ...s.solver, maxSteps: 0 } }),
      /solver\.maxSteps/,
    ],
    [
      'a class index out of range',
      (s: S) => ({ ...s, loss: 'cross-entropy', target: 7 }),
      /target/,
    ],
    [
      'linear feedback without Q',
      (s: S) => ({
        ...s,
        model: { ...s.model, Q: undefined },
        controller: { ...s.controller, kind: 'linear-feedback' },
      }),
      /model\.Q/,
    ],
    [
      'an unknown field',
      (s: S) => ({
        ...s,
        controller: { ...s.controller, alpah: 1 },
      }),
      /alpah.*unknown field/,
    ],
  ])('rejects %s: exit 2, one line naming the field', async (_label, mutate, field) => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 3 });
    expectOneLineError(await cli(mutate(s)), 2, field);
  });

  it('rejects a non-finite number (1e999 parses to Infinity)', async () => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 3 });
    const text = JSON.stringify(s).replace(/"b":\[[^,]*/, '"b":[1e999');
    expectOneLineError(await cli(text), 2, /model\.b\[0\]/);
  });

  it('rejects malformed JSON and a missing file, naming the file but not its directory', async () => {
    expectOneLineError(await cli('{ "model": '), 2, /not valid JSON/);
    const r = await spawned(['solve', join(dir, 'nope.json')]);
    expectOneLineError(r, 2, /^error: nope\.json: cannot read the file \(ENOENT\)$/m);
    expectOneLineError(await cliInProcess(['solve', dir]), 2, /is a directory/);
    expectOneLineError(await cli(''), 2, /is empty/);
  });

  it.each([
    [
      'dt below float32 resolution (dt = 1e-300 "converged" at the zero state)',
      (s: S) => ({ ...s, solver: { ...s.solver, dt: 1e-300 } }),
      /solver\.dt, controller\.tauPhi, controller\.tauY, controller\.tauU, controller\.tauPsi: dt\/τ = 1e-300/,
    ],
    [
      'dt/τ_u below float32 resolution',
      (s: S) => ({
        ...s,
        solver: { ...s.solver, dt: 1e-3 },
        controller: { ...s.controller, tauU: 1e5 },
      }),
      /solver\.dt, controller\.tauU: dt\/τ = 1e-8 \(τ_u\) is below float32 resolution/,
    ],
    [
      'tol below float32 resolution',
      (s: S) => ({ ...s, solver: { ...s.solver, tol: 1e-300 } }),
      /solver\.tol: 1e-300 is below the smallest normal float32/,
    ],
    [
      'an input beyond INPUT_LIMIT (1e39 overflows float32)',
      (s: S) => ({ ...s, x: [1e39, 0.5] }),
      /x\[0\]: magnitude 1e39 exceeds 1e6/,
    ],
    [
      'a target beyond INPUT_LIMIT',
      (s: S) => ({ ...s, target: [0.5, -2 * INPUT_LIMIT] }),
      /target\[1\]: magnitude 2e6 exceeds 1e6/,
    ],
    [
      'a weight beyond float32',
      (s: S) => ({ ...s, model: { ...s.model, b: [1e39, 0, 0, 0] } }),
      /model\.b\[0\]: beyond float32's range/,
    ],
    [
      'k_i = k_p = 0 (no control at all)',
      (s: S) => ({ ...s, controller: { ...s.controller, ki: 0, kp: 0 } }),
      /controller\.ki, controller\.kp: k_i = 0 and k_p = 0 give no control/,
    ],
    [
      'energy with α = 0 (threw deep in the engine)',
      (s: S) => ({ ...s, controller: { ...s.controller, kind: 'energy', alpha: 0 } }),
      /controller\.alpha: must be > 0 for energy/,
    ],
    [
      'cross-entropy with one output (crashed with a stack trace)',
      (s: S) => ({
        ...s,
        model: { ...s.model, D: [s.model.D[0]], d: [0], Q: s.model.Q.map((r) => [r[0]]) },
        loss: 'cross-entropy',
        target: 0,
      }),
      /model\.d: cross-entropy needs at least 2 outputs/,
    ],
    [
      'maxSteps beyond 10⁶',
      (s: S) => ({ ...s, solver: { ...s.solver, maxSteps: 1e12 } }),
      /solver\.maxSteps: must be ≤ 1000000/,
    ],
    ['a null document', () => null, /^error: \(root\): expected a JSON object, got null$/m],
    ['an array document', () => [], /^error: \(root\): expected a JSON object, got an array$/m],
  ])('refuses %s: exit 2, one line naming the field', async (_label, mutate, field) => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 3 });
    expectOneLineError(await cli(mutate(s)), 2, field);
  });

  it('reports 10⁶ bad entries in one bounded line: the first 20 and a count', async () => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 3 });
    const before = process.memoryUsage().rss;
    const r = await cli({ ...s, x: new Array(1_000_000).fill('x') });
    expectOneLineError(r, 2, /x\[0\]: expected a number, got a string/);
    expect(r.stderr).toMatch(
      /x\[19\]: expected a number, got a string; … and 999980 more problems$/m,
    );
    expect(r.stderr).not.toMatch(/x\[20\]/);
    expect(r.stderr.length).toBeLessThan(2000);
    // The 60 MB line of 10⁶ zod issues took 1.3 GB; the file itself is 4 MB.
    expect(process.memoryUsage().rss - before).toBeLessThan(300 * 2 ** 20);
  });

  it('reports a million good numbers of the wrong shape in one short line', async () => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 3 });
    const r = await cli({ ...s, x: new Array(1_000_000).fill(0.5) });
    expectOneLineError(r, 2, /model\.U: expected a 4×1000000 matrix/);
    expect(r.stderr.length).toBeLessThan(500);
  });

  it('exits 3 with one line when the dynamics diverge (large-gain W, linear units)', async () => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 4, activation: 'linear', gain: 6 });
    expectOneLineError(await spawned(['solve', writeScenario(s)]), 3, /^diverged: /);
  });
});
