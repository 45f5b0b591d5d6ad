/**
 * The views' frame queue (src/ui/views/frameBudget.ts): draws run in order until the frame's
 * budget is spent, the rest in the next frame, and one frame is asked for at a time — also when a
 * draw asks for another draw (chunked canvas edges do).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

let frames: (() => void)[] = [];
let clock = 0;

beforeEach(() => {
  frames = [];
  clock = 0;
  vi.resetModules();
  vi.stubGlobal('requestAnimationFrame', (cb: () => void) => frames.push(cb));
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** Run the frames asked for so far (one animation frame). */
function frame(): void {
  const now = frames;
  frames = [];
  for (const cb of now) cb();
}

describe('frame budget', () => {
  it('runs draws in order within the budget and the rest in the next frame', async () => {
    const { requestDraw, cancelDraw } = await import('../../src/ui/views/frameBudget');
    const ran: number[] = [];
    const cost = (k: number, ms: number) => () => {
      ran.push(k);
      clock += ms;
    };
    requestDraw(cost(1, 5));
    requestDraw(cost(2, 5));
    requestDraw(cost(3, 5));
    const dropped = requestDraw(cost(4, 5));
    cancelDraw(dropped);
    expect(frames).toHaveLength(1);
    frame();
    // 5 ms, then 10 ms > 8: the frame ends after the draw that spent the budget.
    expect(ran).toEqual([1, 2]);
    expect(frames).toHaveLength(1);
    frame();
    expect(ran).toEqual([1, 2, 3]);
    expect(frames).toHaveLength(0);
  });

  it('asks for one frame when a draw asks for another draw', async () => {
    const { requestDraw } = await import('../../src/ui/views/frameBudget');
    let steps = 0;
    const step = () => {
      steps++;
      clock += 6;
      if (steps < 10) requestDraw(step);
    };
    requestDraw(step);
    requestDraw(() => (clock += 6));
    for (let f = 0; f < 20 && frames.length; f++) {
      expect(frames).toHaveLength(1);
      const before = clock;
      frame();
      // At most the budget plus one draw per frame.
      expect(clock - before).toBeLessThanOrEqual(8 + 6);
    }
    expect(steps).toBe(10);
  });
});
