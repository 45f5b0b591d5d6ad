/**
 * Links: a run's link, opened in a fresh page, replays it to the same state (status texts,
 * state, learning curve and weights equal); hostile or broken links never break the page.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressToEncodedURIComponent } from 'lz-string';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chapterReady, launch, openPage, sceneIdle, send, setField } from './browser';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

interface DebugHooks {
  lcpDebug?: {
    app: () => { busy: unknown; sceneRunning: boolean; config: Record<string, unknown> };
    latest: () => (Record<string, unknown> & { updates?: number }) | null;
    view: () => {
      learning: unknown[];
      weights: { params: Record<string, { data: Float32Array }> } | null;
    };
    log: () => { entries: unknown[]; base: unknown };
  };
}

/** The engine has nothing to do and the page has drawn its last snapshot. */
async function settled(page: Page, timeout = 90_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const d = (window as unknown as DebugHooks).lcpDebug;
      const a = d?.app();
      const loss = document.querySelector('[data-testid=status-loss]')?.textContent;
      return !!a && a.busy === null && !a.sceneRunning && Number.isFinite(Number(loss));
    },
    null,
    { timeout, polling: 100 },
  );
  // A last snapshot (and the hash's debounced write) may still be on the way.
  await page.waitForTimeout(1200);
}

/** Everything that describes the run on screen. */
async function runState(page: Page) {
  return page.evaluate(() => {
    const d = (window as unknown as DebugHooks).lcpDebug!;
    const s = d.latest()!;
    const arrays = Object.fromEntries(
      ['phi', 'psi', 'y', 'u', 'x', 'target'].map((k) => [k, Array.from(s[k] as Float32Array)]),
    );
    const view = d.view();
    const weights = Object.fromEntries(
      Object.entries(view.weights?.params ?? {}).map(([k, m]) => [k, Array.from(m.data)]),
    );
    const status = Array.from(document.querySelectorAll('[data-testid^="status-"]')).map(
      (e) => `${e.getAttribute('data-testid')}=${e.textContent}`,
    );
    return {
      status,
      step: s.step,
      updates: s.updates,
      sample: s.sample,
      control: s.control,
      arrays,
      learning: JSON.stringify(view.learning),
      weights,
      // The backend the sender's run used is forced on the replay (the sender chose 'auto').
      config: JSON.stringify({ ...d.app().config, backend: null }),
    };
  });
}

async function openChapter(page: Page, id: string): Promise<void> {
  await chapterReady(page);
  await page.getByTestId('chapter-menu').selectOption(id);
  await sceneIdle(page);
  await settled(page);
}

/** Train `updates` from a fresh chapter with the page's Train, and wait until all have landed. */
async function train(page: Page, updates: number, timeout: number): Promise<void> {
  await page.getByTestId('train-updates').selectOption(String(updates));
  await page.keyboard.press('t');
  await page.waitForFunction(
    (n) => (window as unknown as DebugHooks).lcpDebug!.latest()?.updates === n,
    updates,
    { timeout },
  );
}

/** Save a file through the page's own button; its path on disk. */
async function saved(page: Page, click: () => Promise<void>): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  return (await file.path())!;
}

/** A view's data export (CSV) as text. */
async function exportedCsv(page: Page, view: 'traces' | 'learning'): Promise<string> {
  await page.getByTestId(`export-${view}`).click();
  const path = await saved(page, () => page.getByTestId(`export-${view}-csv`).click());
  return readFileSync(path, 'utf8');
}

