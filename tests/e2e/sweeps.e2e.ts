/**
 * Parameter sweeps in Chromium, on the circle chapter (7): the Sweeps panel shown from the stage's
 * "show" button, a one-parameter sweep over 3 learning rates on 2 seeds (line, band, points), a
 * two-parameter heat-map (every cell drawn), a diverging point marked, Stop ending a running sweep
 * with its points kept, and no page or console error. Screenshots at 1280×720 and 390×844 in
 * test-results/sweeps/.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { PRESETS } from '../../src/engine/presets';
import { decodeLink, encodeLink } from '../../src/state/link';
import { axeViolations, chapterReady, launch, openPage, realProblems } from './browser';

const OUT = 'test-results/sweeps';
let browser: Browser;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** The circle chapter, its first scene done, and the Sweeps panel enlarged. */
async function openSweeps(page: Page): Promise<void> {
  await chapterReady(page);
  await page.getByTestId('chapter-menu').selectOption('inversion-vs-feedback');
  await page.waitForFunction(() => {
    const w = window as unknown as {
      lcpDebug: { app: () => { sceneRunning: boolean; chapter: string } };
    };
    const a = w.lcpDebug.app();
    return a.chapter === 'inversion-vs-feedback' && !a.sceneRunning;
  });
  await page.getByRole('button', { name: 'show Parameter sweeps' }).click();
  await page.getByRole('button', { name: 'Enlarge Parameter sweeps' }).click();
}

