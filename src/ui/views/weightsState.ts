/**
 * The weights view's UI state, kept per host between drawings: the keyboard cursor of each panel,
 * the cell being edited, the zoom window on a large matrix, and how to draw again.
 */
import type { Command, ParamKey, WeightsSnapshot } from '../../worker/protocol';
import type { Panel, PanelBox } from './weightsModel';

export interface WeightsUi {
  cursor: Map<string, [number, number]>;
  editing: { name: ParamKey; row: number; col: number; original: string } | null;
  send: (cmd: Command) => void;
  boxes: PanelBox[];
  offsetY: number;
  /** What the panels were last drawn from (they are skipped when unchanged). */
  drawn: { weights: WeightsSnapshot | null; key: string } | null;
  /** The zoom on a large matrix: its panel and the window shown (top-left cell, side). */
  zoom: Zoom | null;
  /** Draw again with the last arguments (zoom interactions). */
  redraw: () => void;
}

export interface Zoom {
  key: string;
  row: number;
  col: number;
  size: number;
  /** The cell under the keyboard cursor. */
  cursor: [number, number];
}

/** Read a panel's value (row, col) out on the view's read-out line. */
export type ShowValue = (p: Panel, row: number, col: number) => void;

const uiState = new WeakMap<HTMLElement, WeightsUi>();

/** The UI state of `host`, if it was drawn. */
export const uiOf = (host: HTMLElement): WeightsUi | undefined => uiState.get(host);

/** The UI state of `host`, created on its first drawing; `send` takes the edits from now on. */
export function ensureUi(host: HTMLElement, send: (cmd: Command) => void): WeightsUi {
  let ui = uiState.get(host);
  if (!ui) {
    ui = {
      cursor: new Map(),
      editing: null,
      send,
      boxes: [],
      offsetY: 0,
      drawn: null,
      zoom: null,
      redraw: () => undefined,
    };
    uiState.set(host, ui);
  }
  ui.send = send;
  return ui;
}
