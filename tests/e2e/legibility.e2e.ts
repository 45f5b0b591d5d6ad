/**
 * Legibility at both sizes and in lecture mode, measured in Chromium: at 1280×720 and 1920×1080,
 * normal and lecture mode (key F), on the default chapter and an MNIST chapter after a few
 * Learns (and a Train on the default chapter): the page does not scroll, the stage grid is
 * covered by views (no empty region), every chart is drawn at its real size, no two tick labels
 * (axis ticks, colour-bar labels, trace markers) of a view overlap or leave their view, and in
 * lecture mode axis tick labels are at least 16 px. Screenshots of every combination are kept
 * under test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  latest,
  launch,
  openPage,
  sceneIdle,
  showAllViews,
  statusNumber,
  waitForStatus,
} from './browser';

const ARTIFACTS = 'test-results/screenshots';
const SIZES = [
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
];

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

/** Is any job of the worker running (the app's own view of it, refreshes included)? */
function appBusy(page: Page): Promise<boolean> {
  return page.evaluate(
    () =>
      (window as unknown as { lcpDebug: { app: () => { busy: unknown } } }).lcpDebug.app().busy !==
      null,
  );
}

/** Wait until the engine has drawn a state and has no job running. */
async function idle(page: Page, timeout: number): Promise<void> {
  await expect
    .poll(
      async () => {
        const s = await latest(page);
        return !!s && s.busy === null && s.phase === 'idle' && !s.playing && !(await appBusy(page));
      },
      { timeout, interval: 200 },
    )
    .toBe(true);
}

/** Press L `count` times, each once the previous update has landed and the engine is idle. */
async function learn(page: Page, count: number, timeout: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await idle(page, timeout);
    const before = await statusNumber(page, 'status-updates');
    await page.keyboard.press('l');
    await waitForStatus(page, 'status-updates', (v) => v >= before + 1, timeout);
  }
  await idle(page, timeout);
}

/** Let every view finish drawing (throttled views redraw within a few hundred ms). */
async function settle(page: Page): Promise<void> {
  await page.waitForTimeout(900);
  await page.evaluate(
    () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
  );
}

interface Findings {
  scroll: { height: number; width: number; innerHeight: number; innerWidth: number };
  uncovered: string[];
  sizes: string[];
  overlaps: string[];
  outside: string[];
  small: string[];
  labels: number;
}

