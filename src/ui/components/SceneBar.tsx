import { chapterById } from '../../chapters';
import { CHAPTERS } from '../../chapters';
import { useApp } from '../../state/store';
import { actionById } from '../actions';

/**
 * Above the stage: the scene's number, title and caption, previous/next, and a progress strip
 * (one segment per scene). The caption hides with H; the strip stays, for the lecturer.
 */
export function SceneBar() {
  const chapterId = useApp((s) => s.chapter);
  const index = useApp((s) => s.scene);
  const running = useApp((s) => s.sceneRunning);
  const captionHidden = useApp((s) => s.captionHidden);
  const chapter = chapterById(chapterId);
  if (!chapter) return null;
  const scene = chapter.scenes[index];
  const count = chapter.scenes.length;
  const number = CHAPTERS.indexOf(chapter) + 1;
  const lastOfAll = index === count - 1 && number === CHAPTERS.length;
  const prev = actionById('scenePrev');
  const next = actionById('sceneNext');
  return (
    <section className="scene-bar" aria-label="Scene" data-testid="scene-bar" aria-live="polite">
      <div className="scene-head">
        <button
          type="button"
          data-testid="scene-prev"
          disabled={index === 0}
          title={`${prev.description} (${prev.keyLabel})`}
          onClick={() => prev.perform()}
        >
          ‹ <span className="visually-hidden">Previous scene</span>
        </button>
        <span className="scene-number" data-testid="scene-number">
          {number}.{index + 1} <span className="scene-count">/ {count}</span>
        </span>
        <h2 className="scene-title" data-testid="scene-title">
          {scene.title}
        </h2>
        {running && (
          <span className="scene-running" data-testid="scene-running">
            running…
          </span>
        )}
        <button
          type="button"
          data-testid="scene-next"
          disabled={lastOfAll}
          title={`${next.description} (${next.keyLabel})`}
          onClick={() => next.perform()}
        >
          <span className="visually-hidden">Next scene</span> ›
        </button>
      </div>
      {!captionHidden && (
        <p className="scene-caption" data-testid="scene-caption">
          {scene.caption}
        </p>
      )}
      <ol className="scene-progress" data-testid="scene-progress" aria-label="Progress">
        {chapter.scenes.map((s, i) => (
          <li
            key={i}
            className={i === index ? 'current' : i < index ? 'done' : ''}
            aria-current={i === index ? 'step' : undefined}
            title={`${i + 1}. ${s.title}`}
          />
        ))}
      </ol>
    </section>
  );
}
