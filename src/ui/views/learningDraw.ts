/**
 * The learning curves' drawing (data in, SVG out): loss at the free equilibrium, the control
 * ½‖ψ*‖² + ½‖u*‖² (log scale when positive), accuracy (classification), the cosine of the update
 * with −∇L and, for learned or linear feedback, its alignment (LF: cos(Q u*, M u*); KP: the angle
 * of B with Wᵀ), each on its own axis, against the update count; test points as hollow markers.
 */
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
  INK,
  label,
  layer,
  paddedExtent,
  sizeSvg,
  textWidth,
  updateAtNoise,
  VOCABULARY,
  type Size,
} from './common';

export interface LearningOptions extends Size {
  /** Samples per update (the batch the curves average over); default 1. */
  batch?: number;
}

type PanelKey = 'loss' | 'control' | 'accuracy' | 'cosine' | 'alignmentQ' | 'angleB';

interface Panel {
  key: PanelKey;
  /** What the panel's title names (VOCABULARY's symbols). */
  label: string;
  /** Its definition and what it averages (the title's tooltip). */
  definition: (batch: number) => string;
  color: string;
  value: (p: LearningPoint) => number;
  test?: (p: LearningPoint) => number;
}

const num = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v);
const over = (batch: number) =>
  batch > 1 ? `mean over the update’s ${batch} samples` : 'of the update’s sample';

const ALL: Panel[] = [
  {
    key: 'loss',
    label: VOCABULARY.loss.symbol,
    definition: (b) =>
      `${VOCABULARY.loss.symbol}, ${over(b)}: ${VOCABULARY.loss.definition} ○ mean over the test set.`,
    color: OKABE_ITO.blue,
    value: (p) => p.loss,
    test: (p) => num(p.testLoss),
  },
  {
    key: 'control',
    label: `${VOCABULARY.psi.symbol} + ${VOCABULARY.u.symbol}`,
    definition: (b) =>
      `${VOCABULARY.psi.symbol} + ${VOCABULARY.u.symbol}, ${over(b)}: the least control at the controlled equilibrium (${VOCABULARY.psi.definition} ${VOCABULARY.u.definition})`,
    color: ROLE.psi,
    value: (p) => p.control,
  },
  {
    key: 'accuracy',
    label: 'accuracy',
    definition: (b) =>
      `Accuracy of the free network's prediction, ${over(b)}; ○ over the test set.`,
    color: OKABE_ITO.green,
    value: (p) => num(p.accuracy),
    test: (p) => num(p.testAccuracy),
  },
  {
    key: 'cosine',
    label: VOCABULARY.cosine.symbol,
    definition: () => VOCABULARY.cosine.definition,
    color: ROLE.gradient,
    value: (p) => p.cosine,
  },
  {
    key: 'alignmentQ',
    label: 'cos(Qu*, Mu*)',
    definition: () =>
      'Linear feedback: the cosine of its control Q u* with the control M(φ*) u* that dynamic inversion would give for the same u* — 1 when ψ = Q u is the least control. Measured before each update at the controlled equilibrium of its first sample (on large nets, every tenth update). Learning Q with noise raises it.',
    color: OKABE_ITO.purple,
    value: (p) => num(p.alignmentQ),
  },
  {
    key: 'angleB',
    label: '∠(B, Wᵀ)',
    definition: () =>
      'Learned feedback (Kolen–Pollack): the angle in degrees between the feedback weights B and Wᵀ after each update (on large nets, every tenth). Kolen–Pollack learning drives it to 0°, where the inversion is exact.',
    color: OKABE_ITO.blue,
    value: (p) => num(p.angleB),
  },
];

/** Which panels the points call for: loss and control always, accuracy and cosine if measured. */
export function learningPanels(points: LearningPoint[]): PanelKey[] {
  const has = (f: (p: LearningPoint) => number) => points.some((p) => Number.isFinite(f(p)));
  return ALL.filter(
    (panel) => panel.key === 'loss' || panel.key === 'control' || has(panel.value),
  ).map((p) => p.key);
}

/** The panel title with the latest value when it fits, and its size. */
function titleText(name: string, value: string, room: number, fs: number): [string, number] {
  const full = `${name}  ${value}`;
  const space = room - fs;
  if (textWidth(full.length, fs) * 0.9 <= space) return [full, fs];
  return [name, Math.max(fs * 0.75, Math.min(fs, space / (0.6 * name.length)))];
}

/** Keep at most ~`max` points (every stride-th, always the last). */
function thin(points: LearningPoint[], max: number): LearningPoint[] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

/**
 * Points whose update was at float noise: their cosine with −∇L is not meaningful. The engine
 * says so (cosineReliable: false); for a point without that flag the weights snapshot's last
 * update decides (‖Δθ‖ ≤ UPDATE_NOISE ‖θ‖) when the point is the newest one.
 */
