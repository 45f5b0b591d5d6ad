/**
 * The chapters as a lecturer runs them: every chapter opens from the menu and runs start to
 * finish with PageDown alone, each scene's actions complete with no page error, and every scene
 * is kept as a screenshot (test-results/screenshots/chapters/). Then the presenter view (lecture
 * mode shows only the scene's views; H hides the caption) and going back with ← and PageUp.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHAPTERS } from '../../src/chapters';
import { chapterReady, launch, openPage } from './browser';

const ARTIFACTS = 'test-results/screenshots/chapters';

let browser: Browser;
let page: Page;
let problems: string[];

interface SceneState {
  chapter: string | null;
  scene: number;
  sceneRunning: boolean;
  captionHidden: boolean;
  sceneViews: string[] | null;
  notices: { level: string; text: string }[];
}

async function sceneState(p: Page = page): Promise<SceneState> {
  return p.evaluate(() => {
    const s = (window as unknown as { lcpDebug: { app: () => SceneState } }).lcpDebug.app();
    return {
      chapter: s.chapter,
      scene: s.scene,
      sceneRunning: s.sceneRunning,
      captionHidden: s.captionHidden,
      sceneViews: s.sceneViews,
      notices: s.notices.map((n) => ({ level: n.level, text: n.text })),
    };
  });
}

/** The scene's actions have run (the runner is idle). */
async function sceneDone(label: string, p: Page = page): Promise<void> {
  await expect
    .poll(async () => (await sceneState(p)).sceneRunning, {
      timeout: 240_000,
      interval: 250,
      message: label,
    })
    .toBe(false);
}

/** The views the stage shows, in order. */
async function shownViews(p: Page = page): Promise<string[]> {
  return p.$$eval('.stage-grid > .panel-view', (els) =>
    els.map((e) => (e as HTMLElement).dataset.view ?? ''),
  );
}

beforeAll(async () => {
  browser = await launch();
  ({ page, problems } = await openPage(browser, inject('baseUrl'), { width: 1280, height: 800 }));
  await chapterReady(page);
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

/** Chapter 1 last: it is the one already open, and choosing it again would not be a change. */
const ORDER = [...CHAPTERS.slice(1), CHAPTERS[0]];

describe('every chapter, start to finish with PageDown alone', () => {
  for (const chapter of ORDER) {
    const number = CHAPTERS.indexOf(chapter) + 1;
    it(`${number}. ${chapter.title}`, async () => {
      await page.getByTestId('chapter-menu').selectOption(chapter.id);
      // The menu hands the keyboard back to the stage.
      expect(await page.evaluate(() => document.activeElement?.tagName)).not.toBe('SELECT');
      const seen: string[] = [];
      for (let i = 0; i < chapter.scenes.length; i++) {
        const scene = chapter.scenes[i];
        const label = `chapter ${number} scene ${i + 1} (${scene.title})`;
        if (i > 0) await page.keyboard.press('PageDown');
        await expect.poll(async () => (await sceneState()).scene, { message: label }).toBe(i);
        await sceneDone(label);
        const s = await sceneState();
        expect(s.chapter, label).toBe(chapter.id);
        // The scene bar shows this scene: its number, title and caption.
        expect(await page.getByTestId('scene-title').textContent(), label).toBe(scene.title);
        expect(await page.getByTestId('scene-caption').textContent(), label).toBe(scene.caption);
        expect(await page.getByTestId('scene-number').textContent(), label).toContain(
          `${number}.${i + 1}`,
        );
        // Outside lecture mode the stage shows the scene's views (in the stage's order).
        expect((await shownViews()).sort(), label).toEqual([...scene.views].sort());
        // Errors the scene caused (analyses that are not there yet are warnings, listed below).
        const errors = s.notices.filter((n) => n.level === 'error').map((n) => n.text);
        expect(errors, label).toEqual([]);
        for (const n of s.notices.filter((n) => n.level === 'warning')) seen.push(n.text);
        await page.waitForTimeout(300);
        await page.screenshot({
          path: `${ARTIFACTS}/${String(number).padStart(2, '0')}-${chapter.id}-${i + 1}.png`,
        });
      }
      if (seen.length) console.info(`chapter ${number} notices: ${[...new Set(seen)].join(' | ')}`);
      expect(problems).toEqual([]);
    }, 900_000);
  }
});

describe('the presenter', () => {
  it('lecture mode shows only the scene views, H hides the caption, ← and PageUp go back', async () => {
    const chapter = CHAPTERS[1];
    await page.getByTestId('chapter-menu').selectOption(chapter.id);
    await sceneDone('chapter 2 scene 1');
    await page.keyboard.press('ArrowRight');
    await expect.poll(async () => (await sceneState()).scene).toBe(1);
    await sceneDone('chapter 2 scene 2');
    // The user reopens a hidden view; lecture mode still shows only the scene's.
    await page.locator('.hidden-views button', { hasText: 'Weights' }).click();
    expect(await shownViews()).toContain('weights');
    await page.keyboard.press('f');
    await expect
      .poll(() => page.evaluate(() => document.documentElement.classList.contains('lecture')))
      .toBe(true);
    await expect
      .poll(async () => (await shownViews()).sort())
      .toEqual([...chapter.scenes[1].views].sort());
    expect(await page.locator('.hidden-views').count()).toBe(0);
    // The progress strip: one segment per scene, the current one marked.
    const strip = page.getByTestId('scene-progress').locator('li');
    expect(await strip.count()).toBe(chapter.scenes.length);
    expect(await strip.nth(1).getAttribute('aria-current')).toBe('step');
    await page.keyboard.press('h');
    await expect.poll(() => page.getByTestId('scene-caption').count()).toBe(0);
    expect(await page.getByTestId('scene-title').textContent()).toBe(chapter.scenes[1].title);
    await page.screenshot({ path: `${ARTIFACTS}/presenter-caption-hidden.png` });
    await page.keyboard.press('h');
    await expect.poll(() => page.getByTestId('scene-caption').count()).toBe(1);
    await page.screenshot({ path: `${ARTIFACTS}/presenter.png` });
    // PageDown on, then back with ← and PageUp.
    await page.keyboard.press('PageDown');
    await expect.poll(async () => (await sceneState()).scene).toBe(2);
    await sceneDone('chapter 2 scene 3');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(async () => (await sceneState()).scene).toBe(1);
    await sceneDone('back to scene 2');
    await page.keyboard.press('PageUp');
    await expect.poll(async () => (await sceneState()).scene).toBe(0);
    await sceneDone('back to scene 1');
    expect(await page.getByTestId('scene-title').textContent()).toBe(chapter.scenes[0].title);
    expect(await page.getByTestId('scene-prev').isDisabled()).toBe(true);
    // The buttons do what the keys do.
    await page.getByTestId('scene-next').click();
    await expect.poll(async () => (await sceneState()).scene).toBe(1);
    await page.getByTestId('scene-prev').click();
    await expect.poll(async () => (await sceneState()).scene).toBe(0);
    await sceneDone('scene 1 again');
    await page.keyboard.press('f');
    // Going back restores the scene's α (scene 3 set α = 1; scenes 1 and 2 have 0.01).
    expect(
      await page.evaluate(
        () =>
          (
            window as unknown as { lcpDebug: { app: () => { config: { alpha: number } } } }
          ).lcpDebug.app().config.alpha,
      ),
    ).toBe(0.01);
    expect(problems).toEqual([]);
  }, 600_000);
});
