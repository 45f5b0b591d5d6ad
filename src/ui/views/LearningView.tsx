/**
 * Learning curves: loss at the free equilibrium, the control ½‖ψ*‖² + ½‖u*‖² (log scale when
 * positive), accuracy (classification) and the cosine of the update with −∇L, against the update
 * count; test points as hollow markers.
 */
import { useCallback, useRef } from 'react';
import { line, max, min, scaleLinear, scaleLog, select, type ScaleContinuousNumeric } from 'd3';
import type { SimView } from '../../state/simView';
import type { LearningPoint } from '../../worker/protocol';
import { OKABE_ITO, ROLE, strokeScale } from '../theme';
import {
  drawBottomAxis,
  drawLeftAxis,
  emptyMessage,
  fmt,
  fontSize,
  hostStyle,
  hostSvg,
  INK,
  label,
  layer,
  paddedExtent,
  sectionStyle,
  sizeSvg,
  useLiveDraw,
  type Size,
} from './common';

export type LearningOptions = Size;

type PanelKey = 'loss' | 'control' | 'accuracy' | 'cosine';

interface Panel {
  key: PanelKey;
  label: string;
  color: string;
  value: (p: LearningPoint) => number;
  test?: (p: LearningPoint) => number;
}

const num = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v);

const ALL: Panel[] = [
  {
    key: 'loss',
    label: 'L (free)',
    color: OKABE_ITO.blue,
    value: (p) => p.loss,
    test: (p) => num(p.testLoss),
  },
  { key: 'control', label: '½‖ψ*‖² + ½‖u*‖²', color: ROLE.psi, value: (p) => p.control },
  {
    key: 'accuracy',
    label: 'accuracy',
    color: OKABE_ITO.green,
    value: (p) => num(p.accuracy),
    test: (p) => num(p.testAccuracy),
  },
  { key: 'cosine', label: 'cos(Δθ, −∇L)', color: ROLE.gradient, value: (p) => p.cosine },
];

/** Which panels the points call for: loss and control always, accuracy and cosine if measured. */
export function learningPanels(points: LearningPoint[]): PanelKey[] {
  const has = (f: (p: LearningPoint) => number) => points.some((p) => Number.isFinite(f(p)));
  return ALL.filter(
    (panel) => panel.key === 'loss' || panel.key === 'control' || has(panel.value),
  ).map((p) => p.key);
}

/** The panel title with the latest value when it fits (≈ 0.6 em per character), and its size. */
function titleText(name: string, value: string, room: number, fs: number): [string, number] {
  const full = `${name}  ${value}`;
  const space = room - fs * 3;
  if (full.length * 0.6 * fs <= space) return [full, fs];
  return [name, Math.max(fs * 0.7, Math.min(fs, space / (0.6 * name.length)))];
}

/** Keep at most ~`max` points (every stride-th, always the last). */
function thin(points: LearningPoint[], max: number): LearningPoint[] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

