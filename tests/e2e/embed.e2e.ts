/**
 * Embed mode and offline use: the example host page drives an embedded app through postMessage;
 * after one visit the app, its WASM and its data work with the network cut; a new build announces
 * itself.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chapterReady, launch, openPage, sceneIdle } from './browser';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

interface Reply {
  ok: boolean;
  error?: string;
  status?: { step: number; updates: number; control: boolean; config: { alpha: number } };
}

async function sendFromHost(page: Page, message: Record<string, unknown>): Promise<Reply> {
  return page.evaluate(
    (m) =>
      (window as unknown as { lcpEmbed: { send(m: unknown): Promise<Reply> } }).lcpEmbed.send(m),
    message,
  );
}

describe('embed mode', () => {
  it('the example host page drives the embedded app with postMessage', async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}embed-example.html`, {
      width: 1000,
      height: 900,
    });
    await page.waitForFunction(
      () => document.getElementById('ready')?.textContent === 'yes',
      null,
      {
        timeout: 90_000,
      },
    );
    const frame = page.frameLocator('#lab');
    // Only the views and controls the host asked for, and the way out to the full app.
    await expect.poll(() => frame.locator('[data-view]').count()).toBe(2);
    expect(await frame.locator('[data-view="phase"]').count()).toBe(1);
    expect(await frame.locator('[data-testid="chapter-menu"]').count()).toBe(0);
    expect(await frame.getByTestId('learn').count()).toBe(1);
    expect(await frame.getByTestId('train').count()).toBe(0);
    expect(await frame.getByTestId('embed-open').getAttribute('href')).not.toMatch(/embed=1/);

    for (const label of ['Control on', 'Step 10', 'Learn', 'Set α = 0.05'])
      await page.getByRole('button', { name: label }).click();
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Status' }).click();
          return page.locator('#reply').textContent();
        },
        { timeout: 60_000 },
      )
      .toMatch(/^ok: step \d+, updates 1, playing false, control true, α 0\.05$/);
    const status = await sendFromHost(page, { type: 'status' });
    expect(status.ok).toBe(true);
    expect(status.status!.step).toBeGreaterThanOrEqual(10);

    // Bad requests are answered with a reason and change nothing.
    const bad = await sendFromHost(page, { type: 'set', key: 'alpha', value: -5 });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/alpha/);
    const unknown = await sendFromHost(page, { type: 'format-disk' });
    expect(unknown).toMatchObject({ ok: false });
    const proto = await sendFromHost(page, { type: 'set', key: '__proto__', value: { x: 1 } });
    expect(proto).toMatchObject({ ok: false });
    expect((await sendFromHost(page, { type: 'status' })).status!.config.alpha).toBe(0.05);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);

  it("the Embed dialog writes iframe code for this run's link", async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    await sceneIdle(page);
    await page.keyboard.press('.');
    await page.waitForTimeout(1000);
    await page.getByTestId('embed').click();
    const code = await page.getByTestId('embed-code').inputValue();
    expect(code).toMatch(/^<iframe src="[^"]*embed=1&amp;views=[^"]*#v=1&amp;s=/);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('embed-dialog').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});

describe('offline', () => {
  it('after one visit the app, its WASM and its data work with the network cut', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(inject('baseUrl'));
    await chapterReady(page);
    // The service worker has kept the build's files (its precache list), MNIST included.
    await page.waitForFunction(
      async () => {
        const names = await caches.keys();
        for (const name of names.filter((n) => n.startsWith('lcp-lab-'))) {
          const cache = await caches.open(name);
          if (await cache.match(new URL('data/mnist.bin', document.baseURI).href)) return true;
        }
        return false;
      },
      null,
      { timeout: 60_000, polling: 500 },
    );
    await context.setOffline(true);
    await page.reload();
    await chapterReady(page, 90_000);
    // A chapter that needs the data file and the WASM backend.
    await page.getByTestId('chapter-menu').selectOption('digits-rbp');
    await chapterReady(page, 120_000);
    await sceneIdle(page, 180_000);
    expect(await page.getByTestId('status-backend').textContent()).toMatch(/wasm/);
    await context.setOffline(false);

    // A new build's worker replaces this one's files and the page offers a reload.
    await page.evaluate(() =>
      navigator.serviceWorker.register(new URL('coi-sw.js?v=next-build', document.baseURI), {
        scope: './',
      }),
    );
    await expect
      .poll(() => page.locator('[data-key="update"]').count(), { timeout: 60_000 })
      .toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);
});
