/**
 * Every chapter with every controller, as a student exploring by hand would: Play, Equilibrium,
 * Control, Learn and Train 5, with no page error, no engine error notice, and at least one update
 * applied by Learn and by Train; then every other training method (RBP or BP, EP) the chapter's
 * network allows, Learn and Train 5 again. (The last round shipped a controller option that crashed the
 * worker and chapters that looked dead for a minute.)
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { METHODS } from '../../src/engine/config';
import { CONTROLLER_KINDS } from '../../src/engine/kinds';
import { CHAPTERS } from '../../src/chapters';
import { mkdirSync } from 'node:fs';
import { appConfig, latest, launch, openPage, sceneIdle, statusNumber } from './browser';

const ARTIFACTS = 'test-results/screenshots';

let browser: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  browser = await launch();
  ({ page, problems } = await openPage(browser, inject('baseUrl')));
  await page.getByTestId('status-backend').filter({ hasNotText: '…' }).waitFor({ timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close();
});

/** Engine errors shown to the user (divergences are allowed: they are explained, not crashes). */
async function engineErrors(): Promise<string[]> {
  const texts = await engineNotices();
  return texts.filter((t) => /failed|could not|not available|no network/i.test(t));
}

async function engineNotices(): Promise<string[]> {
  return page.getByTestId('notice').allTextContents();
}

async function idle(timeout = 120_000): Promise<void> {
  await expect
    .poll(async () => (await latest(page))?.busy?.kind ?? 'idle', { timeout })
    .toMatch(/^(idle|refresh)$/);
}

/** Is control on, as the page shows it (its button)? */
async function controlOn(): Promise<boolean> {
  return (await page.getByTestId('control').getAttribute('aria-pressed')) === 'true';
}

async function updates(): Promise<number> {
  return statusNumber(page, 'status-updates');
}

async function chooseController(kind: string): Promise<void> {
  await page.locator('[data-field-key="controller"] select').selectOption(kind);
  await expect.poll(() => appConfig(page, 'controller')).toBe(kind);
}

/**
 * One chapter per distinct preset the chapters build on: the first whose first scene leaves the
 * controller off (the walk switches it on itself), else the preset's first chapter.
 */
const WALKED = [...new Set(CHAPTERS.map((c) => c.base.preset))].map((preset) => {
  const chapters = CHAPTERS.filter((c) => c.base.preset === preset);
  const off = chapters.find(
    (c) => !(c.scenes[0].actions ?? []).some((a) => a.do === 'control' && a.on),
  );
  return (off ?? chapters[0]).id;
});

describe('every chapter × every controller', () => {
  it('walks one chapter per preset, each preset once', () => {
    expect(WALKED.length).toBe(new Set(CHAPTERS.map((c) => c.base.preset)).size);
    expect(WALKED.every(Boolean)).toBe(true);
  });

  for (const chapter of WALKED) {
    it(`${chapter}: Play, Equilibrium, Control, Learn and Train 5 work with each controller`, async () => {
      try {
        await walk(chapter);
      } catch (e) {
        // What the page showed when it failed, for the test log and the artifacts.
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: `${ARTIFACTS}/matrix-${chapter}-failure.png` });
        const s = await latest(page);
        console.error(
          `${chapter} failed; notices: ${(await engineNotices()).join(' | ')}; busy: ${JSON.stringify(s?.busy)}; updates: ${s?.updates}`,
        );
        throw e;
      }
      // Six controllers on an MNIST chapter: the LF controllers' Q learning costs seconds per update.
    }, 600_000);
  }
});

/** One chapter: each controller in turn, every action once. */
async function walk(chapter: string): Promise<void> {
  // The first chapter is open already on a fresh page: choosing it again would change nothing.
  const menu = page.getByTestId('chapter-menu');
  if ((await menu.inputValue()) !== chapter) await menu.selectOption(chapter);
  // The new chapter's first snapshot: a fresh network at update 0 and no build running.
  await expect
    .poll(
      async () => {
        const s = await latest(page);
        return s !== null && s.updates === 0 && s.busy?.kind !== 'build';
      },
      { timeout: 120_000 },
    )
    .toBe(true);
  await sceneIdle(page, 240_000);
  await idle();
  for (const kind of CONTROLLER_KINDS) {
    await chooseController(kind);
    const label = `${chapter} with ${kind}`;
    // Play for a moment: time moves.
    const s0 = await statusNumber(page, 'status-step');
    await page.keyboard.press('Space');
    await expect
      .poll(() => statusNumber(page, 'status-step'), { timeout: 30_000 })
      .toBeGreaterThan(s0);
    await page.keyboard.press('Space');
    await expect.poll(async () => (await latest(page))?.playing, { timeout: 30_000 }).toBe(false);
    // Equilibrium, then control on.
    await page.keyboard.press('e');
    await idle();
    // A scene may have switched control on already (the α-limit chapter does).
    if (!(await controlOn())) await page.keyboard.press('c');
    await expect.poll(async () => (await latest(page))?.control, { timeout: 30_000 }).toBe(true);
    // Learn applies one update.
    const u0 = await updates();
    await page.keyboard.press('l');
    await expect
      .poll(updates, { timeout: 120_000, message: `${label}: Learn` })
      .toBeGreaterThan(u0);
    await idle();
    // Train 5: at least one update lands (then Stop, so heavy chapters stay quick).
    await page.getByTestId('train-updates').selectOption('5');
    const u1 = await updates();
    await page.keyboard.press('t');
    await expect
      .poll(updates, { timeout: 120_000, message: `${label}: Train` })
      .toBeGreaterThan(u1);
    // Stop (Esc): the run may also have finished by itself already.
    await page.keyboard.press('Escape');
    await idle();
    if (await controlOn()) await page.keyboard.press('c');
    expect(await engineErrors(), label).toEqual([]);
    expect(problems, label).toEqual([]);
  }
  const own = await appConfig(page, 'method');
  for (const method of METHODS.filter((m) => m !== own)) await tryMethod(chapter, method);
  await chooseMethod(String(own));
}

async function chooseMethod(method: string): Promise<void> {
  const field = page.locator('[data-field-key="method"]');
  // Its group (Learning) starts folded.
  const group = page.locator('details', { has: field });
  if ((await group.getAttribute('open')) === null) await group.locator('summary').click();
  await field.locator('select').selectOption(method);
  await expect.poll(() => appConfig(page, 'method')).toBe(method);
  await group.locator('summary').click();
}

/** Learn and Train 5 with another method, unless the network refuses it (a disabled option). */
async function tryMethod(chapter: string, method: string): Promise<void> {
  const option = page.locator(`[data-field-key="method"] option[value="${method}"]`);
  if (await option.isDisabled()) return;
  const label = `${chapter} with method ${method}`;
  await chooseMethod(method);
  // The method is not a live setting: the network is built anew, at update 0.
  await expect.poll(updates, { timeout: 120_000, message: `${label}: rebuilt` }).toBe(0);
  await idle();
  await page.keyboard.press('l');
  await expect.poll(updates, { timeout: 120_000, message: `${label}: Learn` }).toBeGreaterThan(0);
  await idle();
  const u1 = await updates();
  await page.keyboard.press('t');
  await expect.poll(updates, { timeout: 120_000, message: `${label}: Train` }).toBeGreaterThan(u1);
  await page.keyboard.press('Escape');
  await idle();
  expect(await engineErrors(), label).toEqual([]);
  expect(problems, label).toEqual([]);
}