const powersOfTen = (lo: number, hi: number): number[] => {
  const out: number[] = [];
  for (let e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
};

const drawn = new WeakMap<SVGSVGElement, { learning: LearningPoint[]; key: string }>();

/** Draw the learning curves of `view` into `svg`. */
export function drawLearning(svg: SVGSVGElement, view: SimView, options: LearningOptions): void {
  const { width, height } = options;
  const fs = fontSize();
  const sw = strokeScale();
  const all = view.learning;
  // The curves change only with new points (the bus keeps the array otherwise), a resize or
  // lecture mode: skip the other snapshots.
  const key = `${width}x${height}|${fs}|${sw}`;
  const prev = drawn.get(svg);
  if (prev && prev.learning === all && prev.key === key) return;
  drawn.set(svg, { learning: all, key });
  sizeSvg(svg, options);
  if (emptyMessage(svg, all.length ? '' : 'No updates yet: press Learn or Train.', options)) return;

  const keys = learningPanels(all);
  const list = ALL.filter((p) => keys.includes(p.key));
  const cols = list.length > 1 && width >= 340 ? 2 : 1;
  const rows = Math.ceil(list.length / cols);
  const cellW = width / cols;
  const cellH = height / rows;
  const margin = { left: Math.round(fs * 3.8), right: 8, top: Math.round(fs * 1.5), bottom: 0 };
  const u0 = all[0].update;
  const u1 = all[all.length - 1].update;

  for (const g of Array.from(svg.querySelectorAll(':scope > g.panel'))) {
    if (!keys.some((k) => g.classList.contains(`panel-${k}`))) g.remove();
  }
  list.forEach((panel, idx) => {
    const row = Math.floor(idx / cols);
    const col = idx % cols;
    const lastRow = row === rows - 1 || idx + cols >= list.length;
    const bottom = Math.round(fs * (lastRow ? 2.9 : 1.7));
    const g = layer(svg, 'g', `panel panel-${panel.key}`);
    g.setAttribute('transform', `translate(${col * cellW},${row * cellH})`);
    const plotW = Math.max(10, cellW - margin.left - margin.right);
    const plotH = Math.max(10, cellH - margin.top - bottom);
    const points = thin(all, Math.max(50, Math.floor(plotW * 2)));
    const x = scaleLinear()
      .domain(u1 > u0 ? [u0, u1] : [u0 - 1, u0 + 1])
      .range([margin.left, margin.left + plotW]);

    const finite = all.map(panel.value).filter(Number.isFinite);
    const tests = panel.test ? all.map(panel.test).filter(Number.isFinite) : [];
    let y: ScaleContinuousNumeric<number, number>;
    let tickValues: number[] | undefined;
    const positive = finite.length > 0 && finite.every((v) => v > 0);
    if (panel.key === 'control' && positive) {
      let lo = min(finite) ?? 1;
      let hi = max(finite) ?? 1;
      if (hi / lo < 1.5) [lo, hi] = [lo / 1.5, hi * 1.5];
      else [lo, hi] = [lo / 1.15, hi * 1.15];
      y = scaleLog()
        .domain([lo, hi])
        .range([margin.top + plotH, margin.top]);
      const powers = powersOfTen(lo, hi);
      if (powers.length >= 2) tickValues = powers.filter((_, i, a) => a.length <= 4 || i % 2 === 0);
      else {
        // Less than two decades: a few of d3's 1–9 × 10ᵏ ticks, evenly thinned.
        const all = y.ticks(4);
        const stride = Math.ceil(all.length / 3);
        tickValues = all.filter((_, i) => i % stride === 0);
      }
    } else if (panel.key === 'accuracy') {
      y = scaleLinear()
        .domain([0, 1])
        .range([margin.top + plotH, margin.top]);
    } else if (panel.key === 'cosine') {
      const lo = Math.min(0, min(finite) ?? 0);
      y = scaleLinear()
        .domain([lo, 1])
        .range([margin.top + plotH, margin.top]);
    } else {
      const [, hi] = paddedExtent([0, max(finite) ?? 0, max(tests) ?? 0], 0.05);
      y = scaleLinear()
        .domain([0, hi])
        .range([margin.top + plotH, margin.top]);
    }
    g.setAttribute('data-scale', panel.key === 'control' && positive ? 'log' : 'linear');

    const yAxis = layer(g, 'g', 'axis-y');
    yAxis.setAttribute('transform', `translate(${margin.left},0)`);
    drawLeftAxis(yAxis, y, plotH > 80 ? 4 : 2, tickValues);
    const xAxis = layer(g, 'g', 'axis-x');
    xAxis.setAttribute('transform', `translate(0,${margin.top + plotH})`);
    drawBottomAxis(xAxis, x, Math.max(3, Math.floor(plotW / 70)));

    const last = [...all].reverse().find((p) => Number.isFinite(panel.value(p)));
    const [text, size] = titleText(panel.label, last ? fmt(panel.value(last)) : '—', plotW, fs);
    const title = label(g, 'panel-label', text, margin.left + 4, fs, {
      'font-weight': 600,
      'font-size': size,
      fill: panel.color,
    });
    if (lastRow) {
      label(g, 'axis-label', 'update', margin.left + plotW, cellH - 4, {
        'text-anchor': 'end',
        fill: INK,
      });
    } else layer(g, 'text', 'axis-label').textContent = '';

    const defined = (p: LearningPoint) => Number.isFinite(panel.value(p));
    const shown = points.filter(defined);
    const curve = layer(g, 'path', 'curve');
    curve.setAttribute('fill', 'none');
    curve.setAttribute('stroke', panel.color);
    curve.setAttribute('stroke-width', String(1.5 * sw));
    curve.setAttribute(
      'd',
      line<LearningPoint>()
        .x((p) => x(p.update))
        .y((p) => y(panel.value(p)))(shown) ?? '',
    );
    select(layer(g, 'g', 'dots'))
      .selectAll('circle.dot')
      .data(shown.length <= 80 ? shown : [])
      .join('circle')
      .attr('class', 'dot')
      .attr('r', 1.6 * sw)
      .attr('fill', panel.color)
      .attr('cx', (p) => x(p.update))
      .attr('cy', (p) => y(panel.value(p)));
    const test = panel.test;
    const testPoints = test ? all.filter((p) => Number.isFinite(test(p))) : [];
    select(layer(g, 'g', 'tests'))
      .selectAll('circle.test-point')
      .data(testPoints)
      .join('circle')
      .attr('class', 'test-point')
      .attr('r', 3 * sw)
      .style('fill', 'var(--bg, #fff)')
      .attr('stroke', INK)
      .attr('stroke-width', sw)
      .attr('cx', (p) => x(p.update))
      .attr('cy', (p) => (test ? y(test(p)) : 0));
    const key = layer(title, 'tspan', 'legend');
    key.setAttribute('font-weight', 'normal');
    key.setAttribute('fill', INK);
    key.textContent = testPoints.length ? '  ○ test' : '';
  });
}

/** The learning-curves view, redrawn from the snapshot bus. */
export function LearningView() {
  const host = useRef<HTMLDivElement>(null);
  const draw = useCallback((el: HTMLDivElement, view: SimView, size: Size) => {
    drawLearning(hostSvg(el), view, size);
  }, []);
  // Curves of thousands of points: ten redraws a second are plenty while training.
  useLiveDraw(host, draw, 100);
  return (
    <section
      data-testid="view-learning"
      aria-label="Learning curves: loss, least control, accuracy and cosine with the gradient per update"
      className="view view-learning"
      style={sectionStyle}
    >
      <div ref={host} style={hostStyle} />
    </section>
  );
}
