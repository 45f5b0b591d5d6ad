/**
 * Shared helpers of the D3 views: the live-draw hook (snapshot bus + resize + lecture mode, no
 * React state), child-element reuse, axes and number formatting.
 */
import { cancelDraw, requestDraw } from './frameBudget';
import { useEffect, useRef, type CSSProperties, type RefObject } from 'react';
import { axisBottom, axisLeft, axisRight, select, type ScaleContinuousNumeric } from 'd3';
import { simView, type SimView } from '../../state/simView';
import type { Matrix, WeightsSnapshot } from '../../worker/protocol';
import { CATEGORICAL, OKABE_ITO, strokeScale } from '../theme';

export interface Size {
  width: number;
  height: number;
}

export const SVG_NS = 'http://www.w3.org/2000/svg';

/** The section fills its grid cell; the drawing host fills the section (absolutely, so that its
 *  size never depends on what is drawn in it). */
export const sectionStyle: CSSProperties = {
  position: 'relative',
  width: '100%',
  minHeight: 140,
  overflow: 'hidden',
};
export const hostStyle: CSSProperties = { position: 'absolute', inset: 0 };

const requestFrame = requestDraw;
const cancelFrame = cancelDraw;

/**
 * Draw `ref`'s element from the snapshot bus outside React's render cycle: at most once per
 * animation frame after a snapshot, after a resize (ResizeObserver) and when lecture mode toggles
 * the root's class. A new `draw` (new options) redraws too.
 */
export function useLiveDraw<E extends HTMLElement>(
  ref: RefObject<E | null>,
  draw: (el: E, view: SimView, size: Size) => void,
  /** Snapshots redraw at most this often (resizes and mode changes at once). */
  snapshotIntervalMs = 0,
  /**
   * What the drawing reads from the snapshot bus: a snapshot whose inputs are all the same
   * objects as at the last draw redraws nothing (a repaint of an unchanged SVG still costs its
   * raster). Omitted: every snapshot redraws. Give a stable function (a new one redraws).
   */
  inputs?: (view: SimView) => readonly unknown[],
): void {
  const drawRef = useRef(draw);
  const scheduleRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const rect = el.getBoundingClientRect();
    let size: Size = { width: Math.floor(rect.width), height: Math.floor(rect.height) };
    let frame: number | null = null;
    let drawn: readonly unknown[] | null = null;
    // Anything but a snapshot (a resize, lecture mode, new options) redraws whatever the inputs.
    let forced = true;
    const measure = () => {
      const r = el.getBoundingClientRect();
      return { width: Math.floor(r.width), height: Math.floor(r.height) };
    };
    const run = () => {
      frame = null;
      // Draw at the size the element has now: a resize notified while this draw waited in the
      // frame queue (or one that arrived between two notifications) is never drawn stale.
      const now = measure();
      if (now.width > 0 && now.height > 0) {
        if (now.width !== size.width || now.height !== size.height) forced = true;
        size = now;
      }
      if (size.width <= 0 || size.height <= 0) return;
      const view = simView.getState();
      const next = inputs?.(view) ?? null;
      if (!forced && next && drawn && sameInputs(next, drawn)) return;
      forced = false;
      drawn = next;
      drawRef.current(el, view, size);
    };
    const request = () => {
      if (frame === null) frame = requestFrame(run);
    };
    const schedule = () => {
      forced = true;
      request();
    };
    scheduleRef.current = schedule;
    const onSnapshot = throttle(request, snapshotIntervalMs);
    const unsubscribe = simView.subscribe(onSnapshot.call);
    const resize =
      typeof ResizeObserver === 'function'
        ? new ResizeObserver((entries) => {
            const r = entries[entries.length - 1].contentRect;
            const next = { width: Math.floor(r.width), height: Math.floor(r.height) };
            if (next.width === size.width && next.height === size.height) return;
            size = next;
            schedule();
          })
        : null;
    resize?.observe(el);
    const lecture = typeof MutationObserver === 'function' ? new MutationObserver(schedule) : null;
    lecture?.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    // The window's size too (the views' boxes follow it; a backstop for a missed notification).
    window.addEventListener('resize', schedule);
    schedule();
    return () => {
      unsubscribe();
      onSnapshot.cancel();
      window.removeEventListener('resize', schedule);
      resize?.disconnect();
      lecture?.disconnect();
      if (frame !== null) cancelFrame(frame);
      scheduleRef.current = () => undefined;
    };
  }, [ref, snapshotIntervalMs, inputs]);

  useEffect(() => {
    drawRef.current = draw;
    scheduleRef.current();
  }, [draw]);
}

