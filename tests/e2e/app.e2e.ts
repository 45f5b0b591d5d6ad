import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  latest,
  launch,
  openPage,
  outputError,
  showAllViews,
  statusNumber,
  waitForStatus,
} from './browser';

const VIEWS = ['network', 'traces', 'phase', 'learning', 'weights', 'task', 'equations'];
const ARTIFACTS = 'test-results/screenshots';

let browser: Browser;
let page: Page;
let problems: string[];

function waitForNumber(id: string, predicate: (v: number) => boolean, timeout = 30_000) {
  return waitForStatus(page, id, predicate, timeout);
}

beforeAll(async () => {
  browser = await launch();
  ({ page, problems } = await openPage(browser, inject('baseUrl')));
  await page.getByTestId('status-backend').filter({ hasNotText: '…' }).waitFor();
  await waitForNumber('status-loss', Number.isFinite);
  await showAllViews(page);
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

describe('the simulator in Chromium', () => {
  it('loads with no console error and no failed request, and reports its backend', async () => {
    expect(problems).toEqual([]);
    expect(await page.getByTestId('status-backend').textContent()).toMatch(/^(webgl|wasm|cpu)$/);
    expect(await page.getByTestId('status-phase').textContent()).toBe('idle');
  });

  it('renders every view (non-empty SVG or canvas)', async () => {
    for (const id of VIEWS) {
      const root = page.getByTestId(`view-${id}`);
      await root.waitFor();
      const drawn = await root.evaluate((el) => {
        const svgShapes = el.querySelectorAll(
          'svg path, svg circle, svg rect, svg line, svg image, svg text',
        ).length;
        const canvases = Array.from(el.querySelectorAll('canvas')).filter(
          (c) => c.width > 0 && c.height > 0,
        ).length;
        const katex = el.querySelectorAll('.katex').length;
        return svgShapes + canvases + katex;
      });
      expect(drawn, id).toBeGreaterThan(0);
    }
  });

  it('Space plays: the step count grows and the traces move; Space again pauses', async () => {
    const before = await statusNumber(page, 'status-step');
    const tracePath = () =>
      page
        .getByTestId('view-traces')
        .evaluate((el) =>
          Array.from(el.querySelectorAll('path.trace'), (p) => p.getAttribute('d')).join('|'),
        );
    const pathBefore = await tracePath();
    await page.keyboard.press('Space');
    await waitForNumber('status-step', (v) => v > before + 50);
    expect(await page.getByTestId('status-phase').textContent()).toBe('free');
    await page.waitForTimeout(300);
    expect(await tracePath()).not.toBe(pathBefore);
    await page.keyboard.press('Space');
    await page.waitForTimeout(300);
    const paused = await statusNumber(page, 'status-step');
    await page.waitForTimeout(300);
    expect(await statusNumber(page, 'status-step')).toBe(paused);
  });

  it('E runs to equilibrium, C switches control on and the output reaches its target line', async () => {
    await page.keyboard.press('e');
    await expect.poll(() => outputError(page), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('status-phase').textContent()).toBe('idle');
    const freeError = await outputError(page);
    await page.keyboard.press('c');
    await expect.poll(() => page.getByTestId('control').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('e');
    // Figure 1's output is a unit of the network: at α = 0.01 control pins φ_y to t (to ~α·u).
    await expect.poll(() => outputError(page), { timeout: 60_000 }).toBeLessThan(0.05);
    expect(freeError).toBeGreaterThan(0.1);
    // ½‖ψ*‖² of the controlled equilibrium is reported.
    expect(await waitForNumber('status-control', (v) => v > 0, 60_000)).toBeGreaterThan(0);
    await page.keyboard.press('c');
  });

  it('Learn 15 times: ΔW appears in the weights view and ½‖ψ*‖² shrinks at least twofold', async () => {
    // Each Learn reports the ½‖ψ*‖² its update started from (which may equal the controlled
    // equilibrium's shown before it): wait for the update counter before the next press.
    const learn = async () => {
      const before = await statusNumber(page, 'status-updates');
      await page.keyboard.press('l');
      await waitForNumber('status-updates', (v) => v === before + 1, 60_000);
      return statusNumber(page, 'status-control');
    };
    const first = await learn();
    for (let i = 1; i < 15; i++) await learn();
    const last = await statusNumber(page, 'status-control');
    expect(last).toBeLessThan(first / 2);
    const deltaCells = await page
      .getByTestId('view-weights')
      .evaluate((el) => el.querySelectorAll('rect, canvas').length);
    expect(deltaCells).toBeGreaterThan(0);
  });

  it('every keyboard shortcut does its job', async () => {
    // . steps once (from a quiet engine).
    await expect
      .poll(() => page.getByTestId('status-phase').textContent(), { timeout: 60_000 })
      .toBe('idle');
    const s0 = await statusNumber(page, 'status-step');
    await page.keyboard.press('.');
    await waitForNumber('status-step', (v) => v === s0 + 1);
    // ? opens the help listing every shortcut; Escape closes it.
    await page.keyboard.press('?');
    const help = page.getByTestId('help');
    await help.waitFor();
    for (const key of [
      'Space',
      '.',
      'E',
      'C',
      'L',
      'R',
      'S',
      'N',
      'T',
      'Esc',
      'F',
      '→',
      'PgDn',
      '←',
      'PgUp',
      'H',
      '?',
    ])
      expect(await help.textContent()).toContain(key);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
    // N presents another sample (the clock restarts), T trains and T again stops.
    await page.keyboard.press('t');
    await expect.poll(() => page.getByTestId('status-phase').textContent()).toBe('training');
    await page.keyboard.press('t');
    await expect
      .poll(() => page.getByTestId('status-phase').textContent(), { timeout: 30_000 })
      .not.toBe('training');
    await page.keyboard.press('n');
    // F toggles lecture mode (large type, high contrast); F again leaves it.
    await page.keyboard.press('f');
    expect(await page.evaluate(() => document.documentElement.classList.contains('lecture'))).toBe(
      true,
    );
    await page.keyboard.press('f');
    expect(await page.evaluate(() => document.documentElement.classList.contains('lecture'))).toBe(
      false,
    );
    // R resets: step count back to 0.
    await page.keyboard.press('r');
    await waitForNumber('status-step', (v) => v === 0);
    expect(await page.getByTestId('status-phase').textContent()).toBe('idle');
  });

  it('has no serious or critical accessibility violations (axe-core)', async () => {
    const axeSource = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');
    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: {
            run: (
              ctx: Document,
            ) => Promise<{ violations: { id: string; impact: string | null; nodes: unknown[] }[] }>;
          };
        }
      ).axe;
      const result = await axe.run(document);
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map(
          (v) =>
            `${v.id} (${v.impact}, ${v.nodes.length} nodes: ${v.nodes
              .map((n) => (n as { target?: unknown }).target)
              .map((t) => JSON.stringify(t))
              .join(' ')})`,
        );
    });
    expect(violations).toEqual([]);
  });

  it('an idle page is idle: no snapshot in 5 s', async () => {
    await expect
      .poll(async () => (await latest(page))?.busy ?? null, { timeout: 60_000 })
      .toBe(null);
    await page.waitForTimeout(500);
    const seq = (await latest(page))?.seq;
    await page.waitForTimeout(5000);
    expect((await latest(page))?.seq).toBe(seq);
  });

  it('the page loads only what it draws: no TensorFlow.js on the main thread, no source maps', () => {
    const scripts = mainThreadScripts();
    expect(scripts.length).toBeGreaterThan(0);
    let bytes = 0;
    for (const file of scripts) {
      const text = readFileSync(`dist/assets/${file}`, 'utf8');
      bytes += text.length;
      // tfjs-core reads its flags from the page's query (?tfjsflags=…): its mark in any bundle.
      expect(text.includes('tfjsflags'), file).toBe(false);
    }
    console.log(`main-thread JavaScript: ${scripts.join(', ')} — ${(bytes / 1024).toFixed(0)} KiB`);
    expect(readdirSync('dist/assets').filter((f) => f.endsWith('.map'))).toEqual([]);
    // The engine worker's chunks do hold TensorFlow.js (so the check above can see it).
    const withTf = readdirSync('dist/assets').filter(
      (f) => f.endsWith('.js') && readFileSync(`dist/assets/${f}`, 'utf8').includes('tfjsflags'),
    );
    expect(withTf.length).toBeGreaterThan(0);
  });

  it('keeps a screenshot of each view as a test artifact', async () => {
    for (const id of VIEWS)
      await page.getByTestId(`view-${id}`).screenshot({ path: `${ARTIFACTS}/${id}.png` });
    await page.screenshot({ path: `${ARTIFACTS}/app-1280x720.png` });
    expect(problems).toEqual([]);
  });
});

/**
 * The JavaScript files the page itself runs: index.html's module script and everything it imports,
 * statically or dynamically (not the workers, which are started with new URL(…)).
 */
function mainThreadScripts(): string[] {
  const html = readFileSync('dist/index.html', 'utf8');
  const queue = [...html.matchAll(/src="\.\/assets\/([^"]+\.js)"/g)].map((m) => m[1]);
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(`dist/assets/${file}`, 'utf8');
    const refs = [
      ...text.matchAll(/from\s*["']\.\/([^"']+\.js)["']/g),
      ...text.matchAll(/import\(\s*["']\.\/([^"']+\.js)["']\s*\)/g),
      // Vite's list of a dynamic import's dependencies.
      ...(text
        .match(/__vite__mapDeps[^\n]*?\[([^\]]*)\]/)?.[1]
        .matchAll(/["']\.\/([^"']+\.js)["']/g) ?? []),
    ].map((m) => m[1]);
    queue.push(...refs);
  }
  return [...seen];
}
