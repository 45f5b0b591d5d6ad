import { CHAPTERS } from '../../chapters';
import { openChapter } from '../../state/scenes';
import { useApp } from '../../state/store';
import { focusStage } from '../configEdits';

/** The chapters in order, numbered; choosing one builds its network afresh at its first scene. */
export function ChapterMenu() {
  const chapter = useApp((s) => s.chapter);
  return (
    <label className="preset chapter-menu">
      Chapter{' '}
      <select
        data-testid="chapter-menu"
        value={chapter ?? ''}
        onChange={(e) => {
          void openChapter(e.target.value);
          // The keyboard belongs to the stage again: PageDown advances, Space plays.
          focusStage();
        }}
      >
        {chapter === null && <option value="">(custom)</option>}
        {CHAPTERS.map((c, i) => (
          <option key={c.id} value={c.id}>
            {i + 1}. {c.title}
          </option>
        ))}
      </select>
    </label>
  );
}