/** Everything measured in the page at its current size and mode. */
function measure(page: Page, lecture: boolean): Promise<Findings> {
  return page.evaluate((lecture) => {
    const findings: Findings = {
      scroll: {
        height: document.scrollingElement?.scrollHeight ?? 0,
        width: document.scrollingElement?.scrollWidth ?? 0,
        innerHeight,
        innerWidth,
      },
      uncovered: [],
      sizes: [],
      overlaps: [],
      outside: [],
      small: [],
      labels: 0,
    };
    // No empty region: every point of the grid's content box is in a view or in a gap.
    const grid = document.querySelector<HTMLElement>('.stage-grid');
    const panels = Array.from(document.querySelectorAll<HTMLElement>('.stage-grid > .panel-view'));
    if (grid) {
      const style = getComputedStyle(grid);
      const gap = parseFloat(style.columnGap) || 8;
      const r = grid.getBoundingClientRect();
      const box = {
        left: r.left + parseFloat(style.paddingLeft),
        right: r.right - parseFloat(style.paddingRight),
        top: r.top + parseFloat(style.paddingTop),
        bottom: r.bottom - parseFloat(style.paddingBottom),
      };
      const rects = panels.map((p) => p.getBoundingClientRect());
      for (let a = 0; a <= 24; a++)
        for (let b = 0; b <= 16; b++) {
          const x = box.left + ((box.right - box.left) * a) / 24;
          const y = box.top + ((box.bottom - box.top) * b) / 16;
          const near = rects.some(
            (q) =>
              x >= q.left - gap - 1 &&
              x <= q.right + gap + 1 &&
              y >= q.top - gap - 1 &&
              y <= q.bottom + gap + 1,
          );
          if (!near) findings.uncovered.push(`(${Math.round(x)}, ${Math.round(y)})`);
        }
    }
    for (const section of Array.from(
      document.querySelectorAll<HTMLElement>('[data-testid^="view-"]'),
    )) {
      const view = section.dataset.testid ?? '?';
      const sr = section.getBoundingClientRect();
      // Charts are drawn at their real size: the view's main SVG spans its drawing area.
      const svg = section.querySelector<SVGSVGElement>('svg');
      if (svg && view !== 'view-network') {
        const host = svg.parentElement?.getBoundingClientRect();
        const w = Number(svg.getAttribute('width'));
        const h = Number(svg.getAttribute('height'));
        // (The weights view keeps a band under its SVG for the x and t fields.)
        const tall =
          view === 'view-weights' ? h <= host!.height + 2 : Math.abs(h - host!.height) <= 2;
        if (host && (Math.abs(w - host.width) > 2 || !tall))
          findings.sizes.push(
            `${view}: svg ${w}×${h} px in ${Math.round(host.width)}×${Math.round(host.height)} px`,
          );
      }
      const texts = Array.from(
        section.querySelectorAll<SVGTextElement>('g.tick text, text.tick-label, text.marker-label'),
      ).filter((t) => {
        const b = t.getBoundingClientRect();
        return (t.textContent ?? '').trim() !== '' && b.width > 0 && b.height > 0;
      });
      findings.labels += texts.length;
      const boxes = texts.map((t) => ({ t, b: t.getBoundingClientRect() }));
      for (let i = 0; i < boxes.length; i++) {
        const { t, b } = boxes[i];
        if (
          b.left < sr.left - 1 ||
          b.right > sr.right + 1 ||
          b.top < sr.top - 1 ||
          b.bottom > sr.bottom + 1
        )
          findings.outside.push(`${view}: "${t.textContent}"`);
        if (lecture && t.closest('g.tick')) {
          const px = parseFloat(getComputedStyle(t).fontSize);
          if (px < 16) findings.small.push(`${view}: "${t.textContent}" ${px}px`);
        }
        for (let j = i + 1; j < boxes.length; j++) {
          const c = boxes[j].b;
          const w = Math.min(b.right, c.right) - Math.max(b.left, c.left);
          const h = Math.min(b.bottom, c.bottom) - Math.max(b.top, c.top);
          if (w > 0.5 && h > 0.5)
            findings.overlaps.push(`${view}: "${t.textContent}" × "${boxes[j].t.textContent}"`);
        }
      }
    }
    return findings;
  }, lecture);
}

async function checkAllCombinations(page: Page, chapter: string): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    for (const lecture of [false, true]) {
      if (lecture) await page.keyboard.press('f');
      await settle(page);
      const mode = lecture ? 'lecture' : 'normal';
      await page.screenshot({
        path: `${ARTIFACTS}/legibility-${chapter}-${size.width}x${size.height}-${mode}.png`,
      });
      // Views redraw after a resize within a few frames; a busy machine may take longer.
      let f = await measure(page, lecture);
      for (let wait = 0; f.sizes.length && wait < 40; wait++) {
        await page.waitForTimeout(250);
        f = await measure(page, lecture);
      }
      const where = `${chapter} ${size.width}×${size.height} ${mode}`;
      expect(f.scroll.height, `${where}: page scrolls`).toBeLessThanOrEqual(f.scroll.innerHeight);
      expect(f.scroll.width, `${where}: page scrolls`).toBeLessThanOrEqual(f.scroll.innerWidth);
      expect(f.uncovered, `${where}: empty stage`).toEqual([]);
      expect(f.sizes, `${where}: chart sizes`).toEqual([]);
      expect(f.labels, `${where}: tick labels found`).toBeGreaterThan(10);
      expect(f.overlaps, `${where}: overlapping tick labels`).toEqual([]);
      expect(f.outside, `${where}: tick labels outside their view`).toEqual([]);
      expect(f.small, `${where}: tick labels under 16 px`).toEqual([]);
      if (lecture) await page.keyboard.press('f');
    }
  }
}

