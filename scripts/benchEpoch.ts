/**
 * One MNIST epoch in the app, like for like with the CLI's (issue 13: the browser within 1.5× of
 * the CLI): the digits chapter of a preset, its configuration set to the preset's (the chapters
 * train batches of 16 for a livelier page; the panel sets the preset's batch, as a user would),
 * then Train 1 epoch (P), timed from the key to the epoch's test evaluation — the CLI's `seconds`
 * also include its test evaluation. Reports the configuration fields that still differ.
 */
import type { Browser } from 'playwright-core';
import { parseConfig, type TrainConfig } from '../src/engine/config';
import { PRESETS } from '../src/engine/presets';

export interface BrowserEpoch {
  chapter: string;
  preset: string;
  seconds: number;
  updates: number;
  backend: string;
  /** Fields (other than seed and backend) where the page's configuration is not the preset's. */
  differs: string[];
}

interface Debug {
  lcpDebug: {
    latest(): { updates: number; epoch: number; busy: unknown } | null;
    app(): { config: TrainConfig };
  };
}

export async function browserEpoch(
  browser: Browser,
  base: string,
  chapter: string,
  preset: string,
): Promise<BrowserEpoch> {
  const want = parseConfig(PRESETS[preset].config);
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on('pageerror', (e) => console.error(`page error (${chapter}): ${e.message}`));
  await page.goto(base);
  await page.getByTestId('status-backend').filter({ hasNotText: '…' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('chapter-menu').selectOption(chapter);
  const idleAtZero = () =>
    page.waitForFunction(
      () => {
        const s = (window as unknown as Debug).lcpDebug.latest();
        return s !== null && s.updates === 0 && s.busy === null;
      },
      undefined,
      { timeout: 240_000 },
    );
  await idleAtZero();
  const field = page.locator('[data-field-key="batch"]');
  const group = page.locator('details', { has: field });
  if ((await group.getAttribute('open')) === null) await group.locator('summary').click();
  await field.locator('input').fill(String(want.batch));
  await field.locator('input').press('Enter');
  await page.waitForFunction(
    (b) => (window as unknown as Debug).lcpDebug.app().config.batch === b,
    want.batch,
    { timeout: 60_000 },
  );
  // The batch rebuilds the network: wait for it, then train.
  await page.waitForTimeout(500);
  await idleAtZero();
  const config = await page.evaluate(() => (window as unknown as Debug).lcpDebug.app().config);
  const differs = (Object.keys(want) as (keyof TrainConfig)[]).filter(
    (k) => k !== 'seed' && k !== 'backend' && JSON.stringify(config[k]) !== JSON.stringify(want[k]),
  );
  await page.locator('main.stage').focus();
  const t0 = Date.now();
  await page.keyboard.press('p');
  await page.waitForFunction(
    () => {
      const s = (window as unknown as Debug).lcpDebug.latest();
      return s !== null && s.epoch >= 1 && s.busy === null;
    },
    undefined,
    { timeout: 600_000, polling: 100 },
  );
  const seconds = (Date.now() - t0) / 1000;
  const updates = await page.evaluate(
    () => (window as unknown as Debug).lcpDebug.latest()?.updates ?? 0,
  );
  const backend = (await page.getByTestId('status-backend').textContent()) ?? '';
  await page.close();
  return { chapter, preset, seconds: Math.round(seconds * 10) / 10, updates, backend, differs };
}
