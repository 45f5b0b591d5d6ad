/**
 * `npm run bench`: the engine's throughput in a real browser.
 *
 * Serves the built app (dist/) on 127.0.0.1, opens bench.html in headless Debian Chromium
 * (playwright-core, software WebGL through SwiftShader) and, inside the page's worker, measures
 * steps per second of the controlled dynamic-inversion step (mse, 10 outputs) for each size and
 * backend, forced and 'auto'. Prints one JSON line per figure — {"backend","n","batch",
 * "steps_per_s"} ('auto' adds "picked") — then a readable table.
 *
 * Options:
 *   --seconds S        measurement per figure (default 2, as torch_reference.py)
 *   --sizes 32x1,…     n×batch list (default 32x1,32x64,256x1,256x64)
 *   --backends a,b     of cpu, wasm, webgl, auto (default all four)
 *   --unfused          also measure the unfused reference path (one tfjs op at a time)
 *   --torch            also run ../shared/bench/torch_reference.py (/usr/bin/python3, one thread)
 *                      in the same session and print the ratios to it
 *   --dist DIR         what to serve (default dist)
 *   --webgl-two-pass X WebGL kernel: compute ρ, ρ′ in a first pass when B·n² ≥ X (0: always)
 *   --wasm-no-fma      WASM kernel without relaxed SIMD's fused multiply-add
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { serveDirectory } from './serveStatic';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
const TORCH_SCRIPT = resolve(import.meta.dirname, '../../shared/bench/torch_reference.py');

interface Figure {
  backend: string;
  n: number;
  batch: number;
  steps_per_s: number;
  picked?: string;
  reason?: string;
  path?: 'fused' | 'unfused';
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const seconds = Number(option('seconds', '2'));
const sizes = option('sizes', '32x1,32x64,256x1,256x64')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number]);
const backends = option('backends', 'cpu,wasm,webgl,auto').split(',');
const dist = resolve(option('dist', 'dist'));

function torchReference(): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(TORCH_SCRIPT)) {
    console.error(`(no ${TORCH_SCRIPT}: skipping the torch reference)`);
    return out;
  }
  const text = execFileSync(
    '/usr/bin/python3',
    [
      TORCH_SCRIPT,
      '--threads',
      '1',
      '--seconds',
      String(seconds),
      '--sizes',
      sizes.map((s) => s.join('x')).join(','),
    ],
    { encoding: 'utf8' },
  );
  for (const line of text.trim().split('\n')) {
    const r = JSON.parse(line) as { n: number; batch: number; steps_per_s: number };
    console.log(
      JSON.stringify({ backend: 'torch', n: r.n, batch: r.batch, steps_per_s: r.steps_per_s }),
    );
    out.set(`${r.n}x${r.batch}`, r.steps_per_s);
  }
  return out;
}

function table(figures: Figure[], torch: Map<string, number>): string {
  const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
  const label = (f: Figure) =>
    (f.backend === 'auto' ? `auto → ${f.picked}` : f.backend) +
    (f.path === 'unfused' ? ' (unfused)' : '');
  const rows: string[][] = [['backend', ...sizes.map(([n, b]) => `n=${n} × ${b}`)]];
  const keys = [...new Set(figures.map((f) => `${f.backend}|${f.path ?? 'fused'}`))];
  for (const key of keys) {
    const [backend, path] = key.split('|');
    const cells = sizes.map(([n, b]) => {
      const f = figures.find(
        (g) => g.backend === backend && (g.path ?? 'fused') === path && g.n === n && g.batch === b,
      );
      if (!f) return '—';
      const t = torch.get(`${n}x${b}`);
      const ratio = t ? ` (${(f.steps_per_s / t).toFixed(2)}×)` : '';
      return (backend === 'auto' ? `${f.picked}: ` : '') + fmt(f.steps_per_s) + ratio;
    });
    const first = figures.find((g) => `${g.backend}|${g.path ?? 'fused'}` === key)!;
    rows.push([backend === 'auto' ? 'auto' : label(first), ...cells]);
  }
  if (torch.size)
    rows.push(['torch (1 thread)', ...sizes.map(([n, b]) => fmt(torch.get(`${n}x${b}`) ?? NaN))]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ');
  return [
    'steps/s of the controlled dynamic-inversion step (mse, tanh, 10 outputs), headless Chromium' +
      (torch.size ? '; (×) = ratio to torch, one thread' : ''),
    line(rows[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ].join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(resolve(dist, 'bench.html')))
    throw new Error(`${dist}/bench.html missing: run \`npm run build\` first`);
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  const torch = flag('torch') ? torchReference() : new Map<string, number>();
  const server = await serveDirectory(dist);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const figures: Figure[] = [];
  let appFigure: AppFigure | undefined;
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.exposeFunction('onBenchFigure', (f: Figure) => {
      const { reason, ...line } = f;
      console.log(JSON.stringify(line));
      if (reason) console.error(`  auto at n=${f.n} × ${f.batch}: ${reason}`);
      figures.push(f);
    });
    await page.exposeFunction('onBenchLog', (text: string) => console.error(text));
    await page.goto(new URL('bench.html', server.url).href);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    await page.evaluate(
      (req) =>
        (window as unknown as { lcpBench: { run(r: unknown): Promise<unknown> } }).lcpBench.run(
          req,
        ),
      {
        backends,
        sizes,
        seconds,
        unfused: flag('unfused'),
        webglTwoPass: process.argv.includes('--webgl-two-pass')
          ? Number(option('webgl-two-pass', '0'))
          : undefined,
        wasmFma: flag('wasm-no-fma') ? false : undefined,
      },
    );
    appFigure = await appTraining(browser, server.url, appSeconds);
    console.log(JSON.stringify(appFigure));
  } finally {
    await browser.close();
    await server.close();
  }
  console.log('');
  console.log(table(figures, torch));
  if (appFigure) {
    console.log('');
    console.log(
      `app: ${appSeconds} s of training circle-lcp-di (${appFigure.updates} updates on ${appFigure.backend}): ` +
        `${appFigure.longTasks} main-thread long tasks (> 50 ms), ${appFigure.fps} frames/s`,
    );
  }
}

interface AppFigure {
  longTasks: number;
  fps: number;
  updates: number;
  backend: string;
}

const appSeconds = Number(option('app-seconds', '10'));

/**
 * The app under load: open it, load the circle-lcp-di chapter, train for `seconds` while the
 * page counts long tasks (> 50 ms, PerformanceObserver) and animation frames on the main thread.
 */
