/**
 * Shared helpers of the D3 views: the live-draw hook (snapshot bus + resize + lecture mode, no
 * React state), child-element reuse, axes and number formatting.
 */
import { cancelDraw, requestDraw } from './frameBudget';
import { useEffect, useRef, type CSSProperties, type RefObject } from 'react';
import { axisBottom, axisLeft, select, type ScaleContinuousNumeric } from 'd3';
import { simView, type SimView } from '../../state/simView';
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
): void {
  const drawRef = useRef(draw);
  const scheduleRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const rect = el.getBoundingClientRect();
    let size: Size = { width: Math.floor(rect.width), height: Math.floor(rect.height) };
    let frame: number | null = null;
    const run = () => {
      frame = null;
      if (size.width > 0 && size.height > 0) drawRef.current(el, simView.getState(), size);
    };
    const schedule = () => {
      if (frame === null) frame = requestFrame(run);
    };
    scheduleRef.current = schedule;
    const onSnapshot = throttle(schedule, snapshotIntervalMs);
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
    schedule();
    return () => {
      unsubscribe();
      onSnapshot.cancel();
      resize?.disconnect();
      lecture?.disconnect();
      if (frame !== null) cancelFrame(frame);
      scheduleRef.current = () => undefined;
    };
  }, [ref, snapshotIntervalMs]);

  useEffect(() => {
    drawRef.current = draw;
    scheduleRef.current();
  }, [draw]);
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

/** A left axis with `ticks` ticks, compact labels, no outer tick, themed type. */
export function drawLeftAxis(g: SVGGElement, scale: Linear, ticks = 3, values?: number[]): void {
  const axis = axisLeft(scale)
    .ticks(ticks)
    .tickSizeOuter(0)
    .tickSize(3)
    .tickFormat((d) => fmt(Number(d), 2));
  if (values) axis.tickValues(values);
  select(g).call(axis).attr('font-size', fontSize()).attr('font-family', null);
  select(g).select('.domain').attr('stroke-opacity', 0.5);
}

export function drawBottomAxis(g: SVGGElement, scale: Linear, ticks = 5): void {
  const axis = axisBottom(scale)
    .ticks(ticks)
    .tickSizeOuter(0)
    .tickSize(3)
    .tickFormat((d) => fmt(Number(d), 3));
  select(g).call(axis).attr('font-size', fontSize()).attr('font-family', null);
  select(g).select('.domain').attr('stroke-opacity', 0.5);
}

/**
 * Axes and axis labels of a square plot whose top-left corner is (left, top): a bottom and a
 * left axis without outer ticks, the x label under the bottom-right corner, the y label at the
 * top-left (baseline at `yLabelY`). Type follows the surrounding SVG's font.
 */
export function squareAxes(
  g: SVGGElement,
  x: Linear,
  y: Linear,
  o: {
    left: number;
    top: number;
    side: number;
    ticks: number;
    xLabel: string;
    yLabel: string;
    yLabelY: number;
  },
): void {
  select(layer(g, 'g', 'axis-x'))
    .attr('transform', `translate(0,${o.top + o.side})`)
    .call(axisBottom(x).ticks(o.ticks).tickSizeOuter(0))
    .attr('font-size', null)
    .attr('font-family', null);
  select(layer(g, 'g', 'axis-y'))
    .attr('transform', `translate(${o.left},0)`)
    .call(axisLeft(y).ticks(o.ticks).tickSizeOuter(0))
    .attr('font-size', null)
    .attr('font-family', null);
  select(layer(g, 'text', 'label-x'))
    .attr('x', o.left + o.side)
    .attr('y', o.top + o.side + 26)
    .attr('text-anchor', 'end')
    .attr('fill', 'currentColor')
    .text(o.xLabel);
  select(layer(g, 'text', 'label-y'))
    .attr('x', 4)
    .attr('y', o.yLabelY)
    .attr('fill', 'currentColor')
    .text(o.yLabel);
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