function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The direct child of `parent` with this tag and these classes (space-separated), created
 *  (appended) when missing. */
export function layer<K extends keyof SVGElementTagNameMap>(
  parent: Element,
  tag: K,
  cls: string,
): SVGElementTagNameMap[K] {
  const tokens = cls.split(/\s+/).filter(Boolean);
  for (const c of Array.from(parent.children)) {
    if (c.localName === tag && tokens.every((t) => c.classList.contains(t)))
      return c as SVGElementTagNameMap[K];
  }
  const el = parent.ownerDocument.createElementNS(SVG_NS, tag);
  el.setAttribute('class', cls);
  parent.appendChild(el);
  return el;
}

/** The SVG child of a view's host element (created on first use). */
export function hostSvg(host: Element): SVGSVGElement {
  const existing = host.querySelector(':scope > svg');
  if (existing instanceof SVGSVGElement) return existing;
  const svg = host.ownerDocument.createElementNS(SVG_NS, 'svg');
  host.appendChild(svg);
  return svg;
}

/** Set an attribute only when its value changes (setting one invalidates style even if equal). */
export function setAttr(el: Element, name: string, value: string | null): void {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** setAttr for several attributes (numbers as strings; null removes). */
export function setAttrs(el: Element, attrs: Record<string, string | number | null>): void {
  for (const [name, value] of Object.entries(attrs))
    setAttr(el, name, value === null ? null : String(value));
}

/** Set inline styles that differ (a write of the same value still dirties the style). */
export function setStyle(el: HTMLElement | SVGElement, styles: Record<string, string>): void {
  const style = el.style as unknown as Record<string, string>;
  for (const [k, v] of Object.entries(styles)) if (style[k] !== v) style[k] = v;
}

/** Set an element's text only when it differs (a write replaces its text node). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * A software 2D context, or null (none, or jsdom): a GPU-backed one on a software GL (SwiftShader,
 * small machines) held the page's frames back for seconds after each redraw while training.
 */
export function softContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  try {
    return canvas.getContext('2d', { willReadFrequently: true });
  } catch {
    return null;
  }
}

/** The largest |a[i]| (0 for an empty array). */
export function absMax(a: ArrayLike<number>): number {
  let mx = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > mx) mx = v;
  }
  return mx;
}

/** Size an SVG to `size` (explicit attributes: jsdom has no layout). */
export function sizeSvg(svg: SVGSVGElement, { width, height }: Size): void {
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.style.display = 'block';
}

/** Neutral ink: the page's foreground colour (the app's --fg; white on black in lecture mode). */
export const INK = 'currentColor';

/** Categorical colour of series i; black becomes the foreground ink (visible on lecture black). */
export function categorical(i: number): string {
  const c = CATEGORICAL[i % CATEGORICAL.length];
  return c === OKABE_ITO.black ? INK : c;
}

/** Base type size (px) of view text: the app's --view-font, else 10 (14 in lecture mode). */
export function fontSize(): number {
  if (typeof document === 'undefined' || typeof getComputedStyle !== 'function') return 10;
  // Reading a computed style forces a style recalculation: do it only when the root's class
  // (lecture mode) changed, not on every draw.
  const cls = `${document.documentElement.className}|${document.styleSheets.length}`;
  if (fontCache.cls !== cls) {
    const px = parseFloat(
      getComputedStyle(document.documentElement).getPropertyValue('--view-font'),
    );
    fontCache.cls = cls;
    fontCache.px = Number.isFinite(px) && px > 0 ? px : strokeScale() > 1 ? 14 : 10;
  }
  return fontCache.px;
}
const fontCache: { cls: string | null; px: number } = { cls: null, px: 10 };

/** Compact number: 3 significant digits, exponent outside [1e-3, 1e4), a true minus sign. */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s =
    a >= 1e4 || a < 1e-3
      ? v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e')
      : String(Number(v.toPrecision(digits)));
  return s.replace(/-/g, '−');
}

/** [lo, hi] of the finite values, padded by `pad` of the span (a flat series gets ±10 % or ±1). */
export function paddedExtent(values: Iterable<number>, pad = 0.08): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [-1, 1];
  if (hi - lo <= 1e-12 * Math.max(1, Math.abs(lo))) {
    const p = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - p, hi + p];
  }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

type Linear = ScaleContinuousNumeric<number, number>;

