/**
 * The α sweep and EP views in Chromium: shown, enlarged, run from their own "Run" button on the
 * Figure 1 chapter and on a 16-unit recurrent net (circle task); the worker answers, the views
 * draw their points, Stop answers a running sweep, and no page error occurs. Screenshots are kept
 * in test-results/.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chapterReady, launch, openPage, send, realProblems } from './browser';

const OUT = 'test-results/analyses';
let browser: Browser;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function enlarge(page: Page, title: string): Promise<void> {
  const show = page.getByRole('button', { name: `show ${title}` });
  if (await show.count()) await show.click();
  await page.getByRole('button', { name: `Enlarge ${title}` }).click();
}

async function runAndWait(page: Page, testId: 'sweep' | 'ep', timeout = 120_000): Promise<void> {
  await page.getByTestId(`${testId}-run`).click();
  await page.waitForFunction(
    (id) => {
      const b = document.querySelector(`[data-testid="${id}-run"]`) as HTMLButtonElement | null;
      return !!b && !b.disabled && b.textContent === 'Run again';
    },
    testId,
    { timeout },
  );
}

/** A 16-unit recurrent tanh net on the circle task (sent to the engine as a fresh build). */
async function recurrentCircle(page: Page): Promise<void> {
  const config = await page.evaluate(() => {
    const w = window as unknown as { lcpDebug: { app: () => { config: Record<string, unknown> } } };
    return w.lcpDebug.app().config;
  });
  await send(page, {
    type: 'configure',
    fresh: true,
    config: {
      ...config,
      task: 'circle',
      noise: 0.1,
      trainSize: 200,
      testSize: 200,
      inputs: 2,
      outputs: 1,
      topology: 'recurrent',
      readout: 'separate',
      hidden: 16,
      gain: 0.5,
      controller: 'dynamic-inversion',
      alpha: 2,
      tauU: 50,
      dt: 1,
      tol: 1e-5,
      maxSteps: 1000,
      seed: 1,
    },
  });
  await page.waitForFunction(() => {
    const w = window as unknown as { lcpDebug: { latest: () => { n: number } | null } };
    return w.lcpDebug.latest()?.n === 16;
  });
}

describe('the α limit and EP views', () => {
  for (const net of ['figure-1', 'recurrent-16'] as const) {
    it(`run from their buttons on ${net}, drawn without page errors`, async () => {
      const { page, problems } = await openPage(browser, inject('baseUrl'));
      await chapterReady(page);
      if (net === 'recurrent-16') await recurrentCircle(page);
      await enlarge(page, 'The α limit');
      await runAndWait(page, 'sweep');
      // The view draws in an animation frame after the reply (the button changes at once).
      await expect
        .poll(() => page.locator('[data-testid="view-sweep"] .series-cosine circle').count())
        .toBe(19);
      await page.screenshot({ path: `${OUT}/sweep-${net}.png` });
      await page.getByRole('button', { name: 'Back to all views' }).click();
      await enlarge(page, 'One phase, not two');
      await runAndWait(page, 'ep');
      await expect
        .poll(() => page.locator('[data-testid="view-ep"] .ep-series circle').count())
        .toBe(9);
      await page.screenshot({ path: `${OUT}/ep-${net}.png` });
      // Lecture mode (type ≥ 16 px).
      await page.keyboard.press('f');
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${OUT}/ep-${net}-lecture.png` });
      expect(realProblems(problems)).toEqual([]);
      await page.close();
    });
  }

  it('Stop answers a running sweep: the button comes back', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    await enlarge(page, 'The α limit');
    await page.getByTestId('sweep-run').click();
    await send(page, { type: 'stop' });
    await page.waitForFunction(() => {
      const b = document.querySelector('[data-testid="sweep-run"]') as HTMLButtonElement | null;
      return !!b && !b.disabled;
    });
    const status = await page.getByTestId('sweep-status').textContent();
    expect(status === 'stopped' || status?.startsWith('sample')).toBe(true);
    expect(realProblems(problems)).toEqual([]);
    await page.close();
  });
});
