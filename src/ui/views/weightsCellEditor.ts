/**
 * The weights view's cell editor: a numeric input over a weight; Enter (or leaving it) sends an
 * `edit` command with the new value, Escape cancels.
 */
import type { ParamKey } from '../../worker/protocol';
import { htmlChild } from './vectorEditors';
import { uiOf } from './weightsState';

/** Open the numeric editor over cell (row, col) of `name`; Enter (or leaving it) sends the edit. */
export function openCellEditor(
  host: HTMLElement,
  cell: { name: ParamKey; row: number; col: number; value: number },
  at: { left: number; top: number; width: number; height: number },
): HTMLInputElement {
  const ui = uiOf(host);
  const input = htmlChild<HTMLInputElement>(host, 'input', 'cell-editor');
  input.type = 'number';
  input.step = 'any';
  input.setAttribute('aria-label', `${cell.name}[${cell.row}, ${cell.col}]`);
  const w = Math.max(72, at.width);
  const h = Math.max(22, at.height);
  Object.assign(input.style, {
    position: 'absolute',
    left: `${Math.max(0, at.left + at.width / 2 - w / 2)}px`,
    top: `${Math.max(0, at.top + at.height / 2 - h / 2)}px`,
    width: `${w}px`,
    height: `${h}px`,
    display: 'block',
    zIndex: '2',
    font: 'inherit',
    fontSize: '12px',
    boxSizing: 'border-box',
  });
  const original = Number(cell.value.toPrecision(6)).toString();
  input.value = original;
  if (ui) ui.editing = { name: cell.name, row: cell.row, col: cell.col, original };
  if (!input.dataset.bound) {
    input.dataset.bound = '1';
    const close = (commit: boolean) => {
      const state = uiOf(host);
      const edit = state?.editing;
      if (!state || !edit) return;
      state.editing = null;
      input.style.display = 'none';
      const value = Number(input.value);
      if (
        commit &&
        input.value.trim() !== '' &&
        Number.isFinite(value) &&
        input.value !== edit.original
      )
        state.send({
          type: 'edit',
          target: 'param',
          name: edit.name,
          row: edit.row,
          col: edit.col,
          value,
        });
      const panel = host.querySelector<SVGGElement>(`g.panel[data-panel="${edit.name}"]`);
      panel?.focus();
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        close(true);
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        close(false);
      }
    });
    input.addEventListener('blur', () => close(true));
  }
  input.focus();
  input.select?.();
  return input;
}