/** Width of a label of `chars` characters at type size `fs` (px): digits and signs of the
 *  sans-serif faces here are at most ~0.64 em wide. */
export const textWidth = (chars: number, fs: number): number => chars * 0.64 * fs;

/** Labels for tick values: the fewest significant digits (1–4) that tell them all apart. */
export function tickLabels(values: number[]): string[] {
  for (let d = 1; d <= 4; d++) {
    const labels = values.map((v) => fmt(v, d));
    if (new Set(labels).size === labels.length) return labels;
  }
  return values.map((v) => fmt(v, 4));
}

export type Orient = 'left' | 'right' | 'bottom';

export interface TickOptions {
  /** Ticks wanted at most (fewer when their labels would touch). */
  max?: number;
  /** Candidate values (otherwise the scale's own ticks). */
  values?: number[];
  /** Pixel interval along the axis that every label must lie in (stacked panels keep their
   *  labels off their neighbours'); default the scale's range widened by half a label. */
  bounds?: [number, number];
  /** Room (px) for a label across the axis (left and right axes: beside it); wider label sets
   *  are refused in favour of fewer, shorter ticks. */
  room?: number;
}

/** Powers of ten in [lo, hi]. */
export function powersOfTen(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++)
    out.push(10 ** e);
  return out;
}

/** Is `scale` logarithmic (d3's log scales have a base)? */
const isLog = (scale: Linear): boolean => 'base' in scale;

/**
 * The ticks of `scale` whose labels fit along the axis at type size `fs` without touching (a
 * third of an em apart at least, along the axis): the scale's ticks for decreasing counts, then
 * every 2nd, 3rd, … of the fewest. Log scales start from the powers of ten (or, over less than
 * two decades, from d3's 1–9 × 10ᵏ).
 */
export function fittingTicks(
  scale: Linear,
  orient: Orient,
  fs: number,
  options: TickOptions = {},
): { values: number[]; labels: string[] } {
  const [r0, r1] = scale.range();
  const length = Math.abs(r1 - r0);
  const along = (label: string) => (orient === 'bottom' ? textWidth(label.length, fs) : fs);
  const gap = orient === 'bottom' ? 0.6 * fs : 0.3 * fs;
  const lo = Math.min(r0, r1);
  const hi = Math.max(r0, r1);
  const bounds = options.bounds ?? [lo - fs, hi + fs];
  const fits = (values: number[], labels: string[]): boolean => {
    if (options.room !== undefined && labels.some((l) => textWidth(l.length, fs) > options.room!))
      return false;
    let prev = -Infinity;
    let prevExt = 0;
    const order = values.map((v, q) => ({ p: scale(v), ext: along(labels[q]) }));
    order.sort((a, b) => a.p - b.p);
    for (const { p, ext } of order) {
      if (!Number.isFinite(p)) return false;
      if (p - ext / 2 < bounds[0] - 0.5 || p + ext / 2 > bounds[1] + 0.5) return false;
      if (p - prev < (ext + prevExt) / 2 + gap) return false;
      prev = p;
      prevExt = ext;
    }
    return true;
  };
  const inDomain = (values: number[]) => {
    const [d0, d1] = scale.domain();
    const [a, b] = [Math.min(d0, d1), Math.max(d0, d1)];
    const eps = 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-300);
    // Values whose label would leave the bounds are dropped up front (not the whole set).
    const within = (v: number) => {
      const p = scale(v);
      const ext = along(fmt(v, 3));
      return p - ext / 2 >= bounds[0] - 0.5 && p + ext / 2 <= bounds[1] + 0.5;
    };
    return values.filter((v) => Number.isFinite(v) && v >= a - eps && v <= b + eps && within(v));
  };
  const tryThinning = (values: number[]) => {
    for (let stride = 1; stride <= values.length; stride++) {
      // Keep the ticks at multiples of the stride, anchored so that a round value (0 or a power
      // of ten) stays when it is there.
      const anchor = Math.max(
        0,
        values.findIndex((v) => v === 0 || (isLog(scale) && Math.log10(v) % 1 === 0)),
      );
      const kept = values.filter((_, q) => (q - anchor) % stride === 0);
      const labels = tickLabels(kept);
      if (kept.length && fits(kept, labels)) return { values: kept, labels };
    }
    return null;
  };
  if (options.values) {
    const found = tryThinning(inDomain(options.values));
    if (found) return found;
  } else if (isLog(scale)) {
    const [d0, d1] = scale.domain();
    const powers = powersOfTen(Math.min(d0, d1), Math.max(d0, d1));
    const found = tryThinning(powers.length >= 2 ? powers : inDomain(scale.ticks(10)));
    if (found) return found;
  } else {
    const most = Math.max(1, options.max ?? Math.floor(length / (2 * fs)));
    for (let count = most; count >= 1; count--) {
      const values = inDomain(scale.ticks(count));
      const labels = tickLabels(values);
      if (values.length && fits(values, labels)) return { values, labels };
    }
    const found = tryThinning(inDomain(scale.ticks(1)));
    if (found) return found;
  }
  return { values: [], labels: [] };
}

