/**
 * A legend row above a view's panels: one swatch (a stroke with its dash, or a dot) and a label
 * per series, wrapped onto further lines when the width runs out. Used by compare mode and the
 * meta-learning curves.
 */
import { strokeScale } from '../theme';
import { INK, label, layer, setAttrs, textWidth } from './common';

export interface LegendItem {
  key: string;
  text: string;
  colour: string;
  dash: string;
  /** A dot instead of a stroke (series drawn as points). */
  dot?: boolean;
  /** A tooltip (why a series stopped, …). */
  title?: string;
}

/** Draw `items` into `g`'s legend layer (redrawn whole); returns the last line's baseline y. */
export function drawLegendRow(
  g: SVGGElement,
  items: LegendItem[],
  width: number,
  fs: number,
): number {
  const lg = layer(g, 'g', 'legend');
  while (lg.firstChild) lg.removeChild(lg.firstChild);
  const sw = strokeScale();
  let x = 4;
  let y = fs + 2;
  for (const it of items) {
    const w = 22 + textWidth(it.text.length, fs) * 0.85 + fs;
    if (x > 4 && x + w > width) {
      x = 4;
      y += fs * 1.5;
    }
    const item = layer(lg, 'g', `legend-item legend-${it.key}`);
    if (it.dot) {
      const c = layer(item, 'circle', 'swatch');
      setAttrs(c, { cx: x + 9, cy: y - fs * 0.35, r: 3 * sw, fill: it.colour });
    } else {
      const s = layer(item, 'line', 'swatch');
      setAttrs(s, {
        x1: x,
        x2: x + 18,
        y1: y - fs * 0.35,
        y2: y - fs * 0.35,
        stroke: it.colour,
        'stroke-width': 2.5 * sw,
        'stroke-dasharray': it.dash || null,
      });
    }
    label(item, 'legend-label', it.text, x + 22, y).setAttribute('fill', INK);
    if (it.title) layer(item, 'title', 'why').textContent = it.title;
    x += w;
  }
  return y;
}
