/**
 * The headless CLI as a function: `runCli(argv, io)` runs one command and returns its exit code;
 * it never throws and never prints a stack trace (src/cli/main.ts is the process entry; tests
 * call this in-process). Exit codes (docs/cli.md):
 *   0 success; 1 internal error (a bug: one line saying where to report it);
 *   2 bad input (one bounded line naming the fields); 3 the dynamics diverged (one line).
 */
import { DivergenceError, InputError, oneLine } from '../engine/errors';
import { setDispatchBudget } from '../engine/solver';
import { selectBackend } from '../engine/tf';
import { runSolve } from './solve';

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_INPUT = 2;
export const EXIT_DIVERGED = 3;

export const USAGE =
  'usage: lcp solve FILE.json | lcp train PRESET|FILE [key=value ...] | lcp sweep PRESET|FILE key=lo..hi[:n][:log] [key=value ...] [seeds=N]';

/** Where internal errors are to be reported (docs/cli.md, "Reporting a problem"). */
export const REPORT_HINT =
  'this is a bug in LCP Lab: please report it on the project’s issue tracker with the command and its input files (docs/cli.md, "Reporting a problem"; LCP_DEBUG=1 prints the stack)';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Show training progress on stderr (a terminal, or LCP_PROGRESS=1). */
  progress?: boolean;
  /** Print an internal error's stack after its line (LCP_DEBUG=1). */
  debug?: boolean;
}

/**
 * Absolute paths reduced to their last component: internal messages (e.g. from a library) may
 * name files of this machine, which are nobody else's business and useless in a report.
 */
export function redactPaths(text: string): string {
  return text
    .replace(/(?<![\w.~])(?:file:\/\/)?\/(?:[^\s/'"`()<>:]+\/)+(?=[^\s/'"`()<>]*)/g, '…/')
    .replace(/\b[A-Za-z]:\\(?:[^\s\\'"`()<>]+\\)+/g, '…\\');
}

/** One line for stderr: no newlines or control characters, no absolute paths, bounded. */
export function errorLine(prefix: string, message: string, max = 12_000): string {
  return `${prefix}: ${oneLine(redactPaths(message), max)}\n`;
}

async function dispatch(argv: string[], io: CliIo): Promise<void> {
  const [command, ...rest] = argv;
  await selectBackend('cpu');
  // No page to answer: a dispatch may run a whole solve.
  setDispatchBudget(Infinity);
  switch (command) {
    case 'solve':
      if (rest.length !== 1)
        throw InputError.single('arguments', `expected one scenario file; ${USAGE}`);
      io.out(JSON.stringify(await runSolve(rest[0])) + '\n');
      return;
    case 'train': {
      const { runTrain } = await import('./train');
      await runTrain(rest, { out: io.out, err: io.err, progress: io.progress ?? false });
      return;
    }
    case 'sweep': {
      const { runSweep } = await import('./sweep');
      await runSweep(rest, { out: io.out, err: io.err, progress: io.progress ?? false });
      return;
    }
    default:
      throw InputError.single(
        'command',
        `expected "solve", "train" or "sweep", got "${oneLine(command ?? '', 40)}"; ${USAGE}`,
      );
  }
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await dispatch(argv, io);
    return EXIT_OK;
  } catch (error) {
    return reportError(error, io);
  }
}

/** The one stderr line for an error, and its exit code. */
export function reportError(error: unknown, io: Pick<CliIo, 'err' | 'debug'>): number {
  if (error instanceof InputError) {
    io.err(errorLine('error', error.message));
    return EXIT_INPUT;
  }
  if (error instanceof DivergenceError) {
    io.err(errorLine('diverged', error.message));
    return EXIT_DIVERGED;
  }
  const message =
    error instanceof Error ? `${error.name}: ${error.message}` : `thrown ${typeof error}`;
  io.err(errorLine('internal error', `${oneLine(message, 300)} — ${REPORT_HINT}`));
  if (io.debug && error instanceof Error && error.stack) io.err(error.stack + '\n');
  return EXIT_INTERNAL;
}
