/**
 * Nothing a user types and no fault freezes, blanks or corrupts the app: malformed addresses, a
 * lost WebGL context in the middle of every kind of work, a network far too large to be quick, a
 * learning rate that blows up, a dead engine, a reload in the middle of training.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  appConfig,
  chapterReady,
  latest,
  launch,
  openPage,
  sceneIdle,
  send,
  setField,
  statusNumber,
} from './browser';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

async function notices(page: Page): Promise<string[]> {
  return page.getByTestId('notice').allTextContents();
}

async function noticeMatching(page: Page, pattern: RegExp, timeout = 30_000): Promise<void> {
  await expect
    .poll(async () => (await notices(page)).some((t) => pattern.test(t)), { timeout })
    .toBe(true);
}

async function loseContext(page: Page): Promise<void> {
  await send(page, { type: 'loseContext' });
}

const contextNoise = (p: string) => !/context lost|CONTEXT_LOST|WebGL/i.test(p);

describe('hostile addresses', () => {
  for (const query of ['?utm=100%', '?q=%zz', '?tfjsflags=WEBGL_VERSION:99', '?backend=%E0%A4%A']) {
    it(`${query} shows the app, not a blank page`, async () => {
      const { page, problems } = await openPage(browser, `${inject('baseUrl')}${query}`);
      await chapterReady(page);
      expect(await page.getByTestId('view-network').count()).toBe(1);
      expect(await page.getByTestId('crash').count()).toBe(0);
      if (query.startsWith('?backend')) await noticeMatching(page, /Ignored in the address/);
      expect(problems).toEqual([]);
      await page.close();
    });
  }
});

describe('a lost WebGL context in the middle of work continues on another backend', () => {
  it('during Train: training goes on from its last checkpoint, and Stop still works', async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}?backend=webgl`);
    await chapterReady(page);
    await page.getByTestId('train-updates').selectOption('1000');
    await page.keyboard.press('t');
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 60_000 })
      .toBeGreaterThan(2);
    await loseContext(page);
    await noticeMatching(page, /WebGL context was lost; training goes on/);
    const after = await statusNumber(page, 'status-updates');
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 60_000 })
      .toBeGreaterThan(after + 2);
    expect(await page.getByTestId('status-backend').textContent()).toMatch(/^(wasm|cpu|webgl)$/);
    await page.keyboard.press('Escape');
    await expect
      .poll(async () => (await latest(page))?.busy?.kind ?? 'idle', { timeout: 10_000 })
      .not.toBe('train');
    expect(problems.filter(contextNoise)).toEqual([]);
    await page.close();
  });

  it('during Learn: the update is made on the next backend', async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}?backend=webgl`);
    await chapterReady(page);
    const before = await statusNumber(page, 'status-updates');
    await page.keyboard.press('l');
    await loseContext(page);
    await noticeMatching(page, /WebGL context was lost/);
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(before + 1);
    expect(problems.filter(contextNoise)).toEqual([]);
    await page.close();
  });

  it('during a run to equilibrium: the run settles on the next backend', async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}?backend=webgl`);
    await chapterReady(page);
    await page.keyboard.press('c');
    await page.keyboard.press('e');
    await loseContext(page);
    await noticeMatching(page, /WebGL context was lost/);
    await expect
      .poll(async () => (await latest(page))?.metrics.settled, { timeout: 60_000 })
      .toBe(true);
    expect(problems.filter(contextNoise)).toEqual([]);
    await page.close();
  });

  it('during a decision-map request: the map still arrives', async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}?backend=webgl`);
    await chapterReady(page);
    // Chapter 7: the 16-unit circle net.
    await page.getByTestId('chapter-menu').selectOption('inversion-vs-feedback');
    await expect.poll(async () => (await latest(page))?.n, { timeout: 60_000 }).toBe(16);
    const size = await page.evaluate(async () => {
      const lcp = (
        window as unknown as {
          lcp: {
            send(c: unknown): void;
            decisionMap(size: number): Promise<{ size: number; values: Float32Array }>;
          };
        }
      ).lcp;
      const map = lcp.decisionMap(48);
      lcp.send({ type: 'loseContext' });
      const m = await map;
      return m.values.length === m.size * m.size && m.values.every(Number.isFinite) ? m.size : -1;
    });
    expect(size).toBe(48);
    await noticeMatching(page, /WebGL context was lost/);
    expect(problems.filter(contextNoise)).toEqual([]);
    await page.close();
  });
});

describe('sizes that are allowed but slow', () => {
  it('4096 hidden units: a busy indicator with progress, a Cancel that acts, then back to work', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    await setField(page, 'hidden', '4096');
    // Progress shows within a second or two (drawing 16.8 M weights takes a while).
    await page
      .getByTestId('busy')
      .filter({ hasText: /Building the network/ })
      .waitFor({ timeout: 5_000 });
    await expect
      .poll(() => page.getByTestId('busy').textContent(), { timeout: 10_000 })
      .toMatch(/\d+\/\d+/);
    const t0 = Date.now();
    await page.getByTestId('cancel').click();
    await page
      .getByTestId('busy')
      .filter({ hasText: /Building the network 4096|drawing/ })
      .waitFor({ state: 'detached', timeout: 5_000 });
    const cancelMs = Date.now() - t0;
    // Back on the chapter's 2-unit network, which works again.
    await noticeMatching(page, /Stopped building/);
    await expect.poll(async () => (await latest(page))?.n, { timeout: 30_000 }).toBe(2);
    expect(await page.locator('[data-field-key="hidden"] input').inputValue()).toBe('2');
    const before = await statusNumber(page, 'status-updates');
    await page.keyboard.press('l');
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 30_000 })
      .toBe(before + 1);
    expect(cancelMs).toBeLessThan(5_000);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a size beyond what the machine holds is refused in the control, with the bound', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    // Chapter 10: a layered 16-16-16 net.
    await page.getByTestId('chapter-menu').selectOption('deep-feed-forward');
    await expect.poll(async () => (await latest(page))?.n, { timeout: 60_000 }).toBe(48);
    await setField(page, 'layers', '4096,4096,4096,4096,4096,4096,4096,4096');
    await noticeMatching(page, /layers.*refused.*at most/);
    expect(await page.locator('[data-field-key="layers"] input').inputValue()).toBe('16,16,16');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('divergence and a dead engine', () => {
  it('a learning rate that blows up: the weights are restored, a smaller rate works', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    await setField(page, 'lr', '10');
    await page.getByTestId('train-updates').selectOption('50');
    await page.keyboard.press('t');
    await noticeMatching(page, /Diverged/, 60_000);
    const text = (await notices(page)).find((t) => /Diverged/.test(t)) ?? '';
    expect(text).toMatch(/Likely cause/);
    // One notice for the event, with its fix.
    expect((await notices(page)).filter((t) => /Diverged/.test(t))).toHaveLength(1);
    const fix = page.getByTestId('notice-action').filter({ hasText: /Lower η|Halve dt/ });
    await fix.click();
    await expect.poll(() => appConfig(page, 'lr')).toBeLessThan(10);
    await setField(page, 'lr', '0.05');
    const before = await statusNumber(page, 'status-updates');
    await page.getByTestId('train-updates').selectOption('5');
    await page.keyboard.press('t');
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 60_000 })
      .toBe(before + 5);
    expect(Number.isFinite(await statusNumber(page, 'status-loss'))).toBe(true);
    expect((await notices(page)).filter((t) => /Diverged/.test(t))).toHaveLength(0);
    expect(await page.getByTestId('play').getAttribute('aria-pressed')).toBe('false');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a terminated engine is reported within seconds and restarts with the weights', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    for (let i = 0; i < 3; i++) {
      const u = await statusNumber(page, 'status-updates');
      await page.keyboard.press('l');
      await expect
        .poll(() => statusNumber(page, 'status-updates'), { timeout: 30_000 })
        .toBe(u + 1);
    }
    const engineWorker = page.workers().find((w) => /engine/.test(w.url()));
    expect(engineWorker).toBeDefined();
    const t0 = Date.now();
    await engineWorker!.evaluate(() => (self as unknown as { close(): void }).close());
    await noticeMatching(page, /not responding/, 10_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await page.getByTestId('notice-action').filter({ hasText: 'Restart engine' }).click();
    await chapterReady(page);
    expect(await statusNumber(page, 'status-updates')).toBe(3);
    const before = await statusNumber(page, 'status-step');
    await page.keyboard.press('Space');
    await expect
      .poll(() => statusNumber(page, 'status-step'), { timeout: 30_000 })
      .toBeGreaterThan(before);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a reload during training offers the work back, and Restore continues it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    await page.goto(inject('baseUrl'));
    await chapterReady(page);
    await page.getByTestId('chapter-menu').selectOption('deep-feed-forward');
    await expect.poll(async () => (await latest(page))?.n, { timeout: 60_000 }).toBe(48);
    await sceneIdle(page);
    await page.getByTestId('train-updates').selectOption('1000');
    await page.keyboard.press('t');
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 60_000 })
      .toBeGreaterThan(20);
    // Give the autosave its moment, then reload in the middle of training.
    await page.waitForTimeout(2500);
    await page.reload();
    await page.getByTestId('session').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('session').textContent()).toMatch(
      /A deep feed-forward net as an equilibrium system \(scene 1\).*\d+ updates/,
    );
    await page.getByTestId('session-restore').click();
    await expect.poll(async () => (await latest(page))?.n, { timeout: 60_000 }).toBe(48);
    // The status bar renders the restored snapshot a frame after the store has it.
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 10_000 })
      .toBeGreaterThan(20);
    expect(await page.getByTestId('chapter-menu').inputValue()).toBe('deep-feed-forward');
    expect(await page.getByTestId('scene-title').count()).toBe(1);
    await context.close();
  });
});
