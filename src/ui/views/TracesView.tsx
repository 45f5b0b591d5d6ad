/**
 * Traces: φᵢ(t), ψᵢ(t), y(t) against a dashed y_target, and u(t), as stacked panels sharing the
 * time axis of the snapshot bus's sliding window, with vertical markers where control switches
 * and where an update is applied.
 */
import { useCallback, useRef, useState } from 'react';
import { scaleLinear, select } from 'd3';
import type { SimView, TracePoint } from '../../state/simView';
import type { MarkerKind } from '../../worker/protocol';
import { ROLE, strokeScale } from '../theme';
import {
  categorical,
  drawBottomAxis,
  drawLeftAxis,
  emptyMessage,
  fmt,
  fontSize,
  halo,
  hostStyle,
  hostSvg,
  INK,
  label,
  layer,
  paddedExtent,
  sectionStyle,
  setAttr,
  sizeSvg,
  textWidth,
  useLiveDraw,
  type Size,
} from './common';

export interface TracesOptions extends Size {
  /** Hidden units drawn (the first ones; at most the bus's TRACE_UNITS). Default 4. */
  units?: number;
}

/** Outputs drawn at most (y, y_target and u). */
export const MAX_TRACE_OUTPUTS = 10;
export const UNIT_CHOICES = [1, 2, 4, 8, 16] as const;

type Field = 'phi' | 'psi' | 'y' | 'target' | 'u';

interface Series {
  key: string;
  color: string;
  dash: string | null;
  name: string;
  field: Field;
  i: number;
}

interface Panel {
  key: 'phi' | 'psi' | 'y' | 'u';
  label: string;
  series: Series[];
}

const MARKER_STYLE: Record<
  MarkerKind,
  { color: string; dash: string | null; text: string; name: string }
> = {
  'control-on': { color: ROLE.psi, dash: null, text: 'ψ on', name: 'control switched on' },
  'control-off': { color: ROLE.psi, dash: '4 3', text: 'ψ off', name: 'control switched off' },
  update: { color: ROLE.gradient, dash: null, text: 'ΔW', name: 'update applied' },
  sample: { color: INK, dash: '1 3', text: '', name: 'new sample' },
};

const SUB = '₀₁₂₃₄₅₆₇₈₉';
const sub = (i: number) =>
  String(i)
    .split('')
    .map((c) => SUB[Number(c)])
    .join('');

function panels(first: TracePoint, units: number): Panel[] {
  const n = Math.min(units, first.phi.length);
  const k = Math.min(first.y.length, MAX_TRACE_OUTPUTS);
  const hidden = (key: 'phi' | 'psi', sym: string): Series[] =>
    Array.from({ length: n }, (_, i) => ({
      key: `${key}${i}`,
      color: categorical(i),
      dash: null,
      name: `${sym}${sub(i)}`,
      field: key,
      i,
    }));
  const outColor = (i: number, role: string) => (k === 1 ? role : categorical(i));
  const ys: Series[] = [];
  for (let i = 0; i < k; i++) {
    ys.push({
      key: `target${i}`,
      color: outColor(i, INK),
      dash: '5 4',
      name: `target t${k > 1 ? sub(i) : ''}`,
      field: 'target',
      i,
    });
    ys.push({
      key: `y${i}`,
      color: outColor(i, ROLE.y),
      dash: null,
      name: `y${k > 1 ? sub(i) : ''}`,
      field: 'y',
      i,
    });
  }
  const us: Series[] = Array.from({ length: k }, (_, i) => ({
    key: `u${i}`,
    color: outColor(i, ROLE.u),
    dash: null,
    name: `u${k > 1 ? sub(i) : ''}`,
    field: 'u',
    i,
  }));
  return [
    { key: 'phi', label: 'φᵢ', series: hidden('phi', 'φ') },
    { key: 'psi', label: 'ψᵢ', series: hidden('psi', 'ψ') },
    { key: 'y', label: 'y  (- - target t)', series: ys },
    { key: 'u', label: 'u', series: us },
  ];
}