const AXES = { left: axisLeft, right: axisRight, bottom: axisBottom } as const;

/**
 * Draw an axis of `scale` into `g` with the ticks that fit (fittingTicks), compact labels at
 * the view's type size and no outer tick.
 */
export function drawAxis(
  g: SVGGElement,
  scale: Linear,
  orient: Orient,
  options: TickOptions & { fs?: number } = {},
): void {
  const fs = options.fs ?? fontSize();
  const { values, labels } = fittingTicks(scale, orient, fs, options);
  const text = new Map(values.map((v, q) => [v, labels[q]]));
  const axis = AXES[orient](scale)
    .tickValues(values)
    .tickSizeOuter(0)
    .tickSize(3)
    .tickFormat((d) => text.get(Number(d)) ?? fmt(Number(d)));
  select(g).call(axis).attr('font-size', fs).attr('font-family', null);
  select(g).select('.domain').attr('stroke-opacity', 0.5);
  const sw = strokeScale();
  select(g).selectAll('.tick line').attr('stroke-width', sw);
}

/** A left axis whose labels fit (see drawAxis). */
export function drawLeftAxis(g: SVGGElement, scale: Linear, options: TickOptions = {}): void {
  drawAxis(g, scale, 'left', options);
}

export function drawBottomAxis(g: SVGGElement, scale: Linear, options: TickOptions = {}): void {
  drawAxis(g, scale, 'bottom', options);
}

/**
 * Axes and axis labels of a square plot whose top-left corner is (left, top): a bottom and a
 * left axis whose labels fit, the x label under the bottom-right corner, the y label at the
 * top-left (baseline at `yLabelY`), in the view's type size.
 */
export function squareAxes(
  g: SVGGElement,
  x: Linear,
  y: Linear,
  o: {
    left: number;
    top: number;
    side: number;
    xLabel: string;
    yLabel: string;
    yLabelY: number;
    fs?: number;
  },
): void {
  const fs = o.fs ?? fontSize();
  const ax = layer(g, 'g', 'axis-x');
  ax.setAttribute('transform', `translate(0,${o.top + o.side})`);
  drawAxis(ax, x, 'bottom', { fs });
  const ay = layer(g, 'g', 'axis-y');
  ay.setAttribute('transform', `translate(${o.left},0)`);
  // Left labels stay above the bottom edge: the corner belongs to the bottom axis's first label.
  drawAxis(ay, y, 'left', { fs, bounds: [o.top - fs, o.top + o.side - 1], room: o.left - 6 });
  select(layer(g, 'text', 'label-x'))
    .attr('x', o.left + o.side)
    .attr('y', o.top + o.side + 2.2 * fs + 4)
    .attr('text-anchor', 'end')
    .attr('fill', 'currentColor')
    .attr('font-size', fs)
    .text(o.xLabel);
  select(layer(g, 'text', 'label-y'))
    .attr('x', 4)
    .attr('y', o.yLabelY)
    .attr('fill', 'currentColor')
    .attr('font-size', fs)
    .text(o.yLabel);
}

/**
 * The names of the quantities every view shows, each defined once (tooltips quote these).
 * The error of one sample is L(y⁰), at the free equilibrium; at the controlled one the views
 * show the least control ½‖ψ*‖² and ½‖u*‖².
 */
