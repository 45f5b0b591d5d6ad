import { runCli } from '../../src/cli/cli';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI in this process (the same runCli that src/cli/main.ts calls): no tsx start-up per
 * case, so that hundreds of cases take seconds.
 */
export async function cliInProcess(argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

/** Longest stderr line accepted: 20 problems of at most ≈ 520 characters each, and a count. */
export const MAX_ERROR_LINE = 12_100;

/**
 * What every CLI failure must look like: exit 2 or 3 with exactly one line on stderr, bounded,
 * without a stack trace or an absolute path; nothing but JSON lines on stdout. Returns a list of
 * broken promises ([] = fine) so that a fuzz case can say which.
 */
export function contractViolations(r: CliResult, secrets: string[] = []): string[] {
  const out: string[] = [];
  if (![0, 2, 3].includes(r.code)) out.push(`exit code ${r.code}`);
  if (r.code === 0 && r.stderr !== '') out.push('stderr on success');
  if (r.code !== 0) {
    if (!/^[^\n]*\n$/.test(r.stderr)) out.push('stderr is not exactly one line');
    if (r.stderr.length > MAX_ERROR_LINE) out.push(`stderr line of ${r.stderr.length} characters`);
    if (!/^(error|diverged): /.test(r.stderr)) out.push('stderr does not start with error:');
  }
  if (/\bat .*[:(]\d+:\d+\)?|^\s+at /m.test(r.stderr)) out.push('stack trace on stderr');
  if (/(?:^|[\s"'(=:,])\/(?:[\w.@+-]+\/)+/.test(r.stderr)) out.push('absolute path on stderr');
  for (const s of secrets) if (r.stderr.includes(s)) out.push(`stderr names ${s}`);
  for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
    try {
      JSON.parse(line);
    } catch {
      out.push('stdout line is not JSON');
      break;
    }
  }
  if (r.code === 2 && r.stdout !== '') out.push('stdout on bad input');
  return out;
}
