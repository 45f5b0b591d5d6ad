/**
 * The headless CLI: `npm run --silent lcp -- <command> …`. Prints JSON on stdout only.
 * Exit codes: 0 success, 2 bad input (one line on stderr naming the field), 3 divergence.
 */
import { DivergenceError, InputError } from '../engine/errors';
import { selectBackend } from '../engine/tf';
import { runSolve } from './solve';

const USAGE = `usage: lcp solve FILE.json
       lcp train PRESET|FILE [key=value ...]`;

export const EXIT_OK = 0;
export const EXIT_INPUT = 2;
export const EXIT_DIVERGED = 3;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  await selectBackend('cpu');
  switch (command) {
    case 'solve':
      if (rest.length !== 1)
        throw InputError.single('arguments', `expected one scenario file\n${USAGE}`);
      process.stdout.write(JSON.stringify(await runSolve(rest[0])) + '\n');
      return EXIT_OK;
    case 'train': {
      const { runTrain } = await import('./train');
      await runTrain(rest);
      return EXIT_OK;
    }
    default:
      throw InputError.single(
        'command',
        `expected "solve" or "train", got ${JSON.stringify(command ?? '')}\n${USAGE}`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof InputError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = EXIT_INPUT;
    } else if (error instanceof DivergenceError) {
      process.stderr.write(`diverged: ${error.message}\n`);
      process.exitCode = EXIT_DIVERGED;
    } else {
      process.stderr.write(
        `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
