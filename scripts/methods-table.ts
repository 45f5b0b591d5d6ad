/**
 * Every training method on the same network per task, through the real CLI, one process at a
 * time: `npx tsx scripts/methods-table.ts [--tasks circle,spiral] [--seeds 1,2,3] [--methods LCP-DI,BP]`.
 * Per task it prints the exact commands and a markdown table of each run's last epoch line: test
 * accuracy (mean ± sample sd over the seeds, and per seed), seconds per epoch and mean solver
 * steps per batch. A run the CLI refuses (exit 2) or stops (exit 3) is listed with its reason.
 * Progress goes to stderr; stdout is markdown for docs/results.md.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** A training method: overrides of the task's preset (the network stays the preset's). */
export interface Method {
  name: string;
  overrides: string[];
}

export const METHODS: Method[] = [
  { name: 'LCP-DI', overrides: ['method=lcp', 'controller=dynamic-inversion'] },
  { name: 'LCP-DI-KP', overrides: ['method=lcp', 'controller=dynamic-inversion-kp'] },
  { name: 'LCP-LF', overrides: ['method=lcp', 'controller=linear-feedback', 'learnQ=false'] },
  { name: 'LCP-LF-Q', overrides: ['method=lcp', 'controller=linear-feedback', 'learnQ=true'] },
  { name: 'LCP-EBD', overrides: ['method=lcp', 'controller=energy'] },
  { name: 'BP', overrides: ['method=rbp'] },
  { name: 'EP', overrides: ['method=ep'] },
];

/** Each task's preset: the network and settings every method shares. */
export const TASKS: Record<string, string> = { circle: 'circle-lcp-di', spiral: 'spiral-lcp-di' };

/** The fields of the CLI's epoch line read here (docs/cli.md, `train`). */
export interface EpochLine {
  epoch: number;
  testAccuracy: number | null;
  cosine: number | null;
  seconds: number;
  stepsFree?: number;
  stepsControlled?: number;
  stepsAdjoint?: number;
}

/** One CLI run: its last epoch line (if any) and, if it did not finish, the CLI's reason. */
export interface RunResult {
  seed: number;
  last: EpochLine | null;
  failure: string | null;
}

/** A run's result from the CLI's stdout (one JSON line per epoch), stderr and exit code. */
export function parseRun(seed: number, stdout: string, stderr: string, code: number): RunResult {
  const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
  const last = lines.length ? (JSON.parse(lines[lines.length - 1]) as EpochLine) : null;
  const reason = stderr
    .split('\n')
    .filter((l) => /^(error|diverged|internal error):/.test(l))
    .pop();
  return { seed, last, failure: code === 0 ? null : (reason ?? `exit code ${code}`) };
}

/** mean = Σv/n and sample sd = √(Σ(v − mean)²/(n − 1)) (0 for one value; NaN for none). */
export function meanSd(values: number[]): { mean: number; sd: number } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

const show = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** Mean of a field over the runs that report it, or — when none does. */
function meanField(
  runs: RunResult[],
  pick: (l: EpochLine) => number | null | undefined,
  digits = 1,
) {
  const xs = runs.flatMap((r) => {
    const v = r.last ? pick(r.last) : undefined;
    return typeof v === 'number' && Number.isFinite(v) ? [v] : [];
  });
  return xs.length ? show(meanSd(xs).mean, digits) : '—';
}

export const TABLE_HEAD = [
  '| method | test accuracy, mean ± sd | per seed | seconds per epoch | steps free | steps controlled / adjoint | cosine with −∇L |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: |',
];

/** "mean % ± sd" (no sd for one run), and how many of the runs it covers when not all. */
function accuracyCell(mean: number, sd: number, n: number, runs: number): string {
  if (n === 0) return '—';
  const cell = n > 1 ? `${show(mean, 2)} % ± ${show(sd, 2)}` : `${show(mean, 2)} %`;
  return n < runs ? `${cell} (${n} of ${runs})` : cell;
}

/**
 * A method's row over its seeds; statistics over the runs that finished (a failed seed shows —
 * and a mark ¹ refers to the notes under the table).
 */
export function tableRow(method: Method, runs: RunResult[]): string {
  const done = runs.filter((r) => !r.failure);
  const acc = done.flatMap((r) =>
    r.last?.testAccuracy == null ? [] : [100 * r.last.testAccuracy],
  );
  const { mean, sd } = meanSd(acc);
  const perSeed = runs
    .map((r) =>
      r.failure || r.last?.testAccuracy == null ? '—' : show(100 * r.last.testAccuracy, 1),
    )
    .join(', ');
  return `| ${[
    runs.some((r) => r.failure) ? `${method.name} ¹` : method.name,
    accuracyCell(mean, sd, acc.length, runs.length),
    perSeed,
    meanField(done, (l) => l.seconds / l.epoch, 2),
    meanField(done, (l) => l.stepsFree),
    meanField(done, (l) => l.stepsControlled ?? l.stepsAdjoint),
    meanField(done, (l) => l.cosine, 3),
  ].join(' | ')} |`;
}

/** The notes under a table: every failed run with the epoch it reached and the CLI's reason. */
export function failureNotes(results: { method: Method; runs: RunResult[] }[]): string[] {
  return results.flatMap(({ method, runs }) =>
    runs
      .filter((r) => r.failure)
      .map(
        (r) =>
          `- ¹ ${method.name}, seed ${r.seed}${r.last ? ` (after epoch ${r.last.epoch})` : ''}: \`${r.failure}\``,
      ),
  );
}

/** The CLI's argument list for one run. */
export function trainArgs(preset: string, method: Method, seed: number): string[] {
  return ['run', '--silent', 'lcp', '--', 'train', preset, ...method.overrides, `seed=${seed}`];
}

function runCli(preset: string, method: Method, seed: number): RunResult {
  const run = spawnSync('npm', trainArgs(preset, method, seed), {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, LCP_PROGRESS: '0' },
  });
  return parseRun(seed, run.stdout ?? '', run.stderr ?? '', run.status ?? 1);
}

function option(name: string, fallback: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback).split(',');
}

function main(): void {
  const tasks = option('tasks', Object.keys(TASKS).join(','));
  const seeds = option('seeds', '1,2,3').map(Number);
  const names = option('methods', METHODS.map((m) => m.name).join(','));
  const methods = METHODS.filter((m) => names.includes(m.name));
  for (const task of tasks) {
    const preset = TASKS[task];
    if (!preset) throw new Error(`unknown task ${task} (tasks: ${Object.keys(TASKS).join(', ')})`);
    const results = methods.map((method) => ({
      method,
      runs: seeds.map((seed) => {
        const result = runCli(preset, method, seed);
        const line = result.failure ?? JSON.stringify(result.last);
        console.error(`${task} ${method.name} seed ${seed}: ${line}`);
        return result;
      }),
    }));
    const commands = methods.map(
      (m) =>
        `for s in ${seeds.join(' ')}; do npm run --silent lcp -- train ${preset} ${m.overrides.join(' ')} seed=$s; done`,
    );
    const notes = failureNotes(results);
    console.log(
      [
        `### ${task} (\`${preset}\`)`,
        '',
        '```sh',
        ...commands,
        '```',
        '',
        ...TABLE_HEAD,
        ...results.map((r) => tableRow(r.method, r.runs)),
        ...(notes.length ? ['', ...notes] : []),
        '',
      ].join('\n'),
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
