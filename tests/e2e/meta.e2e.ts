/**
 * The meta-learning chapter in Chromium: it opens from the menu with its two views; its second
 * scene meta-trains a few updates in the worker, after which the task view draws the true
 * curve, the support points and the three predictions, and the curves view draws ‖ψ*‖ and the
 * three rules' meta-test losses. Train runs on while the page answers a click; Stop stops it
 * and keeps what was learned; Train again continues. Lecture mode and a phone's size are
 * screenshot (test-results/meta/); no page or console errors; no serious axe violations.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeViolations, chapterReady, launch, openPage, realProblems, sceneIdle } from './browser';

const OUT = 'test-results/meta';
let browser: Browser;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** Points of a path's `d` (0 when absent). */
async function pathPoints(page: Page, selector: string): Promise<number> {
  const el = page.locator(selector).first();
  if ((await el.count()) === 0) return 0;
  const d = await el.getAttribute('d');
  return d ? (d.match(/[ML]/g) ?? []).length : 0;
}

/** Meta-updates so far, from the task view's status ("N meta-updates of each rule"). */
async function metaUpdates(page: Page): Promise<number> {
  const text = (await page.getByTestId('meta-status').textContent()) ?? '';
  const m = /^(\d+) meta-updates/.exec(text);
  return m ? Number(m[1]) : -1;
}

async function openChapter(page: Page): Promise<void> {
  await chapterReady(page);
  await page.getByTestId('chapter-menu').selectOption('meta-learning');
  await sceneIdle(page);
  await expect.poll(() => page.getByTestId('view-meta').isVisible()).toBe(true);
  await expect.poll(() => page.getByTestId('view-meta-curves').isVisible()).toBe(true);
}

describe('the meta-learning chapter', () => {
  it('meta-trains in the worker: the views draw, ‖ψ*‖ appears, Stop and Train continue', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await openChapter(page);
    await page.screenshot({ path: `${OUT}/scene1-1280.png` });
    // Scene 2 runs three meta-updates of each rule.
    await page.keyboard.press('PageDown');
    await sceneIdle(page, 180_000);
    await expect.poll(() => metaUpdates(page), { timeout: 60_000 }).toBe(3);
    for (const curve of ['truth', 'omega', 'adapted', 'controlled'])
      await expect
        .poll(() => pathPoints(page, `[data-testid="view-meta"] .curve-${curve}`), {
          message: curve,
        })
        .toBe(101);
    expect(await page.locator('[data-testid="view-meta"] .support circle').count()).toBe(10);
    await expect
      .poll(() => page.getByTestId('meta-psi').textContent())
      .toMatch(/‖ψ\*‖ = \d.*at update 3/);
    expect(
      await pathPoints(page, '[data-testid="view-meta-curves"] .panel-psi .series-lcp path'),
    ).toBe(3);
    for (const m of ['lcp', 'imaml', 'fo'])
      expect(
        await page
          .locator(`[data-testid="view-meta-curves"] .panel-test .series-${m} circle`)
          .count(),
        m,
      ).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: `${OUT}/scene2-1280.png` });

    // Train more: it runs on in the worker while the page answers a click; Stop keeps it.
    await page.getByTestId('meta-updates').fill('500');
    await page.getByTestId('meta-train').click();
    await page.getByTestId('meta-stop').waitFor();
    const narrate = page.getByTestId('narration');
    const before = await narrate.isChecked();
    await narrate.click();
    await expect.poll(() => narrate.isChecked(), { timeout: 3000 }).toBe(!before);
    await expect
      .poll(() => page.getByTestId('meta-psi').textContent(), { timeout: 60_000 })
      .toMatch(/at update ([5-9]|\d{2,})\b/);
    await page.getByTestId('meta-stop').click();
    await page.getByTestId('meta-train').waitFor();
    const stopped = await metaUpdates(page);
    const stoppedText = await page.getByTestId('meta-status').textContent();
    expect(stopped, stoppedText ?? '').toBeGreaterThanOrEqual(4);
    expect(stopped).toBeLessThan(503);
    // Train again continues from there (not from ω₀).
    await page.getByTestId('meta-updates').fill('2');
    await page.getByTestId('meta-train').click();
    await expect.poll(() => metaUpdates(page), { timeout: 60_000 }).toBe(stopped + 2);
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${OUT}/trained-1280.png` });
    expect(await axeViolations(page)).toEqual([]);

    // Lecture mode: the scene's views, large.
    await page.keyboard.press('f');
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${OUT}/lecture-1280.png` });
    expect(await page.locator('[data-testid="view-meta"] .curve-controlled').count()).toBe(1);
    await page.keyboard.press('f');
    expect(realProblems(problems)).toEqual([]);
    await page.close();
  });

  it('at a phone size, both views draw', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'), {
      width: 390,
      height: 844,
    });
    await openChapter(page);
    await page.keyboard.press('PageDown');
    await sceneIdle(page, 180_000);
    await expect.poll(() => metaUpdates(page), { timeout: 60_000 }).toBe(3);
    await expect
      .poll(() => pathPoints(page, '[data-testid="view-meta"] .curve-controlled'))
      .toBe(101);
    await page.screenshot({ path: `${OUT}/phone-390.png`, fullPage: true });
    // A phone user enlarges one view at a time.
    for (const [title, file] of [
      ['Meta-learning: one task', 'phone-fit'],
      ['Meta-learning curves', 'phone-curves'],
    ]) {
      await page.getByRole('button', { name: `Enlarge ${title}`, exact: true }).click();
      await page.waitForTimeout(400);
      await page.screenshot({ path: `${OUT}/${file}-390.png` });
      await page.getByRole('button', { name: 'Back to all views' }).click();
    }
    expect(
      await page.locator('[data-testid="view-meta-curves"] .panel-psi .series-lcp path').count(),
    ).toBe(1);
    expect(realProblems(problems)).toEqual([]);
    await page.close();
  });
});
