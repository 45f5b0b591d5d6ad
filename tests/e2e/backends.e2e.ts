import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, openPage, statusNumber } from './browser';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

async function backendOf(page: Page): Promise<string> {
  const el = page.getByTestId('status-backend');
  await expect.poll(() => el.textContent(), { timeout: 60_000 }).not.toBe('…');
  return (await el.textContent()) ?? '';
}

async function stepsAdvance(page: Page): Promise<void> {
  const before = await statusNumber(page, 'status-step');
  await expect
    .poll(() => statusNumber(page, 'status-step'), { timeout: 30_000 })
    .toBeGreaterThan(before + 20);
}

describe('backends in Chromium', () => {
  it('runs on WebGL when forced (SwiftShader) and survives a lost context', async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}?backend=webgl`);
    expect(await backendOf(page)).toBe('webgl');
    await page.keyboard.press('Space');
    await stepsAdvance(page);
    await page.evaluate(() =>
      (window as unknown as { lcp: { send(c: { type: string }): void } }).lcp.send({
        type: 'loseContext',
      }),
    );
    await expect
      .poll(() => page.getByTestId('notice').allTextContents(), { timeout: 30_000 })
      .toContainEqual(
        expect.stringMatching(/WebGL context was lost; the run continues on another backend/),
      );
    expect(await backendOf(page)).toMatch(/^(webgl|wasm|cpu)$/);
    await stepsAdvance(page);
    expect(problems.filter((p) => !/context lost|CONTEXT_LOST/i.test(p))).toEqual([]);
    await page.close();
  });

  it('falls back with a notice when WebGL is forced but unavailable', async () => {
    // A machine without WebGL: --use-gl=disabled takes it from workers' OffscreenCanvas too
    // (--disable-webgl only reaches the page's canvases).
    const noGl = await launch(['--use-gl=disabled']);
    const { page } = await openPage(noGl, `${inject('baseUrl')}?backend=webgl`);
    try {
      const backend = await backendOf(page);
      expect(backend).toMatch(/^(wasm|cpu)$/);
      await expect
        .poll(() => page.getByTestId('notice').allTextContents(), { timeout: 30_000 })
        .toContainEqual(expect.stringMatching(/webgl is not available/i));
      await page.keyboard.press('Space');
      await stepsAdvance(page);
    } finally {
      await noGl.close();
    }
  });

  it('the automatic choice is reported with its measurement', async () => {
    const { page } = await openPage(browser, inject('baseUrl'));
    expect(await backendOf(page)).toMatch(/^(webgl|wasm|cpu)$/);
    expect(await page.getByTestId('status-backend').locator('..').getAttribute('title')).toMatch(
      /auto: .*steps\/s/,
    );
    await page.close();
  });
});