/** The page, and the panel itself (on a phone the stage scrolls to it). */
async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${OUT}/${name}.png` });
  const view = page.getByTestId('view-sweeps');
  await view.scrollIntoViewIfNeeded();
  await view.screenshot({ path: `${OUT}/${name}-panel.png` });
  // A small cell scrolls: the plot below the form.
  await view.locator('svg').first().scrollIntoViewIfNeeded();
  await view
    .locator('svg')
    .first()
    .screenshot({ path: `${OUT}/${name}-plot.png` });
}

async function setAxis(page: Page, i: number, key: string, lo: string, hi: string, n: string) {
  await page.getByTestId(`sweeps-param-${i}`).selectOption(key);
  await page.getByTestId(`sweeps-lo-${i}`).fill(lo);
  await page.getByTestId(`sweeps-hi-${i}`).fill(hi);
  await page.getByTestId(`sweeps-count-${i}`).fill(n);
}

async function runAndWait(page: Page, timeout = 180_000): Promise<void> {
  await page.getByTestId('sweeps-run').click();
  await page.waitForFunction(
    () => {
      const b = document.querySelector('[data-testid="sweeps-run"]') as HTMLButtonElement | null;
      return !!b && !b.disabled;
    },
    undefined,
    { timeout },
  );
}

describe('parameter sweeps', () => {
  for (const viewport of [
    { width: 1280, height: 720 },
    { width: 390, height: 844 },
  ]) {
    it(`a line over seeds and a heat-map, at ${viewport.width}×${viewport.height}`, async () => {
      const { page, problems } = await openPage(browser, inject('baseUrl'), viewport);
      await openSweeps(page);
      const view = page.getByTestId('view-sweeps');
      // One parameter: lr over 3 values (log), 2 seeds, 3 updates each; then τ_u too small to settle.
      await setAxis(page, 0, 'lr', '0.001', '0.1', '3');
      await page.getByTestId('sweeps-seeds').fill('2');
      await page.getByTestId('sweeps-updates').fill('3');
      await runAndWait(page);
      await expect.poll(() => view.locator('.sweep-line .points circle').count()).toBe(3);
      expect(await page.getByTestId('sweeps-status').textContent()).toMatch(/^6 of 6 runs/);
      expect(await view.locator('.sweep-line path.band').getAttribute('d')).toMatch(/^M/);
      await shoot(page, `line-${viewport.width}`);

      // A diverging range is marked, with its reason on hover.
      await page.getByTestId('sweeps-seeds').fill('1');
      await setAxis(page, 0, 'tauU', '0.5', '50', '2');
      await runAndWait(page);
      await expect.poll(() => view.locator('.sweep-line .marks text.diverged').count()).toBe(1);
      expect(await view.locator('.sweep-line .marks text.diverged title').textContent()).toMatch(
        /diverged/,
      );

      // Two parameters: a 2 × 2 heat-map on 1 seed.
      await page.getByTestId('sweeps-second').click();
      await setAxis(page, 0, 'lr', '0.01', '0.05', '2');
      await setAxis(page, 1, 'alpha', '1', '4', '2');
      await page.getByTestId('sweeps-metric').selectOption('testAccuracy');
      await runAndWait(page);
      const cells = view.locator('.sweep-heat .cells g.cell');
      await expect.poll(() => cells.count()).toBe(4);
      await expect
        .poll(() => view.locator('.sweep-heat .cells g.cell[data-state="ok"]').count())
        .toBe(4);
      expect(await view.locator('.sweep-heat rect.colour-bar').count()).toBe(1);
      await shoot(page, `heat-${viewport.width}`);
      if (viewport.width === 1280)
        expect(await axeViolations(page, '[data-testid="view-sweeps"]')).toEqual([]);
      expect(realProblems(problems)).toEqual([]);
      await page.close();
    });
  }

  it('Stop ends a running sweep; the points that finished stay', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await openSweeps(page);
    await setAxis(page, 0, 'lr', '0.001', '0.1', '9');
    await page.getByTestId('sweeps-seeds').fill('3');
    await page.getByTestId('sweeps-updates').fill('5');
    await page.getByTestId('sweeps-run').click();
    await expect
      .poll(() => page.getByTestId('sweeps-status').textContent(), { timeout: 60_000 })
      .toMatch(/run [2-9]/);
    await page.getByTestId('sweeps-stop').click();
    await page.waitForFunction(() => {
      const b = document.querySelector('[data-testid="sweeps-run"]') as HTMLButtonElement | null;
      return !!b && !b.disabled;
    });
    const status = await page.getByTestId('sweeps-status').textContent();
    expect(status).toMatch(/^\d+ of 27 runs.*stopped/);
    expect(Number(status?.split(' ')[0])).toBeGreaterThan(0);
    expect(realProblems(problems)).toEqual([]);
    await page.close();
  });

  it('a link carries its sweep: opening it runs the sweep again; running one puts it in the link', async () => {
    const config = parseConfig(
      { trainSize: 200, testSize: 200 },
      parseConfig(PRESETS['circle-lcp-di'].config),
    );
    const hash = encodeLink({
      config,
      backend: null,
      chapter: null,
      scene: 0,
      log: [],
      sweep: { request: { axes: ['lr=0.01,0.03'], seeds: 1, updates: 2 }, metric: 'cosine' },
    });
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}#${hash}`);
    const view = page.getByTestId('view-sweeps');
    await expect
      .poll(() => page.getByTestId('sweeps-status').textContent(), { timeout: 120_000 })
      .toMatch(/^2 of 2 runs/);
    expect(await page.getByTestId('sweeps-metric').inputValue()).toBe('cosine');
    expect(await page.getByTestId('sweeps-list-0').inputValue()).toBe('0.01,0.03');
    await page.getByRole('button', { name: 'Enlarge Parameter sweeps' }).click();
    await expect
      .poll(() => view.locator('.sweep-line .points circle').count(), { timeout: 10_000 })
      .toBe(2);
    // The address follows: a sweep run here is in the link.
    await page.getByTestId('sweeps-updates').fill('1');
    await runAndWait(page);
    await expect
      .poll(async () => decodeLink(await page.evaluate(() => location.hash)).link?.sweep?.request)
      .toEqual({ axes: ['lr=0.01,0.03'], seeds: 1, updates: 1 });
    expect(realProblems(problems)).toEqual([]);
    await page.close();
  });
});
