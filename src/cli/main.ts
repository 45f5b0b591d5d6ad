/**
 * The process entry of the headless CLI: `npm run --silent lcp -- <command> …` (cli.ts has the
 * commands and the exit codes). Prints JSON on stdout only; errors are one line on stderr.
 */
import v8 from 'node:v8';
import { EXIT_INTERNAL, reportError, runCli } from './cli';

// Relaxed SIMD (its fused multiply-add in the step kernel's products, kernels/wasm/step.ts) is
// behind a flag in Node 20 and on in Chromium; set before any WebAssembly is compiled.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
  progress: process.stderr.isTTY || process.env.LCP_PROGRESS === '1',
  debug: process.env.LCP_DEBUG === '1',
};

// Whatever escapes the command (a library's asynchronous failure) is still one line and exit 1.
const fatal = (error: unknown) => {
  process.exitCode = reportError(error, io);
  process.exit();
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
// A reader that goes away (`| head`) ends the output; that is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  fatal(e);
});

runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportError(error, io) || EXIT_INTERNAL;
  },
);
