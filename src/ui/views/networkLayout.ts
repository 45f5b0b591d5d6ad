/**
 * The network diagram's geometry: where every unit goes. Layered nets are drawn in columns
 * x | h₁ … h_L | y, recurrent ones as x | circle | y; an image input is laid out as its grid.
 */
import { fontSize, type Size } from './common';

export type UnitKind = 'x' | 'h' | 'y';

export interface UnitNode {
  kind: UnitKind;
  /** Index within its population (x_j, h_i or y_i). */
  index: number;
  /** Hidden block (layered nets), 0 otherwise. */
  block: number;
  x: number;
  y: number;
  r: number;
}

export interface NetworkLayout {
  nodes: UnitNode[];
  columns: { label: string; x: number }[];
  layered: boolean;
  /** Centre of the hidden circle (recurrent layout). */
  center: { x: number; y: number } | null;
}

/** Subscript digits, for unit and block names (h₁, ψ₁₂). */
const SUB = '₀₁₂₃₄₅₆₇₈₉';
export const sub = (i: number) =>
  String(i)
    .split('')
    .map((c) => SUB[Number(c)])
    .join('');

const MIN_SPACING = 3;

/** Units of one column block: sub-columns when they do not fit, an image grid for images. */
function placeBlock(
  count: number,
  cx: number,
  bandW: number,
  top: number,
  bottom: number,
  image: { rows: number; cols: number } | null,
): { x: number; y: number; r: number }[] {
  const H = Math.max(1, bottom - top);
  let rows: number;
  let cols: number;
  let dx: number;
  let dy: number;
  const asImage = image !== null && image.rows * image.cols === count;
  if (asImage) {
    rows = image.rows;
    cols = image.cols;
    dx = dy = Math.min(bandW / cols, H / rows);
  } else {
    const cap = Math.max(1, Math.floor(H / MIN_SPACING));
    cols = Math.ceil(count / cap);
    rows = Math.ceil(count / cols);
    dy = H / rows;
    dx = cols > 1 ? bandW / cols : 0;
  }
  const r = Math.max(0.8, Math.min(12, dy * 0.36, cols > 1 ? dx * 0.36 : Infinity));
  const x0 = cx - (dx * (cols - 1)) / 2;
  const y0 = top + (H - dy * rows) / 2 + dy / 2;
  const out: { x: number; y: number; r: number }[] = [];
  for (let i = 0; i < count; i++) {
    const row = asImage ? Math.floor(i / cols) : i % rows;
    const col = asImage ? i % cols : Math.floor(i / rows);
    out.push({ x: x0 + col * dx, y: y0 + row * dy, r });
  }
  return out;
}

/** Where every unit goes: columns x | h₁ … h_L | y (layered) or x | circle | y (recurrent). */
export function networkLayout(
  dims: { m: number; n: number; k: number },
  layers: number[],
  layered: boolean,
  size: Size,
  image: { rows: number; cols: number } | null = null,
  /** Lines of text under the diagram: the caption, or a picked synapse's rule (two). */
  footerLines = 1,
): NetworkLayout {
  const { m, n, k } = dims;
  const fs = fontSize();
  const top = Math.round(fs * 1.8) + 2;
  const bottom = size.height - Math.round(fs * (0.4 + 1.2 * footerLines)) - 2;
  const gutter = Math.max(0, Math.min(54, size.width * 0.14));
  const nodes: UnitNode[] = [];
  const columns: { label: string; x: number }[] = [];
  const push = (
    kind: UnitKind,
    block: number,
    offset: number,
    pts: { x: number; y: number; r: number }[],
  ) => pts.forEach((p, i) => nodes.push({ kind, index: offset + i, block, ...p }));

  const blocks = layered && layers.reduce((a, b) => a + b, 0) === n && layers.length ? layers : [n];
  if (layered) {
    const ncol = blocks.length + 2;
    const colW = (size.width - 8 - gutter - 4) / ncol;
    const cx = (c: number) => 4 + colW * (c + 0.5);
    const band = colW * 0.7;
    push('x', 0, 0, placeBlock(m, cx(0), band, top, bottom, image));
    columns.push({ label: 'x', x: cx(0) });
    let offset = 0;
    blocks.forEach((size, l) => {
      push('h', l, offset, placeBlock(size, cx(l + 1), band, top, bottom, null));
      columns.push({ label: blocks.length > 1 ? `h${sub(l + 1)}` : 'h', x: cx(l + 1) });
      offset += size;
    });
    push('y', 0, 0, placeBlock(k, cx(ncol - 1), band, top, bottom, null));
    columns.push({ label: 'y', x: cx(ncol - 1) });
    return { nodes, columns, layered: true, center: null };
  }
  const colW = Math.max(20, Math.min(70, size.width * 0.14));
  const inX = 4 + colW / 2;
  const outX = size.width - gutter - colW / 2;
  push('x', 0, 0, placeBlock(m, inX, colW * 0.7, top, bottom, image));
  columns.push({ label: 'x', x: inX });
  const center = { x: (inX + outX) / 2, y: (top + bottom) / 2 };
  const R = Math.max(4, Math.min((outX - inX) / 2 - colW / 2 - 4, (bottom - top) / 2 - 6));
  const r = n === 1 ? 12 : Math.max(0.8, Math.min(12, ((Math.PI * R) / n) * 0.6));
  for (let i = 0; i < n; i++) {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
    const rad = n === 1 ? 0 : R;
    nodes.push({
      kind: 'h',
      index: i,
      block: 0,
      x: center.x + rad * Math.cos(a),
      y: center.y + rad * Math.sin(a),
      r,
    });
  }
  columns.push({ label: `h (n = ${n})`, x: center.x });
  push('y', 0, 0, placeBlock(k, outX, colW * 0.7, top, bottom, null));
  columns.push({ label: 'y', x: outX });
  return { nodes, columns, layered: false, center };
}
