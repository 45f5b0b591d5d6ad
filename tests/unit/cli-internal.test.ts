/**
 * Exit 1: a fault of the CLI itself (not of its input) is one line that says where to report it,
 * without the stack or this machine's paths. The engine cannot be made to fail from the outside
 * (that is the point of the input checks), so solveScenario is replaced by one that throws.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EXIT_INTERNAL, redactPaths, reportError } from '../../src/cli/cli';
import { cliInProcess } from '../support/cli';
import { randomScenario } from '../support/randomScenario';

vi.mock('../../src/engine/scenario', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/engine/scenario')>()),
  solveScenario: () => {
    throw new TypeError(`Cannot read properties of undefined (reading 'shape')
    at relax (${process.cwd()}/src/engine/solver.ts:12:3)`);
  },
}));

describe('lcp internal errors', () => {
  it('exit 1, one line naming the error and where to report it; no stack, no path', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lcp-internal-')), 's.json');
    writeFileSync(file, JSON.stringify(randomScenario({ n: 3, seed: 1 })));
    const r = await cliInProcess(['solve', file]);
    expect(r.code).toBe(EXIT_INTERNAL);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^internal error: TypeError: Cannot read properties of undefined/);
    expect(r.stderr).toMatch(/please report it on the project’s issue tracker/);
    expect(r.stderr).toMatch(/^[^\n]*\n$/);
    expect(r.stderr).not.toContain(process.cwd());
    expect(r.stderr).toContain('…/solver.ts:12:3');
  });

  it('prints the stack only when asked (LCP_DEBUG=1)', () => {
    const lines: string[] = [];
    const error = new Error('boom');
    expect(reportError(error, { err: (t) => lines.push(t), debug: true })).toBe(EXIT_INTERNAL);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('boom');
  });

  it('reduces absolute paths to their last component, and leaves ratios alone', () => {
    expect(redactPaths('at /home/a/b/c.ts:1:2 and file:///x/y/z.js')).toBe(
      'at …/c.ts:1:2 and …/z.js',
    );
    expect(redactPaths('C:\\Users\\me\\x.json')).toBe('…\\x.json');
    expect(redactPaths('dt/τ_φ = 1e-8, k_i/α, 1/(k·n), /τ')).toBe(
      'dt/τ_φ = 1e-8, k_i/α, 1/(k·n), /τ',
    );
  });
});