describe('legibility', () => {
  it('the default chapter after Learn ×3 and a Train', async () => {
    const { page, problems } = await openPage(browser, inject('baseUrl'));
    // A failed check must not leave the engine running while the next test measures.
    onTestFinished(() => page.close());
    await page.getByTestId('status-backend').filter({ hasNotText: '…' }).waitFor();
    await idle(page, 120_000);
    await showAllViews(page);
    await page.keyboard.press('c');
    await learn(page, 3, 120_000);
    // A short Train: five updates, then Escape stops it (Figure 1 solves to tight tolerances).
    await page.keyboard.press('t');
    await waitForStatus(page, 'status-updates', (v) => v >= 8, 180_000);
    await page.keyboard.press('Escape');
    await learn(page, 1, 120_000);
    await checkAllCombinations(page, 'figure-1');
    expect(problems).toEqual([]);
  }, 400_000);

  it('an MNIST chapter after its scene 2 and a Learn', async () => {
    // Choosing a chapter soon after the start-up build is sometimes lost by the worker today
    // (the page shows "Building the network" for ever, with no progress; reported): wait a
    // while before choosing, and start afresh if the chapter does not arrive.
    let opened: Awaited<ReturnType<typeof openPage>> | null = null;
    for (let attempt = 1; attempt <= 3 && !opened; attempt++) {
      const tried = await openPage(browser, inject('baseUrl'));
      await idle(tried.page, 120_000);
      await tried.page.waitForTimeout(15_000);
      await tried.page.getByTestId('chapter-menu').selectOption('recurrent-digits');
      try {
        await expect.poll(async () => (await latest(tried.page))?.n, { timeout: 90_000 }).toBe(256);
        opened = tried;
      } catch {
        await tried.page.screenshot({
          path: `${ARTIFACTS}/legibility-mnist-not-loaded-${attempt}.png`,
        });
        await tried.page.close();
      }
    }
    if (!opened) throw new Error('the MNIST chapter never loaded (3 attempts)');
    const { page, problems } = opened;
    onTestFinished(() => page.close());
    await idle(page, 240_000);
    // Scene 2 (one Learn; learning curves, digits and weights: what lecture mode shows), then
    // every view for the normal-mode checks.
    await page.keyboard.press('PageDown');
    await sceneIdle(page, 240_000);
    await showAllViews(page);
    await page.keyboard.press('c');
    await learn(page, 1, 240_000);
    await checkAllCombinations(page, 'mnist-rnn');
    // The 256×256 W: hover reads a value out, a click opens the zoom with legible indices.
    await page.setViewportSize({ width: 1280, height: 720 });
    await settle(page);
    const hit = page.locator('[data-testid="view-weights"] g.panel[data-panel="W"] rect.hit');
    const box = await hit.boundingBox();
    if (!box) throw new Error('no W heatmap');
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
    await expect
      .poll(() => page.locator('[data-testid="view-weights"] text.readout').textContent())
      .toMatch(/^W\[\d+, \d+\] = /);
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.6);
    const zoom = page.locator('[data-testid="view-weights"] g.zoom');
    try {
      await expect.poll(() => zoom.getAttribute('display'), { timeout: 15_000 }).toBeNull();
    } catch (e) {
      await page.screenshot({ path: `${ARTIFACTS}/legibility-mnist-rnn-zoom-failed.png` });
      const at = await page.evaluate(
        ({ x, y }) => {
          const el = document.elementFromPoint(x, y);
          return el ? `${el.tagName}.${el.getAttribute('class')}` : 'none';
        },
        { x: box.x + box.width * 0.3, y: box.y + box.height * 0.6 },
      );
      throw new Error(`zoom did not open; element at the click: ${at}`, { cause: e });
    }
    await settle(page);
    await page.screenshot({ path: `${ARTIFACTS}/legibility-mnist-rnn-zoom.png` });
    const f = await measure(page, false);
    expect(f.overlaps, 'zoom: overlapping tick labels').toEqual([]);
    expect(
      await zoom.locator('g.axis-x g.tick').count(),
      'zoom: column indices shown',
    ).toBeGreaterThan(2);
    await page.keyboard.press('Escape');
    expect(problems).toEqual([]);
  }, 600_000);
});
