/**
 * Digits in the browser (chapter 13, RBP: the fastest digits network): Train 1 epoch with its
 * progress bar (epoch, batch, time left), a Stop in the middle and a resume that finishes the
 * same epoch, then the test accuracy and the confusion matrix; test digits marked right or
 * wrong; a digit drawn on the pad with real mouse moves, and the network's free and controlled
 * responses to it. No page error and no console error on the way; screenshots at 1280×720 and
 * 390×844 (test-results/screenshots/digits/), with axe-core on the digits view.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chapterReady, latest, launch, openPage, sceneIdle, setField } from './browser';

const ARTIFACTS = 'test-results/screenshots/digits';
/** Training digits kept (a seeded subset): 100 batches of 16 per epoch keep the test short. */
const LIMIT = 1600;
const BATCHES = LIMIT / 16;
const TEST_DIGITS = 1996;

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

/** Open chapter 13 at its last scene (the digits view) on a page of this size. */
async function openDigits(size: { width: number; height: number }) {
  const opened = await openPage(browser, inject('baseUrl'), size);
  const { page } = opened;
  await chapterReady(page, 90_000);
  await page.getByTestId('chapter-menu').selectOption('digits-rbp');
  await chapterReady(page, 120_000);
  await sceneIdle(page, 180_000);
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('PageDown');
    await sceneIdle(page);
  }
  await expect.poll(() => page.getByTestId('view-digits').count()).toBe(1);
  return opened;
}

async function busyLabel(page: Page): Promise<string> {
  const label = page.getByTestId('busy-label');
  return (await label.count()) ? ((await label.textContent()) ?? '') : '';
}

/** The batch the progress bar shows in epoch `epoch`, or null when it shows no such epoch. */
async function epochBatch(page: Page, epoch = 1): Promise<number | null> {
  const m = /Epoch (\d+) · batch (\d+)\/(\d+)/.exec(await busyLabel(page));
  if (!m || Number(m[1]) !== epoch) return null;
  expect(Number(m[3])).toBe(BATCHES);
  return Number(m[2]);
}

async function idle(page: Page): Promise<void> {
  await expect.poll(async () => (await latest(page))?.busy ?? null, { timeout: 60_000 }).toBe(null);
}