const noiseOf = new WeakMap<LearningPoint, boolean>();

/** Note whether the newest point's update was float noise (from the weights snapshot). */
export function recordUpdateNoise(view: SimView): void {
  const last = view.learning[view.learning.length - 1];
  if (!last || last.cosineReliable !== undefined || noiseOf.has(last) || !view.weights?.lastUpdate)
    return;
  noiseOf.set(last, updateAtNoise(view.weights));
}

/** Was this point's update float noise (false when unknown)? */
export const pointAtNoise = (p: LearningPoint): boolean =>
  p.cosineReliable === false || noiseOf.get(p) === true;

const drawn = new WeakMap<
  SVGSVGElement,
  { learning: LearningPoint[]; key: string; noise: boolean }
>();

/** Draw the learning curves of `view` into `svg`. */
/** Most marker circles of one kind in a panel (a run of one-sample epochs has one per update). */
export const MAX_MARKERS = 80;

/**
 * At most MAX_MARKERS of `points`, evenly spaced, the last kept: hundreds of circles restyled at
 * every snapshot held a training page at a few frames per second, and the curve carries the rest.
 */
export function thinned<T>(points: T[]): T[] {
  if (points.length <= MAX_MARKERS) return points;
  const stride = Math.ceil(points.length / MAX_MARKERS);
  const kept = points.filter((_, i) => (points.length - 1 - i) % stride === 0);
  return kept;
}

