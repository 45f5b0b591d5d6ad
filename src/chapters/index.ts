/**
 * The chapters, in order: the paper's argument as live scenes. Each is one JSON file in this
 * folder (a lecturer can read and change it); all are checked by schema.ts when the app loads.
 */
import ch01 from './01-free-dynamics.json';
import ch02 from './02-output-control.json';
import ch03 from './03-least-control.json';
import ch04 from './04-learning-removes-control.json';
import ch05 from './05-local-rule.json';
import ch06 from './06-alpha-limit.json';
import ch07 from './07-inversion-vs-feedback.json';
import ch08 from './08-learning-q.json';
import ch09 from './09-kolen-pollack.json';
import ch10 from './10-deep-feed-forward.json';
import ch11 from './11-recurrent-digits.json';
import ch12 from './12-one-phase.json';
import ch13 from './13-digits-rbp.json';
import ch14 from './14-digits-feed-forward-feedback.json';
import ch15 from './15-digits-feed-forward-kp.json';
import ch16 from './16-meta-learning.json';
import { parseChapter, type Chapter } from './schema';

/** The files as imported, with the names their errors mention. */
export const CHAPTER_FILES: [string, unknown][] = [
  ['01-free-dynamics.json', ch01],
  ['02-output-control.json', ch02],
  ['03-least-control.json', ch03],
  ['04-learning-removes-control.json', ch04],
  ['05-local-rule.json', ch05],
  ['06-alpha-limit.json', ch06],
  ['07-inversion-vs-feedback.json', ch07],
  ['08-learning-q.json', ch08],
  ['09-kolen-pollack.json', ch09],
  ['10-deep-feed-forward.json', ch10],
  ['11-recurrent-digits.json', ch11],
  ['12-one-phase.json', ch12],
  ['13-digits-rbp.json', ch13],
  ['14-digits-feed-forward-feedback.json', ch14],
  ['15-digits-feed-forward-kp.json', ch15],
  ['16-meta-learning.json', ch16],
];

export const CHAPTERS: Chapter[] = CHAPTER_FILES.map(([name, raw]) => parseChapter(raw, name));

export function chapterById(id: string | null): Chapter | null {
  return CHAPTERS.find((c) => c.id === id) ?? null;
}

export type { Chapter, Scene, SceneAction } from './schema';
