/**
 * Every view draws in an animation frame. When a snapshot changes them all at once, their draws
 * together can outlast 50 ms — a long task that stalls input and frames. So draws wait in one
 * queue and each frame runs them in order until a budget is spent; the rest go to the next frame.
 */
const FRAME_BUDGET_MS = 8;

const queue = new Map<number, () => void>();
let nextId = 1;
let scheduled = false;

const nextFrame = (cb: () => void): void => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(cb);
  else setTimeout(cb, 16);
};

function runQueue(): void {
  scheduled = false;
  const start = performance.now();
  for (const [id, draw] of queue) {
    queue.delete(id);
    draw();
    if (performance.now() - start > FRAME_BUDGET_MS) break;
  }
  // A draw above may have asked for a frame already (requestDraw): one frame, not two — each
  // extra one ran the queue again in the same frame, past the budget.
  if (queue.size > 0 && !scheduled) {
    scheduled = true;
    nextFrame(runQueue);
  }
}

/** Run `draw` in an upcoming frame (first come, first drawn); returns an id for cancelDraw. */
export function requestDraw(draw: () => void): number {
  const id = nextId++;
  queue.set(id, draw);
  if (!scheduled) {
    scheduled = true;
    nextFrame(runQueue);
  }
  return id;
}

export function cancelDraw(id: number): void {
  queue.delete(id);
}
