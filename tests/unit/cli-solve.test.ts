import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomScenario } from '../support/randomScenario';

const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lcp-cli-'));
});

/** Run `lcp solve FILE` as a user would (tsx, same entry as `npm run lcp`). */
async function cli(
  content: string | object,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  try {
    const { stdout, stderr } = await run('node', [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'solve',
      file,
    ]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function expectOneLineError(
  r: { code: number; stdout: string; stderr: string },
  code: number,
  field: RegExp,
) {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(field);
}

describe('lcp solve', () => {
  it('prints the free and controlled results as JSON and exits 0', async () => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 1 });
    const r = await cli(s);
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
    [
      'a missing field',
      (s: ReturnType<typeof randomScenario>) => ({ ...s, x: undefined }),
      /\bx\b.*missing/,
    ],
    [
      'a wrong shape',
      (s: ReturnType<typeof randomScenario>) => ({
        ...s,
        model: { ...s.model, U: s.model.U.slice(1) },
      }),
      /model\.U: expected a 4×2 matrix/,
    ],
    [
      'an unknown kind',
      (s: ReturnType<typeof randomScenario>) => ({
        ...s,
        controller: { ...s.controller, kind: 'magic' },
      }),
      /controller\.kind/,
    ],
    [
      'α < 0',
      (s: ReturnType<typeof randomScenario>) => ({
        ...s,
        controller: { ...s.controller, alpha: -1 },
      }),
      /controller\.alpha: must be ≥ 0/,
    ],
    [
      'k_i < 0',
      (s: ReturnType<typeof randomScenario>) => ({
        ...s,
        controller: { ...s.controller, ki: -0.5 },
      }),
      /controller\.ki/,
    ],
    [
      'τ ≤ 0',
      (s: ReturnType<typeof randomScenario>) => ({
        ...s,
        controller: { ...s.controller, tauPsi: 0 },
      }),
      /controller\.tauPsi: must be > 0/,
    ],
    [
      'dt ≤ 0',
      (s: ReturnType<typeof randomScenario>) => ({ ...s, solver: { ...s.solver, dt: 0 } }),
      /solver\.dt: must be > 0/,
    ],
    [
      'tol ≤ 0',
      (s: ReturnType<typeof randomScenario>) => ({ ...s, solver: { ...s.solver, tol: -1 } }),
      /solver\.tol/,
    ],
    [
      'maxSteps < 1',
      (s: ReturnType<typeof randomScenario>) => ({ ...s, solver: { ...s.solver, maxSteps: 0 } }),
      /solver\.maxSteps/,
    ],
    [
      'a class index out of range',
      (s: ReturnType<typeof randomScenario>) => ({ ...s, loss: 'cross-entropy', target: 7 }),
      /target/,
    ],
    [
      'linear feedback without Q',
      (s: ReturnType<typeof randomScenario>) => ({
        ...s,
        model: { ...s.model, Q: undefined },
        controller: { ...s.controller, kind: 'linear-feedback' },
      }),
      /model\.Q/,
    ],
    [
      'an unknown field',
      (s: ReturnType<typeof randomScenario>) => ({
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

  it('rejects malformed JSON and a missing file', async () => {
    expectOneLineError(await cli('{ "model": '), 2, /not valid JSON/);
    const r = await run('node', [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'solve',
      join(dir, 'nope.json'),
    ]).catch((e) => e);
    expectOneLineError(r, 2, /cannot read the file \(ENOENT\)/);
  });

  it('exits 3 with one line when the dynamics diverge (large-gain W, linear units)', async () => {
    const s = randomScenario({ n: 4, m: 2, k: 2, seed: 4, activation: 'linear', gain: 6 });
    expectOneLineError(await cli(s), 3, /diverged/);
  });
});