export const VOCABULARY = {
  loss: {
    symbol: 'L(y⁰)',
    definition:
      'the loss at the free equilibrium y⁰ — ½‖y⁰ − t‖² for mse (summed over the outputs), the softmax cross-entropy of y⁰ with the class for classification.',
  },
  psi: {
    symbol: '½‖ψ*‖²',
    definition:
      '½‖ψ*‖²: half the squared norm of the least control ψ* on the hidden units at the controlled equilibrium.',
  },
  u: {
    symbol: '½‖u*‖²',
    definition:
      '½‖u*‖²: half the squared norm of the output control u* at the controlled equilibrium.',
  },
  cosine: {
    symbol: 'cos(Δθ, −∇L)',
    definition:
      'cos(Δθ, −∇L): cosine between the update Δθ (all parameters, before the optimiser) and the descent direction −∇θ L(y⁰) on the update’s batch. Greyed and “not meaningful” when the update is at the float32 noise of its solve (RMS of ψ* below 10⁻⁵): its direction is rounding error.',
  },
} as const;

/** ‖Δθ‖ / ‖θ‖ at or below which an update is float noise (a few float32 ulps of the weights:
 *  applying it changes nothing, and its direction is rounding error). */
export const UPDATE_NOISE = 1e-6;

/** ‖Δθ‖ and ‖θ‖ over the parameters of the weights snapshot's last update. */
export function updateNorms(w: WeightsSnapshot | null): { update: number; params: number } | null {
  const up = w?.lastUpdate;
  if (!w || !up) return null;
  let uu = 0;
  let pp = 0;
  for (const [name, m] of Object.entries(up) as [keyof typeof up, Matrix | undefined][]) {
    if (!m) continue;
    for (let q = 0; q < m.data.length; q++) uu += m.data[q] * m.data[q];
    const p = w.params[name];
    if (p) for (let q = 0; q < p.data.length; q++) pp += p.data[q] * p.data[q];
  }
  return { update: Math.sqrt(uu), params: Math.sqrt(pp) };
}

/** Is the weights snapshot's last update at float noise (so its cosine is not meaningful)? */
export function updateAtNoise(w: WeightsSnapshot | null): boolean {
  const n = updateNorms(w);
  return !!n && n.update <= UPDATE_NOISE * Math.max(n.params, 1e-30);
}

/**
 * Is the last cosine with −∇L not meaningful? The engine's flag on the newest learning point
 * (cosineReliable) when there is one, else the weights snapshot's last update.
 */
export function cosineAtNoise(view: SimView): boolean {
  const last = view.learning[view.learning.length - 1];
  if (last && last.cosineReliable !== undefined) return !last.cosineReliable;
  return updateAtNoise(view.weights);
}

/** Outline text in the page's background colour (readable over lines). */
export function halo(el: SVGElement): void {
  el.style.stroke = 'var(--bg, #fff)';
  el.style.strokeWidth = '3px';
  el.style.strokeLinejoin = 'round';
  el.style.paintOrder = 'stroke';
}

/** Text helper: set (or create) the `text.cls` child of `parent`, with a halo in the background
 *  colour so that it stays readable over lines. */
export function label(
  parent: Element,
  cls: string,
  text: string,
  x: number,
  y: number,
  attrs: Record<string, string | number> = {},
): SVGTextElement {
  const el = layer(parent, 'text', cls);
  el.textContent = text;
  el.setAttribute('x', String(x));
  el.setAttribute('y', String(y));
  el.setAttribute('font-size', String(fontSize()));
  halo(el);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Show `text` centred in an otherwise empty SVG (clears the drawing), or hide the message
 *  (empty `text`). Returns whether a message is shown. */
export function emptyMessage(svg: SVGSVGElement, text: string, { width, height }: Size): boolean {
  const el = layer(svg, 'text', 'empty');
  el.textContent = text;
  if (!text) return false;
  for (const g of Array.from(svg.querySelectorAll(':scope > g'))) g.remove();
  el.setAttribute('x', String(width / 2));
  el.setAttribute('y', String(height / 2));
  el.setAttribute('text-anchor', 'middle');
  el.setAttribute('font-size', String(fontSize()));
  el.setAttribute('fill', INK);
  el.setAttribute('fill-opacity', '0.7');
  return true;
}

/**
 * `fn` at most once per `intervalMs` (leading call at once, the last one deferred so the final
 * state is always drawn). Views whose redraw is dear use it so that training at hundreds of
 * snapshots per second leaves the main thread free.
 */
export function throttle(
  fn: () => void,
  intervalMs: number,
): { call: () => void; cancel: () => void } {
  if (intervalMs <= 0) return { call: fn, cancel: () => undefined };
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const fire = () => {
    timer = null;
    last = performance.now();
    fn();
  };
  return {
    call: () => {
      const wait = last + intervalMs - performance.now();
      if (wait <= 0) fire();
      else if (timer === null) timer = setTimeout(fire, wait);
    },
    cancel: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