async function appTraining(browser: Browser, base: string, seconds: number): Promise<AppFigure> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  // A string, not a function: tsx's name-keeping helper (__name) does not exist in the page.
  await page.addInitScript(`
    window.benchLongTasks = 0;
    window.benchFrames = 0;
    new PerformanceObserver((list) => { window.benchLongTasks += list.getEntries().length; }).observe({ type: 'longtask' });
    (function tick() { window.benchFrames++; requestAnimationFrame(tick); })();
  `);
  await page.goto(base);
  const backend = page.getByTestId('status-backend');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="status-backend"]')?.textContent !== '…',
  );
  await page.getByTestId('preset').selectOption('circle-lcp-di');
  await page.waitForFunction(() =>
    Number.isFinite(Number(document.querySelector('[data-testid="status-loss"]')?.textContent)),
  );
  await page.waitForTimeout(1000);
  const read = () =>
    page.evaluate(() => {
      const w = window as unknown as { benchLongTasks: number; benchFrames: number };
      return { longTasks: w.benchLongTasks, frames: w.benchFrames, t: performance.now() };
    });
  const start = await read();
  await page.evaluate(() =>
    (window as unknown as { lcp: { send(c: { type: 'train'; updates: number }): void } }).lcp.send({
      type: 'train',
      updates: 1_000_000,
    }),
  );
  await page.waitForTimeout(seconds * 1000);
  const end = await read();
  const updates = Number(await page.getByTestId('status-updates').textContent());
  await page.evaluate(() =>
    (window as unknown as { lcp: { send(c: { type: 'stop' }): void } }).lcp.send({ type: 'stop' }),
  );
  const figure: AppFigure = {
    longTasks: end.longTasks - start.longTasks,
    fps: Math.round(((end.frames - start.frames) / (end.t - start.t)) * 1000 * 10) / 10,
    updates,
    backend: (await backend.textContent()) ?? '',
  };
  await page.close();
  return figure;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