export function drawLearning(svg: SVGSVGElement, view: SimView, options: LearningOptions): void {
  const { width, height } = options;
  const batch = options.batch ?? 1;
  const fs = fontSize();
  const sw = strokeScale();
  const all = view.learning;
  recordUpdateNoise(view);
  const lastNoise = all.length > 0 && pointAtNoise(all[all.length - 1]);
  // The curves change only with new points (the bus keeps the array otherwise), a resize or
  // lecture mode: skip the other snapshots.
  const key = `${width}x${height}|${fs}|${sw}|${batch}`;
  const prev = drawn.get(svg);
  if (prev && prev.learning === all && prev.key === key && prev.noise === lastNoise) return;
  drawn.set(svg, { learning: all, key, noise: lastNoise });
  sizeSvg(svg, options);
  if (emptyMessage(svg, all.length ? '' : 'No updates yet: press Learn or Train.', options)) return;

  const keys = learningPanels(all);
  const list = ALL.filter((p) => keys.includes(p.key));
  const cols = list.length > 1 && width >= 22 * fs + 120 ? 2 : 1;
  const rows = Math.ceil(list.length / cols);
  const cellW = width / cols;
  // The last line holds the shared x label and the key of the markers.
  const footer = Math.round(fs * 1.4);
  const cellH = (height - footer) / rows;
  const u0 = all[0].update;
  const u1 = all[all.length - 1].update;
  const hasTests = all.some((p) => Number.isFinite(num(p.testLoss)));

  for (const g of Array.from(svg.querySelectorAll(':scope > g.panel'))) {
    if (!keys.some((k) => g.classList.contains(`panel-${k}`))) g.remove();
  }
  list.forEach((panel, idx) => {
    const row = Math.floor(idx / cols);
    const col = idx % cols;
    const g = layer(svg, 'g', `panel panel-${panel.key}`);
    g.setAttribute('transform', `translate(${col * cellW},${row * cellH})`);
    const values = all.map(panel.value).filter(Number.isFinite);
    const tests = panel.test ? all.map(panel.test).filter(Number.isFinite) : [];
    const positive = values.length > 0 && values.every((v) => v > 0);
    const logScale = panel.key === 'control' && positive;
    // Room for the widest tick label on the left.
    const margin = {
      left: Math.round(fs * (logScale ? 4 : 3.2)),
      right: Math.round(fs * 0.8),
      top: Math.round(fs * 1.5),
      bottom: Math.round(fs * 1.6),
    };
    const plotW = Math.max(10, cellW - margin.left - margin.right);
    const plotH = Math.max(10, cellH - margin.top - margin.bottom);
    const points = thin(all, Math.max(50, Math.floor(plotW * 2)));
    const x = scaleLinear()
      .domain(u1 > u0 ? [u0, u1] : [u0 - 1, u0 + 1])
      .range([margin.left, margin.left + plotW]);

    let y: ScaleContinuousNumeric<number, number>;
    if (logScale) {
      let lo = min(values) ?? 1;
      let hi = max(values) ?? 1;
      if (hi / lo < 1.5) [lo, hi] = [lo / 1.5, hi * 1.5];
      else [lo, hi] = [lo / 1.15, hi * 1.15];
      y = scaleLog()
        .domain([lo, hi])
        .range([margin.top + plotH, margin.top]);
    } else if (panel.key === 'accuracy') {
      y = scaleLinear()
        .domain([0, 1])
        .range([margin.top + plotH, margin.top]);
    } else if (panel.key === 'angleB') {
      // Degrees from 0 (aligned): the fall towards 0 is what the panel shows.
      y = scaleLinear()
        .domain([0, Math.max(5, (max(values) ?? 0) * 1.08)])
        .range([margin.top + plotH, margin.top]);
    } else if (panel.key === 'cosine' || panel.key === 'alignmentQ') {
      const lo = Math.min(0, min(values) ?? 0);
      y = scaleLinear()
        .domain([lo, 1])
        .range([margin.top + plotH, margin.top]);
    } else {
      const [, hi] = paddedExtent([0, max(values) ?? 0, max(tests) ?? 0], 0.05);
      y = scaleLinear()
        .domain([0, hi])
        .range([margin.top + plotH, margin.top]);
    }
    g.setAttribute('data-scale', logScale ? 'log' : 'linear');

    const yAxis = layer(g, 'g', 'axis-y');
    yAxis.setAttribute('transform', `translate(${margin.left},0)`);
    drawLeftAxis(yAxis, y, {
      bounds: [margin.top - fs * 0.6, margin.top + plotH + fs * 0.6],
      room: margin.left - 6,
    });
    const xAxis = layer(g, 'g', 'axis-x');
    xAxis.setAttribute('transform', `translate(0,${margin.top + plotH})`);
    // Update counts are whole numbers.
    const whole = x.ticks(Math.max(2, Math.floor(plotW / (3 * fs)))).filter(Number.isInteger);
    drawBottomAxis(xAxis, x, {
      values: whole.length ? whole : [u0],
      bounds: [2, cellW - 2],
    });

    const last = [...all].reverse().find((p) => Number.isFinite(panel.value(p)));
    const noisy = panel.key === 'cosine' && !!last && pointAtNoise(last);
    const value = !last
      ? '—'
      : noisy
        ? 'not meaningful'
        : `${fmt(panel.value(last))}${panel.key === 'angleB' ? '°' : ''}`;
    const [text, size] = titleText(panel.label, value, plotW, fs);
    const title = label(g, 'panel-label', text, margin.left + 4, fs, {
      'font-weight': 600,
      'font-size': size,
      fill: panel.color,
    });
    const tip = layer(title, 'title', 'definition');
    tip.textContent = panel.definition(batch);

    const defined = (p: LearningPoint) =>
      Number.isFinite(panel.value(p)) && !(panel.key === 'cosine' && pointAtNoise(p));
    const shown = points.filter(defined);
    const curve = layer(g, 'path', 'curve');
    curve.setAttribute('fill', 'none');
    curve.setAttribute('stroke', panel.color);
    curve.setAttribute('stroke-width', String(1.5 * sw));
    curve.setAttribute(
      'd',
      line<LearningPoint>()
        .defined(defined)
        .x((p) => x(p.update))
        .y((p) => y(panel.value(p)))(points) ?? '',
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
    // Cosines of updates at float noise: grey, hollow, apart from the curve.
    const noise = thinned(
      panel.key === 'cosine'
        ? points.filter((p) => Number.isFinite(p.cosine) && pointAtNoise(p))
        : [],
    );
    select(layer(g, 'g', 'noise'))
      .selectAll('circle.noise-point')
      .data(noise)
      .join((enter) => enter.append('circle').call((c) => c.append('title')))
      .attr('class', 'noise-point')
      .attr('r', 2.2 * sw)
      .attr('fill', 'none')
      .attr('stroke', '#999')
      .attr('stroke-width', sw)
      .attr('cx', (p) => x(p.update))
      .attr('cy', (p) => y(Math.max(y.domain()[0], Math.min(1, p.cosine))))
      .select('title')
      .text(
        (p) => `update ${p.update}: cos = ${fmt(p.cosine)}, not meaningful (‖Δθ‖ at float noise)`,
      );
    g.setAttribute('data-noise', String(noise.length));
    const test = panel.test;
    const testPoints = thinned(test ? all.filter((p) => Number.isFinite(test(p))) : []);
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
  });

  // One footer line: the x label and what the points are.
  const parts = [
    `update · ● ${batch > 1 ? `mean over the batch (${batch})` : 'the update’s sample'}`,
  ];
  if (hasTests) parts.push('○ test set');
  if (list.some((p) => p.key === 'cosine') && all.some(pointAtNoise))
    parts.push('grey ○ cos at float noise');
  let footerText = parts.join('   ');
  if (textWidth(footerText.length, fs) * 0.85 > width) footerText = parts.slice(0, 2).join('   ');
  label(svg, 'axis-label', footerText, width - 4, height - 4, {
    'text-anchor': 'end',
    fill: INK,
  });
}
