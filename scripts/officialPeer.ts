/**
 * The paper's own code as the benchmark's peer for whole MNIST epochs (issue 10): a checkout of
 * github.com/seijin-kobayashi/least-control — `LCP_OFFICIAL_REPO` (a directory holding
 * fixpoint_solver.py), else the local mirror beside the project (../.mirror/…, a bare git
 * repository, extracted to a temporary directory) — driven by scripts/official_epoch.py on this
 * project's digits (scripts/officialData.ts), with the same standardised inputs, one thread.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PYTHON, peerEnv } from './peer';

const ROOT = resolve(import.meta.dirname, '..');
const MIRROR = resolve(ROOT, '../.mirror/seijin-kobayashi+least-control/repo');

export interface OfficialEpoch {
  trainer: 'rbp' | 'lcp-di';
  threads: number;
  seconds: number;
  evalSeconds: number;
  testAccuracy: number;
  stepsPerSolve: number;
}

/** The checkout to run (extracted from the mirror if need be), or why there is none. */
export function officialCheckout(): { dir: string } | { problem: string } {
  const given = process.env.LCP_OFFICIAL_REPO;
  if (given)
    return existsSync(join(given, 'fixpoint_solver.py'))
      ? { dir: given }
      : { problem: `LCP_OFFICIAL_REPO=${given} holds no fixpoint_solver.py` };
  if (!existsSync(MIRROR)) return { problem: `no checkout (set LCP_OFFICIAL_REPO; no ${MIRROR})` };
  if (!existsSync(PYTHON)) return { problem: `no ${PYTHON}` };
  const dir = mkdtempSync(join(tmpdir(), 'least-control-'));
  execFileSync('sh', ['-c', `git --git-dir="${MIRROR}" archive HEAD | tar -x -C "${dir}"`]);
  return { dir };
}

/** Write the digits once per run (standardised, as the presets read them). */
export function officialData(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lcp-digits-'));
  execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/officialData.ts', dir, 'standardised'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return dir;
}

/** One epoch of `trainer` with the paper's code. */
export function officialEpoch(
  repo: string,
  data: string,
  trainer: OfficialEpoch['trainer'],
  threads = 1,
): OfficialEpoch {
  const text = execFileSync(
    PYTHON,
    [
      resolve(ROOT, 'scripts/official_epoch.py'),
      '--repo',
      repo,
      '--data',
      data,
      '--trainer',
      trainer,
      '--threads',
      String(threads),
    ],
    { encoding: 'utf8', env: peerEnv(threads) },
  );
  return JSON.parse(text.trim().split('\n').pop()!) as OfficialEpoch;
}
