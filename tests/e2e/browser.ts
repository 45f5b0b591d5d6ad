import { existsSync, readFileSync } from 'node:fs';
import {
  chromium,
  type Browser,
  type ConsoleMessage,
  type Page,
  type Request,
} from 'playwright-core';

/** Debian's Chromium; no browser download works here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** Chromium as CI runs it; `extraArgs` e.g. ['--use-gl=disabled'] for a machine without WebGL. */
export async function launch(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A page that records console errors and failed requests (a 404 is a failure too). */
export async function openPage(
  browser: Browser,
  url: string,
  viewport = { width: 1280, height: 720 },
) {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  // A request that a later navigation cancelled (the isolation reload of src/boot.ts) is not a
  // failure: count main-frame navigations and forgive aborts that one of them explains.
  let navigations = 0;
  const startedAt = new WeakMap<Request, number>();
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigations++;
    else startedAt.set(r, navigations);
  });
  page.on('requestfailed', (r) => {
    const error = r.failure()?.errorText ?? '';
    if (/ERR_ABORTED/.test(error) && navigations > (startedAt.get(r) ?? navigations)) return;
    problems.push(`request failed: ${r.url()} ${error}`);
  });
  await page.goto(url);
  return { page, problems };
}

/** Type a value into a configuration field of the panel and commit it, as a user does. */
export async function setField(page: Page, key: string, value: string): Promise<void> {
  // Its group may be folded.
  await page
    .locator(`[data-field-key="${key}"]`)
    .locator('xpath=ancestor::details')
    .evaluate((d) => ((d as HTMLDetailsElement).open = true));
  const input = page.locator(`[data-field-key="${key}"] input`);
  await input.fill(value);
  await input.press('Enter');
}

/** The number in a status field (the status bar holds plain numbers). */
export async function statusNumber(page: Page, id: string): Promise<number> {
  return Number(await page.getByTestId(id).textContent());
}

/** What the page last drew (the debug hook of src/ui/main.tsx), or null before the first snapshot. */
export interface PageSnapshot {
  seq: number;
  step: number;
  updates: number;
  phase: string;
  playing: boolean;
  control: boolean;
  n: number;
  y: number[];
  target: number[];
  phi: number[];
  metrics: Record<string, number | string | boolean>;
  busy: { kind: string; done: number; total: number } | null;
}

/** The page's debug hook, as tests see it. */
interface Debug {
  lcpDebug: {
    latest: () =>
      | (Omit<PageSnapshot, 'y' | 'target' | 'phi'> & {
          y: Float32Array;
          target: Float32Array;
          phi: Float32Array;
        })
      | null;
    app: () => { config: Record<string, unknown>; busy: unknown; sceneRunning: boolean };
  };
}

export async function latest(page: Page): Promise<PageSnapshot | null> {
  return page.evaluate(() => {
    const s = (window as unknown as Debug).lcpDebug.latest();
    if (!s) return null;
    return { ...s, y: Array.from(s.y), target: Array.from(s.target), phi: Array.from(s.phi) };
  });
}

/** A field of the configuration the page holds (what its controls show). */
export async function appConfig(page: Page, key: string): Promise<unknown> {
  return page.evaluate((k) => (window as unknown as Debug).lcpDebug.app().config[k], key);
}

/** ‖y − t‖ of the state the page shows (NaN before the first snapshot). */
export async function outputError(page: Page): Promise<number> {
  const s = await latest(page);
  if (!s) return NaN;
  return Math.sqrt(s.y.reduce((a, v, i) => a + (v - s.target[i]) ** 2, 0));
}

/** Send a command straight to the engine (window.lcp), as the console can. */
export async function send(page: Page, cmd: Record<string, unknown>): Promise<void> {
  await page.evaluate(
    (c) => (window as unknown as { lcp: { send(c: unknown): void } }).lcp.send(c),
    cmd,
  );
}

/** The chapter is built and shown: its L(y⁰) is a number (keys before that wait in the queue). */
export async function chapterReady(page: Page, timeout = 60_000): Promise<void> {
  await waitForStatus(page, 'status-loss', Number.isFinite, timeout);
}

/** Wait until the status field `id` holds a number that satisfies `predicate`; returns it. */
export async function waitForStatus(
  page: Page,
  id: string,
  predicate: (v: number) => boolean,
  timeout = 30_000,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    const v = await statusNumber(page, id);
    if (predicate(v)) return v;
    if (Date.now() - start > timeout)
      throw new Error(`${id} = ${v} did not satisfy the condition within ${timeout} ms`);
    await page.waitForTimeout(100);
  }
}

/** The chapter's scene has run its actions (keys pressed now are the user's alone). */
export async function sceneIdle(page: Page, timeout = 120_000): Promise<void> {
  const start = Date.now();
  while (await page.evaluate(() => (window as unknown as Debug).lcpDebug.app().sceneRunning))
    if (Date.now() - start > timeout) throw new Error(`the scene still ran after ${timeout} ms`);
    else await page.waitForTimeout(100);
}

/**
 * A scene shows some views: reopen the other standard views (the
 * analyses' views and compare mode stay hidden) with the stage's own "show …" buttons, as a user would.
 */
export async function showAllViews(page: Page): Promise<void> {
  for (;;) {
    const button = page
      .locator('.hidden-views button')
      .filter({ hasNotText: /α limit|One phase|Parameter sweeps|Compare methods|Meta-learning/ })
      .first();
    if ((await button.count()) === 0) return;
    await button.click();
  }
}

/** Page problems, less the favicon request that a page closed early can abort (not the app's). */
export function realProblems(problems: string[]): string[] {
  return problems.filter((p) => !/favicon\.svg net::ERR_ABORTED/.test(p));
}

/**
 * Serious or critical accessibility problems (axe-core) of the page, or of the element `within`
 * selects: "id (impact, N nodes)" each.
 */
export async function axeViolations(page: Page, within?: string): Promise<string[]> {
  await page.addScriptTag({ content: readFileSync('node_modules/axe-core/axe.min.js', 'utf8') });
  return page.evaluate(async (selector) => {
    type Result = { violations: { id: string; impact: string | null; nodes: unknown[] }[] };
    type Axe = { run: (context: Document | Element) => Promise<Result> };
    const axe = (window as unknown as { axe: Axe }).axe;
    const context = selector ? document.querySelector(selector) : document;
    if (!context) throw new Error(`axe: nothing matches ${selector}`);
    const result = await axe.run(context);
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
  }, within ?? null);
}