/** SVG path of one series (pixel x per point precomputed; gaps at non-finite values). */
function tracePath(
  traces: TracePoint[],
  xs: Float64Array,
  s: Series,
  y: (v: number) => number,
): string {
  let d = '';
  let pen = false;
  for (let j = 0; j < traces.length; j++) {
    const v = traces[j][s.field][s.i];
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${xs[j]},${Math.round(y(v) * 10) / 10}`;
    pen = true;
  }
  return d;
}

/** Draw the traces of `view` into `svg` (pure apart from the DOM it owns). */
export function drawTraces(svg: SVGSVGElement, view: SimView, options: TracesOptions): void {
  sizeSvg(svg, options);
  const { width, height } = options;
  const fs = fontSize();
  const sw = strokeScale();
  const traces = view.traces;
  if (emptyMessage(svg, traces.length ? '' : 'No activity yet: press play or step.', options))
    return;

  const margin = {
    left: Math.round(fs * 3.8),
    right: 10,
    top: 4,
    bottom: Math.round(fs * 1.6) + 22,
  };
  const gap = Math.round(fs * 0.7);
  const t0 = traces[0].t;
  const t1 = traces[traces.length - 1].t;
  const x = scaleLinear()
    .domain(t1 > t0 ? [t0, t1] : [t0, t0 + 1])
    .range([margin.left, width - margin.right]);
  const xs = new Float64Array(traces.length);
  for (let j = 0; j < traces.length; j++) xs[j] = Math.round(x(traces[j].t) * 10) / 10;
  const list = panels(traces[traces.length - 1], options.units ?? 4);
  const ph = Math.max(
    10,
    (height - margin.top - margin.bottom - gap * (list.length - 1)) / list.length,
  );

  list.forEach((panel, idx) => {
    const g = layer(svg, 'g', `panel panel-${panel.key}`);
    const top = margin.top + idx * (ph + gap);
    g.setAttribute('transform', `translate(0,${top})`);
    let lo = panel.key === 'phi' ? Infinity : 0;
    let hi = panel.key === 'phi' ? -Infinity : 0;
    for (const { field, i } of panel.series) {
      for (const p of traces) {
        const v = p[field][i];
        if (!Number.isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    const y = scaleLinear()
      .domain(paddedExtent([lo, hi]))
      .range([ph, 0]);
    const axis = layer(g, 'g', 'axis-y');
    axis.setAttribute('transform', `translate(${margin.left},0)`);
    // Labels stay within the panel and half the gap around it: never on a neighbour's.
    drawLeftAxis(axis, y, { bounds: [-gap / 2 + 1, ph + gap / 2 - 1], room: margin.left - 6 });

    const [dlo, dhi] = y.domain();
    const zero = layer(g, 'line', 'zero');
    zero.setAttribute('x1', String(margin.left));
    zero.setAttribute('x2', String(width - margin.right));
    zero.setAttribute('y1', String(y(0)));
    zero.setAttribute('y2', String(y(0)));
    zero.setAttribute('stroke', INK);
    zero.setAttribute('stroke-opacity', '0.15');
    zero.setAttribute('visibility', dlo < 0 && dhi > 0 ? 'visible' : 'hidden');

    select(layer(g, 'g', 'lines'))
      .selectAll<SVGPathElement, Series>('path.trace')
      .data(panel.series, (s) => s.key)
      .join((enter) => {
        const p = enter.append('path').attr('class', 'trace').attr('fill', 'none');
        p.append('title');
        return p;
      })
      .each(function (s) {
        setAttr(this, 'data-series', s.key);
        setAttr(this, 'stroke', s.color);
        setAttr(this, 'stroke-width', String((s.dash ? 1.2 : 1.5) * sw));
        setAttr(this, 'stroke-dasharray', s.dash);
        this.setAttribute('d', tracePath(traces, xs, s, y));
        const title = this.firstElementChild;
        if (title && title.textContent !== s.name) title.textContent = s.name;
      });

    label(g, 'panel-label', panel.label, margin.left + 4, fs, {
      'font-weight': 600,
      fill: panel.key === 'psi' ? ROLE.psi : panel.key === 'u' ? ROLE.u : INK,
    });
    // Colour key of the hidden units (which colour is which i).
    const key = layer(g, 'text', 'unit-key');
    key.setAttribute('x', String(width - margin.right));
    key.setAttribute('y', String(fs));
    key.setAttribute('text-anchor', 'end');
    key.setAttribute('font-size', String(fs));
    halo(key);
    const keyed = panel.key === 'phi' && panel.series.length <= 8 ? panel.series : [];
    select(key)
      .selectAll('tspan')
      .data(keyed)
      .join('tspan')
      .attr('fill', (s) => s.color)
      .attr('dx', (_, i) => (i ? 4 : 0))
      .text((s) => s.name);
  });
  for (const g of Array.from(svg.querySelectorAll(':scope > g.panel'))) {
    if (!list.some((p) => g.classList.contains(`panel-${p.key}`))) g.remove();
  }

  const bottom = margin.top + list.length * ph + (list.length - 1) * gap;
  const xAxis = layer(svg, 'g', 'axis-x');
  xAxis.setAttribute('transform', `translate(0,${bottom})`);
  drawBottomAxis(xAxis, x);
  label(svg, 'axis-label', 't (τ)', width - margin.right, height - 6, {
    'text-anchor': 'end',
    fill: INK,
  });

  // Markers: control switches, updates, new samples, within the window; nearby ones merged.
  const inWindow = view.markers.filter((m) => m.t >= t0 && m.t <= Math.max(t1, t0));
  const rows: Record<MarkerRow, number> = {
    control: margin.top + ph - 3,
    update: margin.top + (list.length > 1 ? 2 * ph + gap : ph) - 3,
    sample: 0,
  };
  // Marker labels start after the panels' own labels (φᵢ, ψᵢ) at the top-left.
  const labelFrom = margin.left + 4 + textWidth(2.5, fs);
  const groups = markerGroups(inWindow, x, fs * 0.9, margin.left, width - margin.right, labelFrom);
  const mg = layer(svg, 'g', 'markers');
  select(mg)
    .selectAll<SVGGElement, MarkerGroup>('g.marker')
    .data(groups)
    .join((enter) => {
      const e = enter.append('g');
      e.append('title');
      e.append('line');
      e.append('text').attr('class', 'marker-label');
      return e;
    })
    .attr('class', (m) => `marker marker-${m.kind}`)
    .attr('data-count', (m) => m.count)
    .attr('transform', (m) => `translate(${m.x},0)`)
    .each(function (m) {
      const style = MARKER_STYLE[m.kind];
      select(this)
        .select('line')
        .attr('y1', margin.top)
        .attr('y2', bottom)
        .attr('stroke', style.color)
        .attr('stroke-width', sw)
        .attr('stroke-dasharray', style.dash)
        .attr('opacity', 0.8);
      const text = select(this)
        .select<SVGTextElement>('text')
        .attr('x', m.dx)
        .attr('text-anchor', m.anchor)
        .attr('y', rows[markerRow(m.kind)])
        .attr('font-size', fs * 0.9)
        .attr('fill', style.color)
        .attr('display', m.label ? null : 'none');
      text.text(m.label);
      const node = text.node();
      if (node) halo(node);
      // A tooltip on the whole marker with every merged time.
      select(this)
        .select('title')
        .text(
          m.count > 1
            ? `${m.mixed ? 'control switched' : style.name} at t = ${m.times.map((t) => fmt(t)).join(', ')}`
            : `${style.name} at t = ${fmt(m.times[0])}`,
        );
    });
}

type MarkerRow = 'control' | 'update' | 'sample';
const markerRow = (kind: MarkerKind): MarkerRow =>
  kind === 'update' ? 'update' : kind === 'sample' ? 'sample' : 'control';

export interface MarkerGroup {
  kind: MarkerKind;
  /** Pixel position of the group's line (its first marker). */
  x: number;
  count: number;
  times: number[];
  label: string;
  anchor: 'start' | 'end';
  /** Offset of the label from the line (px; start-anchored labels clear the panel labels). */
  dx: number;
  /** Control switched both ways within the group. */
  mixed?: boolean;
}

/**
 * Markers of one kind closer than their labels are wide become one group ("ΔW ×4"): walking in
 * time, a marker joins the open group of its label row when its own label would touch that
 * group's. Labels near the right edge point left. Sample markers have no label and merge when
 * closer than 2 px.
 */
export function markerGroups(
  markers: { t: number; kind: MarkerKind }[],
  x: (t: number) => number,
  fs: number,
  left: number,
  right: number,
  /** Labels start no further left than this (the panels' own labels sit before it). */
  labelFrom = left,
): MarkerGroup[] {
  const out: MarkerGroup[] = [];
  const open = new Map<MarkerRow, MarkerGroup>();
  const sorted = [...markers].sort((a, b) => a.t - b.t);
  // The widest label a group can grow to ("ψ off ×99").
  const labelW = (kind: MarkerKind) =>
    textWidth(markerRow(kind) === 'control' ? 11 : MARKER_STYLE[kind].text.length + 4, fs);
  const extent = (g: MarkerGroup): [number, number] => {
    const w = labelW(g.kind);
    const x0 = Math.max(g.x, labelFrom);
    return g.anchor === 'end' ? [g.x - w - 2, g.x] : [x0, x0 + w + 2];
  };
  for (const m of sorted) {
    const px = Math.round(x(m.t) * 10) / 10;
    if (!Number.isFinite(px) || px < left - 1 || px > right + 1) continue;
    const row = markerRow(m.kind);
    const cur = open.get(row);
    const anchor: 'start' | 'end' = px + labelW(m.kind) + 2 > right ? 'end' : 'start';
    if (cur) {
      const [a, b] = extent(cur);
      const mine: [number, number] =
        row === 'sample'
          ? [px - 1, px + 1]
          : anchor === 'end'
            ? [px - labelW(m.kind) - 2, px]
            : [Math.max(px, labelFrom), Math.max(px, labelFrom) + labelW(m.kind) + 2];
      const touches = row === 'sample' ? px - cur.x < 2 : mine[0] < b + fs * 0.4 && mine[1] > a;
      if (touches && (cur.kind === m.kind || row === 'control')) {
        cur.count++;
        cur.times.push(m.t);
        // A group of mixed switches (on, off, on …) ends in the last one's state.
        if (cur.kind !== m.kind) cur.mixed = true;
        cur.kind = m.kind;
        continue;
      }
    }
    const dx = anchor === 'end' ? -2 : Math.max(2, labelFrom - px);
    const g: MarkerGroup = { kind: m.kind, x: px, count: 1, times: [m.t], label: '', anchor, dx };
    out.push(g);
    open.set(row, g);
  }
  for (const g of out) {
    const text = g.mixed ? 'ψ on/off' : MARKER_STYLE[g.kind].text;
    g.label = text && g.count > 1 ? `${text} ×${g.count}` : text;
  }
  return out;
}

/** What drawTraces reads (a Train adds no trace samples: the panels stay as they are). */
const traceInputs = (view: SimView) => [view.traces, view.markers, view.generation];

/** The traces view: panels redrawn from the snapshot bus; the unit count is a React control. */
export function TracesView() {
  const host = useRef<HTMLDivElement>(null);
  const [units, setUnits] = useState(4);
  const draw = useCallback(
    (el: HTMLDivElement, view: SimView, size: Size) => {
      drawTraces(hostSvg(el), view, { ...size, units });
    },
    [units],
  );
  useLiveDraw(host, draw, 0, traceInputs);
  return (
    <section
      data-testid="view-traces"
      aria-label="Traces: hidden activity φ, control ψ, output y against its target, and output control u over time"
      className="view view-traces"
      style={sectionStyle}
    >
      <div ref={host} style={hostStyle} />
      <label style={{ position: 'absolute', bottom: 2, left: 2, fontSize: '0.75em' }}>
        units{' '}
        <select
          aria-label="Hidden units shown in the traces"
          value={units}
          onChange={(e) => setUnits(Number(e.target.value))}
        >
          {UNIT_CHOICES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
    </section>
  );
}
