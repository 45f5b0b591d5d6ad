/**
 * The keyboard as the README tells a new user to use it: shortcuts act whenever focus is not in a
 * text field; choosing a chapter or committing a field hands the keyboard back to the stage;
 * Space on a focused button presses that button; keys pressed while the engine starts are kept.
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
  statusNumber,
} from './browser';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

async function plays(page: Page): Promise<void> {
  const before = await statusNumber(page, 'status-step');
  await page.keyboard.press('Space');
  await expect
    .poll(() => statusNumber(page, 'status-step'), { timeout: 30_000 })
    .toBeGreaterThan(before + 10);
  await page.keyboard.press('Space');
  await expect.poll(async () => (await latest(page))?.playing, { timeout: 30_000 }).toBe(false);
}

describe('the keyboard', () => {
  it('a key pressed while the engine is still starting is kept, not dropped', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    // As soon as the page listens (after its one isolation reload), before the engine is up.
    await page.getByTestId('status-step').waitFor();
    expect(await page.getByTestId('status-backend').textContent()).toBe('…');
    await page.keyboard.press('c');
    await chapterReady(page);
    await expect.poll(async () => (await latest(page))?.control, { timeout: 30_000 }).toBe(true);
    expect(await page.getByTestId('control').getAttribute('aria-pressed')).toBe('true');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('choosing a chapter with the mouse, then Space plays and C controls', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    const select = page.getByTestId('chapter-menu');
    await select.click();
    // Chapter 10 runs on a 16-16-16 net; its first scene plays a little with control off.
    await select.selectOption('deep-feed-forward');
    await expect.poll(async () => (await latest(page))?.n, { timeout: 60_000 }).toBe(48);
    await sceneIdle(page);
    expect(await page.evaluate(() => document.activeElement?.tagName)).not.toBe('SELECT');
    await plays(page);
    await page.keyboard.press('c');
    await expect.poll(async () => (await latest(page))?.control, { timeout: 30_000 }).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Enter commits a parameter field and gives the keyboard back: Space plays, not types', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    const alpha = page.locator('[data-field-key="alpha"] input');
    await alpha.click();
    await alpha.fill('0.02');
    await alpha.press('Enter');
    await expect.poll(() => appConfig(page, 'alpha')).toBe(0.02);
    await plays(page);
    expect(await alpha.inputValue()).toBe('0.02');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Space on a focused button presses that button (and does not toggle play)', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    const before = await statusNumber(page, 'status-updates');
    await page.getByTestId('learn').focus();
    await page.keyboard.press('Space');
    await expect
      .poll(() => statusNumber(page, 'status-updates'), { timeout: 60_000 })
      .toBe(before + 1);
    expect((await latest(page))?.playing).toBe(false);
    // Letters still act while a button has focus.
    await page.keyboard.press('c');
    await expect.poll(async () => (await latest(page))?.control, { timeout: 30_000 }).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('→ and PageDown change scene, ← and PageUp go back, . steps once, H hides the caption', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    const scene = () =>
      page.evaluate(
        () =>
          (window as unknown as { lcpDebug: { app: () => { scene: number } } }).lcpDebug.app()
            .scene,
      );
    expect(await scene()).toBe(0);
    // . is Step now: one Euler step, the scene stays.
    const s0 = await statusNumber(page, 'status-step');
    await page.keyboard.press('.');
    await expect.poll(() => statusNumber(page, 'status-step'), { timeout: 30_000 }).toBe(s0 + 1);
    expect(await scene()).toBe(0);
    await page.keyboard.press('ArrowRight');
    await expect.poll(scene).toBe(1);
    await page.keyboard.press('PageDown');
    await expect.poll(scene).toBe(2);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(scene).toBe(1);
    await page.keyboard.press('PageUp');
    await expect.poll(scene).toBe(0);
    await page.keyboard.press('h');
    await expect.poll(() => page.getByTestId('scene-caption').count()).toBe(0);
    await page.keyboard.press('h');
    await expect.poll(() => page.getByTestId('scene-caption').count()).toBe(1);
    // In a text field the arrows are the field's own.
    const alpha = page.locator('[data-field-key="alpha"] input');
    await alpha.click();
    await page.keyboard.press('ArrowRight');
    expect(await scene()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});
