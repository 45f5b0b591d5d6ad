/** Configuration edits from the page's controls: a field, a chapter, and the keyboard's return. */
import { parseConfig, type ConfigKey, type TrainConfig } from '../engine/config';
import { setConfigFields } from '../state/configChanges';
import { PRESETS } from '../engine/presets';
import { engine } from '../state/engine';
import { clearSimView } from '../state/simView';
import { useApp } from '../state/store';

/** Apply one field's new value (several at once: setConfigFields, one rebuild at most). */
export function setConfigField<K extends ConfigKey>(key: K, value: TrainConfig[K]): void {
  setConfigFields({ [key]: value } as Partial<TrainConfig>);
}

export { setConfigFields };

/** Is `name` a chapter (a preset of the engine's own, not an inherited property)? */
export function isChapter(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(PRESETS, name);
}

/** Load a chapter: its configuration (keeping this browser's backend choice) from scratch. */
export function loadChapter(name: string, overrides: Partial<TrainConfig> = {}): void {
  if (!isChapter(name)) return;
  // The backend is a property of this browser, not of the chapter: keep the current choice.
  const config = parseConfig({
    ...PRESETS[name].config,
    backend: useApp.getState().config.backend,
    ...overrides,
  });
  useApp.setState({
    config,
    chapterConfig: config,
    preset: name,
    playing: false,
    control: false,
    busy: null,
  });
  clearSimView(true);
  engine().send({ type: 'configure', config });
}

/** Hand the keyboard back to the stage (after choosing a chapter or committing a field). */
export function focusStage(): void {
  const stage = document.querySelector<HTMLElement>('main.stage');
  if (!stage) return;
  // Focusable by script only (not a tab stop): it just takes the keyboard away from the field.
  if (stage.tabIndex < 0 && !stage.hasAttribute('tabindex')) stage.tabIndex = -1;
  stage.focus({ preventScroll: true });
}