/** Copy the link with the page's button; the address holds the same link. */
async function copiedLink(page: Page): Promise<string> {
  await page.getByTestId('copyLink').click();
  await page.waitForTimeout(300);
  const hash = await page.evaluate(() => location.hash);
  expect(hash).toMatch(/^#v=1&s=/);
  return hash;
}

async function replayed(hash: string): Promise<{ page: Page; problems: string[] }> {
  const opened = await openPage(browser, `${inject('baseUrl')}${hash}`);
  await opened.page.waitForFunction(
    () => ((window as unknown as DebugHooks).lcpDebug?.log().entries.length ?? 0) > 0,
    null,
    { timeout: 60_000 },
  );
  await settled(opened.page, 180_000);
  return opened;
}

describe('a link replays the run exactly', () => {
  it('Figure 1: steps, control, a parameter edit, a weight edit, a target drag, learns and play', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await openChapter(page, 'learning-removes-control');
    for (let i = 0; i < 4; i++) await page.keyboard.press('.');
    await setField(page, 'lr', '0.05');
    await send(page, { type: 'edit', target: 'param', name: 'W', row: 1, col: 0, value: 0.3 });
    await settled(page);
    // Drag the target along the phase portrait's target axis.
    const strip = page.locator('[data-view="phase"] .target-strip').first();
    const box = (await strip.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.3, { steps: 5 });
    await page.mouse.up();
    await settled(page);
    await page.keyboard.press('c');
    await page.keyboard.press('e');
    await settled(page);
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('l');
      await settled(page);
    }
    await page.keyboard.press(' ');
    await page.waitForTimeout(800);
    await page.keyboard.press(' ');
    await settled(page);
    const before = await runState(page);
    expect(before.updates).toBeGreaterThan(0);
    const hash = await copiedLink(page);
    const log = await page.evaluate(() => (window as unknown as DebugHooks).lcpDebug!.log());
    // Every kind of action is in the log: steps, a field, a weight, a target, control, learns.
    const kinds = new Set((log.entries as unknown[][]).map((e) => e[0]));
    for (const k of ['s', 'f', 'w', 'y', 'c', 'l']) expect(kinds).toContain(k);

    const traces = await exportedCsv(page, 'traces');
    const learning = await exportedCsv(page, 'learning');
    expect(traces.split('\n').length).toBeGreaterThan(20);
    expect(learning.split('\n').length).toBeGreaterThan(3);

    const other = await replayed(hash);
    expect(await runState(other.page)).toEqual(before);
    expect(await exportedCsv(other.page, 'traces')).toBe(traces);
    expect(await exportedCsv(other.page, 'learning')).toBe(learning);

    // The model file, loaded into a fresh page, ends in the same state (and says so).
    const model = await saved(page, () => page.getByTestId('exportModel').click());
    const third = await openPage(browser, inject('baseUrl'));
    await chapterReady(third.page);
    await third.page.getByTestId('model-file').setInputFiles(model);
    await third.page.waitForFunction(
      () => ((window as unknown as DebugHooks).lcpDebug?.log().entries.length ?? 0) > 0,
      null,
      { timeout: 60_000 },
    );
    await settled(third.page, 180_000);
    expect(await runState(third.page)).toEqual(before);
    expect(await exportedCsv(third.page, 'traces')).toBe(traces);
    await expect
      .poll(async () => (await third.page.getByTestId('notice').allTextContents()).join(' '))
      .toMatch(/bit for bit/);
    expect(problems).toEqual([]);
    expect(other.problems).toEqual([]);
    expect(third.problems).toEqual([]);
    await page.close();
    await other.page.close();
    await third.page.close();
  }, 300_000);

  it("the CLI config trains the CLI to the app's Train metrics (cpu backend)", async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}?backend=cpu`);
    await openChapter(page, 'inversion-vs-feedback');
    await train(page, 50, 180_000);
    await settled(page, 180_000);
    const epochEnd = await page.evaluate(() =>
      (
        (window as unknown as DebugHooks).lcpDebug!.view().learning as {
          update: number;
          testLoss?: number;
          testAccuracy?: number;
        }[]
      ).find((p) => p.testLoss !== undefined),
    );
    expect(epochEnd).toBeDefined();
    const file = await saved(page, () => page.getByTestId('cliConfig').click());
    const dir = mkdtempSync(join(tmpdir(), 'lcp-cli-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, readFileSync(file));
    const out = execFileSync('npx', ['tsx', 'src/cli/main.ts', 'train', config, 'epochs=1'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const line = JSON.parse(out.trim().split('\n')[0]) as {
      testLoss: number;
      testAccuracy: number;
    };
    // The CLI prints six significant digits.
    expect(line.testLoss).toBe(Number(epochEnd!.testLoss!.toPrecision(6)));
    expect(line.testAccuracy).toBe(Number(epochEnd!.testAccuracy!.toPrecision(6)));
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  it('circle: Train, a Train stopped halfway, next sample, an input edit, learn', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await openChapter(page, 'inversion-vs-feedback');
    await train(page, 5, 60_000);
    await settled(page);
    await send(page, { type: 'train', updates: 1000 });
    await page.waitForFunction(
      () => {
        const s = (window as unknown as DebugHooks).lcpDebug!.latest();
        return ((s?.updates as number) ?? 0) >= 8;
      },
      null,
      { timeout: 60_000 },
    );
    await page.keyboard.press('Escape');
    await settled(page);
    await page.keyboard.press('n');
    await settled(page);
    await send(page, { type: 'edit', target: 'input', index: 0, value: 0.25 });
    await settled(page);
    await page.keyboard.press('l');
    await settled(page);
    const before = await runState(page);
    expect(before.updates).toBeGreaterThan(8);
    expect(before.updates).toBeLessThan(1000);
    const hash = await copiedLink(page);
    const other = await replayed(hash);
    expect(await runState(other.page)).toEqual(before);
    expect(problems).toEqual([]);
    expect(other.problems).toEqual([]);
    await page.close();
    await other.page.close();
  }, 300_000);
});

describe('hostile and broken links', () => {
  it('a bad field falls back to its default, is named in the notice, and the rest is used', async () => {
    // {"c":{"seed":9,"dt":-1,"<b>x</b>":1}} compressed.
    const s = compressToEncodedURIComponent(
      JSON.stringify({ c: { seed: 9, dt: -1, '<b>x</b>': 1 }, ch: 'local-rule' }),
    );
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}#v=1&s=${s}`);
    await chapterReady(page);
    const notice = page.getByTestId('link-notice');
    await expect.poll(() => notice.count()).toBe(1);
    const text = await notice.textContent();
    expect(text).toContain('c.dt');
    expect(text).toContain('c.<b>x</b>');
    // Shown as text, never as markup.
    expect(await page.locator('.notices b').count()).toBe(0);
    const config = await page.evaluate(
      () => (window as unknown as DebugHooks).lcpDebug!.app().config,
    );
    expect(config.seed).toBe(9);
    expect(config.dt).not.toBe(-1);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('a dropped file that is not a model changes nothing and says why', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    await settled(page);
    const before = await runState(page);
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(
        new File(['{"format":"lcp-lab-model","version":1,"weights":"<img src=x>"}'], 'bad.json', {
          type: 'application/json',
        }),
      );
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: data, cancelable: true }));
    });
    await expect
      .poll(async () => (await page.getByTestId('notice').allTextContents()).join(' '))
      .toMatch(/Could not load bad\.json/);
    await page.waitForTimeout(500);
    expect(await runState(page)).toEqual(before);
    expect(await page.locator('.notices img').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('300 malformed and hostile hashes: no error, no markup, a notice, an answer within 1 s', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    await chapterReady(page);
    const markup = () =>
      page.evaluate(
        () => document.querySelectorAll('img[onerror], script:not([src]), .notices b').length,
      );
    const markupBefore = await markup();
    const pack = (payload: unknown) =>
      `#v=1&s=${compressToEncodedURIComponent(JSON.stringify(payload))}`;
    const script = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const handMade = [
      `#v=1&s=${script}`,
      `#${script}`,
      '#v=1&s=%E0%A4%A',
      '#v=1&s=%zz%',
      '#v=99&s=abc',
      '#v=-1',
      '#v=1&v=1&s=&s=',
      `#v=1&s=${'Q'.repeat(20_000)}`,
      pack({ __proto__: { polluted: 1 }, constructor: { prototype: { polluted: 1 } } }),
      pack({ c: { __proto__: { seed: 1 }, hidden: 1e12, layers: [1e9, 1e9], dt: 'NaN' } }),
      pack({ c: { hidden: 4096, layers: Array(1000).fill(4096) } }),
      pack({ l: Array.from({ length: 6000 }, () => ['t', 1]) }),
      pack({
        l: [
          ['s', 1e300],
          ['t', -1],
          ['w', '__proto__', 0, 0, 1],
        ],
      }),
      pack({ ch: script, sc: 1e99, b: script }),
      pack({ c: script, l: script }),
      pack([1, 2, 3]),
      pack('just a string'),
      pack(null),
    ];
    const alphabet = 'ABCxyz019+-$=&%#<>"\'/\\{}[]_.~ ';
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const hashes = [...handMade];
    while (hashes.length < 300) {
      if (hashes.length % 2)
        hashes.push(
          `#${Array.from({ length: 1 + Math.floor(random() * 120) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')}`,
        );
      else
        hashes.push(
          pack({
            c: { seed: Math.floor(random() * 1e9), alpha: random() < 0.5 ? -random() : 1e300 },
            l: [['s', Math.floor(random() * 5) + 1], [script]],
            [random() < 0.5 ? '__proto__' : 'constructor']: { polluted: 1 },
          }),
        );
    }
    let slowest = 0;
    for (const hash of hashes) {
      await page.evaluate((h) => {
        location.hash = h;
      }, hash);
      const start = Date.now();
      await page.evaluate(() => document.title);
      slowest = Math.max(slowest, Date.now() - start);
    }
    const check = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
      polluted: ({} as Record<string, unknown>).polluted ?? null,
    }));
    expect(check).toEqual({ pwned: null, polluted: null });
    expect(await markup()).toBe(markupBefore);
    expect(slowest).toBeLessThan(1000);
    await expect.poll(() => page.getByTestId('link-notice').count()).toBe(1);
    // The page still works: a chapter opens and runs.
    await page.getByTestId('chapter-menu').selectOption('free-dynamics');
    await chapterReady(page);
    await sceneIdle(page);
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});