/** The confusion matrix's counts, from each cell's tooltip ("true t, predicted p: n (…%)"). */
async function confusionCounts(page: Page): Promise<number[]> {
  const titles = await page.$$eval('[data-testid=confusion] g.cell title', (els) =>
    els.map((e) => e.textContent ?? ''),
  );
  return titles.map((t) => Number(/: (\d+) \(/.exec(t)![1]));
}

describe('digits: whole epochs, the test set and a digit of your own', () => {
  it('trains an epoch with stop and resume, tests it, and answers a drawn digit', async () => {
    const { page, problems } = await openDigits({ width: 1280, height: 720 });
    await setField(page, 'limit', String(LIMIT));
    await expect.poll(async () => (await latest(page))?.updates, { timeout: 120_000 }).toBe(0);
    await chapterReady(page, 120_000);
    await idle(page);
    await expect(page.getByTestId('test-accuracy').textContent()).resolves.not.toContain('%');

    // Train 1 epoch: the bar names the epoch and the batch, and the time left.
    await page.getByTestId('trainEpoch').click();
    await expect
      .poll(() => epochBatch(page), { timeout: 60_000, interval: 100 })
      .toBeGreaterThanOrEqual(5);
    expect(await busyLabel(page)).toMatch(/left/);
    const fraction = Number(await page.getByTestId('train-progress').getAttribute('value'));
    expect(fraction).toBeGreaterThan(0);
    expect(fraction).toBeLessThan(1);
    await page.screenshot({ path: `${ARTIFACTS}/training-1280.png` });

    // Stop in the middle: the updates so far stay, and no test evaluation happens.
    expect(await page.getByTestId('trainEpoch').textContent()).toContain('Stop epoch');
    await page.getByTestId('trainEpoch').click();
    await idle(page);
    const stoppedAt = (await latest(page))!.updates;
    expect(stoppedAt).toBeGreaterThanOrEqual(5);
    expect(stoppedAt).toBeLessThan(BATCHES);
    expect(await page.getByTestId('test-accuracy').textContent()).not.toContain('%');

    // Resume (the key this time): the same epoch goes on where it stopped, and ends there.
    await page.keyboard.press('p');
    await expect
      .poll(() => epochBatch(page), { timeout: 60_000, interval: 100 })
      .toBeGreaterThan(stoppedAt);
    await expect
      .poll(() => page.getByTestId('test-accuracy').textContent(), { timeout: 180_000 })
      .toMatch(/epoch: 1: \d+\.\d%/);
    await idle(page);
    expect((await latest(page))!.updates).toBe(BATCHES);
    const accuracy = Number(
      /1: (\d+\.\d)%/.exec((await page.getByTestId('test-accuracy').textContent())!)![1],
    );
    // A hundred updates of RBP already read most digits.
    expect(accuracy).toBeGreaterThan(50);

    // The confusion matrix: every test digit once, the diagonal as the accuracy says.
    const counts = await confusionCounts(page);
    expect(counts.length).toBe(100);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(TEST_DIGITS);
    let right = 0;
    for (let c = 0; c < 10; c++) right += counts[c * 11];
    expect((100 * right) / TEST_DIGITS).toBeCloseTo(accuracy, 1);

    // The test digits under the task view carry the trained network's verdicts.
    await expect
      .poll(() => page.$$eval('[data-testid=view-task] g.digit text.label', (els) => els.length))
      .toBeGreaterThan(20);
    const verdicts = await page.$$eval('[data-testid=view-task] g.digit text.label', (els) =>
      els.map((e) => e.textContent ?? ''),
    );
    expect(verdicts.filter((v) => /[✓✗]/.test(v)).length).toBeGreaterThanOrEqual(24);

    // Draw a 7 on the pad with the mouse: the free response, and control toward the prediction.
    const pad = page.getByTestId('digit-pad');
    const box = (await pad.boundingBox())!;
    const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height];
    await page.mouse.move(...(at(0.3, 0.2) as [number, number]));
    await page.mouse.down();
    await page.mouse.move(...(at(0.7, 0.2) as [number, number]), { steps: 10 });
    await page.mouse.move(...(at(0.45, 0.85) as [number, number]), { steps: 14 });
    await page.mouse.up();
    const response = page.getByTestId('digit-response');
    await expect
      .poll(() => response.locator('.panel-controlled rect.bar').count(), { timeout: 60_000 })
      .toBe(10);
    expect(await response.locator('.panel-free rect.bar').count()).toBe(10);
    await expect(page.getByTestId('digit-seen').count()).resolves.toBe(1);
    const freeTitle = (await response.locator('.panel-free .panel-title').textContent())!;
    const predicted = Number(/predicts (\d)/.exec(freeTitle)![1]);
    expect(await response.locator('.panel-controlled .panel-title').textContent()).toBe(
      `controlled toward ${predicted}`,
    );
    expect(await response.locator('text.control').textContent()).toMatch(/½‖ψ\*‖² = /);

    // Another target: control pulls the output toward it, at a cost in ½‖ψ*‖².
    const other = (predicted + 5) % 10;
    await page.getByTestId('digit-target').selectOption(String(other));
    await expect
      .poll(() => response.locator('.panel-controlled .panel-title').textContent(), {
        timeout: 60_000,
      })
      .toBe(`controlled toward ${other}`);
    const line = (await response.locator('text.control').textContent())!;
    const m = /p\((\d)\): (\S+) free → (\S+) controlled/.exec(line)!;
    const num = (s: string) => Number(s.replace('−', '-'));
    expect(Number(m[1])).toBe(other);
    expect(num(m[3])).toBeGreaterThan(num(m[2]));
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${ARTIFACTS}/digits-1280.png` });

    // axe-core on the digits view: labelled controls, no serious violation.
    await page.addScriptTag({ content: readFileSync('node_modules/axe-core/axe.min.js', 'utf8') });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: {
            run: (
              ctx: Element,
            ) => Promise<{ violations: { id: string; impact: string | null; nodes: unknown[] }[] }>;
          };
        }
      ).axe;
      const result = await axe.run(document.querySelector('[data-testid=view-digits]')!);
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
    });
    expect(violations).toEqual([]);

    // Training on with a drawing on the pad, then a stop: the response stays (asked again for
    // the new weights, never failed by the stop).
    await page.keyboard.press('p');
    await expect
      .poll(() => epochBatch(page, 2), { timeout: 60_000, interval: 100 })
      .toBeGreaterThanOrEqual(2);
    await page.keyboard.press('Escape');
    await idle(page);
    await page.waitForTimeout(1000);
    expect(await response.locator('text.empty').textContent()).toBe('');
    expect(await response.locator('.panel-controlled rect.bar').count()).toBe(10);

    // The keyboard clears the pad: the response goes with the drawing.
    await page.getByTestId('digit-pad-clear').focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => response.locator('text.empty').textContent())
      .toBe('Draw a digit on the pad.');
    expect(await page.getByTestId('digit-seen').count()).toBe(0);

    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  it('a phone-sized page shows the digits view without errors', async () => {
    const { page, problems } = await openDigits({ width: 390, height: 844 });
    // The view enlarged fills the stage (the phone's narrow column would hide the pad).
    await page.locator('[data-view=digits] button[aria-label^="Enlarge"]').click();
    await expect.poll(() => page.getByTestId('digit-pad').isVisible()).toBe(true);
    await page.locator('[data-view=digits]').evaluate((el) => el.scrollIntoView());
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${ARTIFACTS}/digits-390.png` });
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});
