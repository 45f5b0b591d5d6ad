/**
 * The app under load, for `npm run bench`: every chapter trains for a while in the real page
 * (1280×720, headless Chromium) while the page counts main-thread long tasks (> 50 ms) and
 * animation frames; beside it, the same browser's ceiling — a blank page repainting one
 * full-screen canvas every frame — measured before and after. Also: updates per second, and how
 * long Stop takes to end the training (from the command to the engine reporting itself idle).
 */
import type { Browser, Page } from 'playwright-core';

export interface ChapterLoad {
  chapter: string;
  seconds: number;
  longTasks: number;
  longestTaskMs: number;
  fps: number;
  updates: number;
  msPerUpdate: number;
  stopMs: number;
  backend: string;
}

const COUNTERS = `
  window.benchLongTasks = 0;
  window.benchLongest = 0;
  window.benchFrames = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.benchLongTasks++;
      window.benchLongest = Math.max(window.benchLongest, e.duration);
    }
  }).observe({ type: 'longtask' });
  (function tick() { window.benchFrames++; requestAnimationFrame(tick); })();
`;

interface Counters {
  longTasks: number;
  longest: number;
  frames: number;
  t: number;
}

function readCounters(page: Page): Promise<Counters> {
  return page.evaluate(() => {
    const w = window as unknown as {
      benchLongTasks: number;
      benchLongest: number;
      benchFrames: number;
    };
    return {
      longTasks: w.benchLongTasks,
      longest: w.benchLongest,
      frames: w.benchFrames,
      t: performance.now(),
    };
  });
}

/** Frames per second of a page that repaints a full-screen canvas every frame. */
export async function ceilingFps(browser: Browser, seconds: number): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.setContent(`<script>${COUNTERS}</script><canvas id="c" width="1280" height="720" style="position:fixed;inset:0"></canvas>
    <script>
      const c = document.getElementById('c').getContext('2d');
      let k = 0;
      (function paint() {
        k++;
        c.fillStyle = 'hsl(' + (k % 360) + ' 60% 80%)';
        c.fillRect(0, 0, 1280, 720);
        c.strokeStyle = '#333';
        c.beginPath();
        for (let x = 0; x < 1280; x += 4) c.lineTo(x, 360 + 200 * Math.sin((x + k * 8) / 60));
        c.stroke();
        requestAnimationFrame(paint);
      })();
    </script>`);
  await page.waitForTimeout(500);
  const a = await readCounters(page);
  await page.waitForTimeout(seconds * 1000);
  const b = await readCounters(page);
  await page.close();
  return Math.round(((b.frames - a.frames) / (b.t - a.t)) * 10_000) / 10;
}

type Debug = {
  lcpDebug: {
    latest: () => { updates: number; n: number; busy: { kind: string } | null } | null;
    app: () => { busy: { kind: string } | null };
  };
  lcp: { send(c: unknown): void };
};

/** Updates a slow chapter is watched for after the frame window (at most SLOW_UPDATE_WAIT_MS). */
const MIN_TIMED_UPDATES = 3;
const SLOW_UPDATE_WAIT_MS = 120_000;

/** ms per update between the first and the last change of the counter (NaN with fewer than 2). */
function perUpdate(seen: { t: number; updates: number }[]): number {
  if (seen.length < 2) return NaN;
  const a = seen[0];
  const b = seen[seen.length - 1];
  return Math.round((b.t - a.t) / (b.updates - a.updates));
}

/** Train `chapter` for `seconds` in the app and measure the page meanwhile. */
export async function chapterUnderLoad(
  browser: Browser,
  base: string,
  chapter: string,
  seconds: number,
): Promise<ChapterLoad> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on('pageerror', (e) => console.error(`page error (${chapter}): ${e.message}`));
  await page.addInitScript(COUNTERS);
  await page.goto(base);
  await page.getByTestId('status-backend').filter({ hasNotText: '…' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('chapter-menu').selectOption(chapter);
  // The chapter's network is built and idle (its first free equilibrium found).
  await page.waitForFunction(
    () => {
      const w = window as unknown as Debug;
      const s = w.lcpDebug.latest();
      return s !== null && s.updates === 0 && s.busy === null;
    },
    undefined,
    { timeout: 120_000 },
  );
  await page.waitForTimeout(1000);
  await page.evaluate(() => ((window as unknown as { benchLongest: number }).benchLongest = 0));
  const start = await readCounters(page);
  await page.evaluate(() => (window as unknown as Debug).lcp.send({ type: 'train', updates: 1e6 }));
  // Watch the update counter: the cost per update is timed between the first and the last
  // update seen (the first includes the start of the job), and a slow chapter is watched on past
  // the frame window until it has made a few updates.
  const readUpdates = () =>
    page.evaluate(() => (window as unknown as Debug).lcpDebug.latest()?.updates ?? 0);
  const seen: { t: number; updates: number }[] = [];
  const watch = async (until: number, enough: number) => {
    while (Date.now() < until) {
      const u = await readUpdates();
      if (u !== (seen.at(-1)?.updates ?? 0)) seen.push({ t: Date.now(), updates: u });
      if (u >= enough) return;
      await page.waitForTimeout(100);
    }
  };
  const t0 = Date.now();
  await watch(t0 + seconds * 1000, Infinity);
  const end = await readCounters(page);
  await watch(Date.now() + SLOW_UPDATE_WAIT_MS, MIN_TIMED_UPDATES);
  const updates = await readUpdates();
  // Stop: from the command to the engine saying it is idle.
  const stopMs = await page.evaluate(async () => {
    const w = window as unknown as Debug;
    const t0 = performance.now();
    w.lcp.send({ type: 'stop' });
    while (w.lcpDebug.app().busy?.kind === 'train') await new Promise((r) => setTimeout(r, 5));
    return performance.now() - t0;
  });
  const backend = (await page.getByTestId('status-backend').textContent()) ?? '';
  await page.close();
  const elapsed = (end.t - start.t) / 1000;
  return {
    chapter,
    seconds: Math.round(elapsed * 10) / 10,
    longTasks: end.longTasks - start.longTasks,
    longestTaskMs: Math.round(end.longest),
    fps: Math.round(((end.frames - start.frames) / elapsed) * 10) / 10,
    updates,
    msPerUpdate: perUpdate(seen),
    stopMs: Math.round(stopMs),
    backend,
  };
}
