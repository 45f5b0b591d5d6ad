import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chapterReady, launch, openPage, statusNumber } from './browser';

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
    await chapterReady(page);
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
    try {
      const { page } = await openPage(noGl, `${inject('baseUrl')}?backend=webgl`);
      const backend = await backendOf(page);
      expect(backend).toMatch(/^(wasm|cpu)$/);
      await expect
        .poll(() => page.getByTestId('notice').allTextContents(), { timeout: 30_000 })
        .toContainEqual(expect.stringMatching(/webgl is not available/i));
      await chapterReady(page);
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

  /** A page in its own context that records problems and main-frame navigations. */
  async function watchedPage(context: BrowserContext) {
    const page = await context.newPage();
    const problems: string[] = [];
    let navigations = 0;
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    // Document loads (the address's hash is rewritten as the run goes: not a navigation).
    page.on('load', () => navigations++);
    return { page, problems, navigations: () => navigations };
  }

  it('isolates itself on a plain static server: one reload, WASM threads possible, no error', async () => {
    // The test server sends no COOP/COEP: the service worker adds them (public/coi-sw.js).
    const context = await browser.newContext();
    const { page, problems, navigations } = await watchedPage(context);
    try {
      await page.goto(`${inject('baseUrl')}?backend=wasm`);
      expect(await backendOf(page)).toBe('wasm');
      expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
      const title = await page.getByTestId('status-backend').locator('..').getAttribute('title');
      // Threads are possible; the app keeps one core for the page (one thread on two cores),
      // and takes every core while Train 1 epoch runs.
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      expect(title).toMatch(
        cores > 2
          ? /WASM, \d+ threads/
          : /WASM, one thread \(one of \d+ cores kept for the page; \d+ while Train 1 epoch runs\)/,
      );
      await chapterReady(page);
      await page.keyboard.press('Space');
      await stepsAdvance(page);
      // The first load and one reload under the service worker; no loop.
      await page.waitForTimeout(1500);
      expect(navigations()).toBe(2);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('where isolation is impossible, runs on one thread and says why, without reloading', async () => {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const { page, problems, navigations } = await watchedPage(context);
    try {
      await page.goto(`${inject('baseUrl')}?backend=wasm`);
      expect(await backendOf(page)).toBe('wasm');
      expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(false);
      const title = await page.getByTestId('status-backend').locator('..').getAttribute('title');
      expect(title).toMatch(/WASM, one thread \(.*cross-origin isolated/);
      await chapterReady(page);
      await page.keyboard.press('Space');
      await stepsAdvance(page);
      await page.waitForTimeout(1500);
      expect(navigations()).toBe(1);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
