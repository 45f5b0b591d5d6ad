/**
 * Compare mode in Chromium, on the circle chapter (a 16-unit layered net): opened by its action,
 * RBP greyed with its reason, three methods (LCP-DI, EP, BP) run side by side for a short run — a curve
 * per method on every panel and a legend entry each; the page answers a click while it runs; Stop
 * stops a long run and keeps its curves; the link carries the comparison, and opening it runs it
 * again. No page or console errors. Screenshots at 1280×720 and 390×844 in test-results/compare/.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeViolations, chapterReady, launch, openPage, realProblems, sceneIdle } from './browser';

const OUT = 'test-results/compare';
const METHODS = ['lcp-di', 'ep', 'bp'] as const;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** The circle chapter, built, then compare mode with exactly `methods` ticked and `updates`. */
async function openCompare(page: Page, methods: readonly string[], updates: number) {
  await chapterReady(page);
  await page.getByTestId('chapter-menu').selectOption('inversion-vs-feedback');
  await sceneIdle(page);
  await page.getByTestId('compare').click();
  await expect.poll(() => page.getByTestId('view-compare').isVisible()).toBe(true);
  for (const box of await page.locator('[data-testid^="compare-method-"]').all()) {
    const id = (await box.getAttribute('data-testid'))!.replace('compare-method-', '');
    if (await box.isDisabled()) continue;
    if ((await box.isChecked()) !== methods.includes(id)) await box.click();
  }
  await page.getByTestId('compare-updates').fill(String(updates));
}

/** Points of the solid (running-mean) curve of `method` on `panel`. */
async function curvePoints(page: Page, panel: string, method: string): Promise<number> {
  const d = await page
    .locator(`[data-testid="view-compare"] .panel-${panel} .series-${method} path.mean`)
    .getAttribute('d');
  return d ? (d.match(/[ML]/g) ?? []).length : 0;
}

async function statusText(page: Page): Promise<string> {
  return (await page.getByTestId('compare-status').textContent()) ?? '';
}

describe('compare mode', () => {
  it('runs three methods side by side, one curve each, answering clicks meanwhile', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await openCompare(page, METHODS, 12);
    // The layered net has no RBP (its exact gradient is BP's): greyed, and why.
    expect(await page.getByTestId('compare-method-rbp').isDisabled()).toBe(true);
    expect(await page.getByTestId('compare-method-ep').isDisabled()).toBe(false);
    await expect.poll(() => page.locator('.compare-why').textContent()).toContain('layered');
    // The main thread's longest stall and the engine's health, sampled while it runs.
    await page.evaluate(() => {
      const w = window as unknown as {
        lag: { max: number; unresponsive: boolean };
        lcpDebug: { app: () => { health: string } };
      };
      w.lag = { max: 0, unresponsive: false };
      let last = performance.now();
      setInterval(() => {
        const now = performance.now();
        w.lag.max = Math.max(w.lag.max, now - last - 100);
        if (w.lcpDebug.app().health !== 'ready') w.lag.unresponsive = true;
        last = now;
      }, 100);
    });
    await page.getByTestId('compare-run').click();
    // While it runs, another control answers.
    await page.getByTestId('compare-stop').waitFor();
    const narrate = page.getByTestId('narration');
    const before = await narrate.isChecked();
    await narrate.click();
    await expect.poll(() => narrate.isChecked(), { timeout: 3000 }).toBe(!before);
    await expect
      .poll(() => statusText(page), { timeout: 150_000 })
      .toMatch(/^12 updates per method/);
    await page.getByTestId('compare-run').waitFor();
    for (const m of METHODS) {
      // The view draws in an animation frame after the last reply.
      for (const panel of ['loss', 'accuracy', 'cosine'])
        await expect.poll(() => curvePoints(page, panel, m), { message: `${panel} ${m}` }).toBe(12);
      await expect
        .poll(() => page.locator(`.legend-${m} .legend-label`).textContent())
        .toMatch(/LCP-DI|EP|BP/);
    }
    const lag = await page.evaluate(
      () => (window as unknown as { lag: { max: number; unresponsive: boolean } }).lag,
    );
    expect(lag.unresponsive).toBe(false);
    expect(lag.max).toBeLessThan(1000);
    // BP and EP use no control: their control curves are empty, LCP's is drawn.
    expect(await curvePoints(page, 'control', 'lcp-di')).toBe(12);
    expect(await curvePoints(page, 'control', 'bp')).toBe(0);
    expect(await curvePoints(page, 'control', 'ep')).toBe(0);
    expect(await page.locator('.legend-item').count()).toBe(3);
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${OUT}/compare-1280.png` });
    expect(await axeViolations(page)).toEqual([]);

    // The link carries the comparison: opened in a new page, it runs the same one again.
    await page.waitForTimeout(800);
    const url = page.url();
    expect(url).toContain('#v=1');
    const second = await openPage(browser, url);
    await expect
      .poll(() => second.page.getByTestId('view-compare').isVisible(), { timeout: 60_000 })
      .toBe(true);
    await expect
      .poll(() => statusText(second.page), { timeout: 150_000 })
      .toMatch(/^12 updates per method/);
    for (const m of METHODS) await expect.poll(() => curvePoints(second.page, 'loss', m)).toBe(12);
    const legend = await second.page.locator('.legend-item').count();
    expect(legend).toBe(3);
    expect(realProblems(second.problems)).toEqual([]);
    await second.page.close();
    expect(realProblems(problems)).toEqual([]);
    await page.close();
  });

  it('Stop ends a long comparison and keeps the curves so far (phone size)', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'), {
      width: 390,
      height: 844,
    });
    await openCompare(page, METHODS, 2000);
    await page.getByTestId('compare-run').click();
    // Curves grow while it runs (partial results stream in).
    await expect
      .poll(() => curvePoints(page, 'loss', 'bp'), { timeout: 120_000 })
      .toBeGreaterThan(2);
    await page.screenshot({ path: `${OUT}/compare-390-running.png`, fullPage: true });
    await page.getByTestId('compare-stop').click();
    await page.getByTestId('compare-run').waitFor({ timeout: 10_000 });
    expect(await statusText(page)).toMatch(/^Stopped/);
    // The last points before Stop are drawn in a frame after the reply: wait for the curve to rest.
    let kept = -1;
    await expect
      .poll(
        async () => {
          const before = kept;
          kept = await curvePoints(page, 'loss', 'lcp-di');
          return kept === before;
        },
        { interval: 400 },
      )
      .toBe(true);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(2000);
    // Nothing runs after Stop.
    await page.waitForTimeout(1000);
    expect(await curvePoints(page, 'loss', 'lcp-di')).toBe(kept);
    await page.getByTestId('view-compare').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${OUT}/compare-390.png` });
    await page.getByTestId('view-compare').screenshot({ path: `${OUT}/compare-390-view.png` });
    expect(realProblems(problems)).toEqual([]);
    await page.close();
  });
});
