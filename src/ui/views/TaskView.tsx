/**
 * Task view (DESIGN.md §4): for 2-D classification, the data over the free network's decision
 * map (p(class 1) as filled bands, the 0.5 contour bold) with the current sample ringed; for
 * regression, a fit plot of the free network's test predictions against their targets; for
 * MNIST, a grid of test digits with their predicted class, wrong ones marked. Decision maps come
 * from the worker (throttled, when the weights change).
 */
import { cancelDraw, requestDraw } from './frameBudget';
import { digitDataUrl } from './digitImage';
import { useEffect, useRef } from 'react';
import { contours, geoPath, geoTransform, scaleLinear, select } from 'd3';
import { engine } from '../../state/engine';
import { simView, type SimView } from '../../state/simView';
import type { DecisionMap, TaskData } from '../../worker/protocol';
import { CATEGORICAL, diverging, OKABE_ITO, ROLE, strokeScale } from '../theme';
import { contourLines, TRAINING_REFRESH_MS } from './phaseModel';
import { keyedRequests } from './requests';
import { fmt, fontSize, layer, squareAxes, textWidth, VOCABULARY } from './common';

/** Minimum time between two decision-map requests (ms): each relaxes the free network on the
 *  whole grid (48² inputs) and the test samples, work that competes with training. */
export const MAP_INTERVAL = 1000;
/** Grid points per axis of the requested decision map (2-D tasks; others need predictions only). */
export const MAP_SIZE = 48;
/** How many test digits are shown at most. */
export const MAX_DIGITS = 24;

export type TaskMode = 'plane' | 'fit' | 'digits' | 'none';

export function taskMode(task: TaskData | null): TaskMode {
  if (!task) return 'none';
  if (task.image) return 'digits';
  if (task.classification) return task.m === 2 ? 'plane' : 'none';
  return 'fit';
}

/** Grid size to request for a task (a tiny grid when only the test predictions are needed). */
export function mapSizeFor(task: TaskData | null): number {
  return taskMode(task) === 'plane' ? MAP_SIZE : 2;
}

export interface TaskModel {
  sim: SimView;
  map: DecisionMap | null;
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** What was last drawn into an SVG (so that unchanged layers are not rebuilt every frame). */
interface Drawn {
  mode: TaskMode;
  task: TaskData | null;
  map: DecisionMap | null;
  layout: string;
}
const drawnState = new WeakMap<SVGSVGElement, Drawn>();

/** Class accuracy of the map's test predictions (null when they do not match the test set). */
export function testAccuracy(task: TaskData, map: DecisionMap | null): number | null {
  if (!map || !task.classification) return null;
  const count = Math.min(task.testY.length, map.testPredictions.length);
  if (!count) return null;
  let right = 0;
  for (let q = 0; q < count; q++) if (Math.round(map.testPredictions[q]) === task.testY[q]) right++;
  return right / count;
}

/**
 * Draw the task view into `svg` at width × height. Layers that depend only on the task or the map
 * are rebuilt when those (or the size) change; the current sample is redrawn every call.
 */
export function drawTask(
  svg: SVGSVGElement,
  model: TaskModel,
  width: number,
  height: number,
): void {
  const task = model.sim.task;
  const mode = taskMode(task);
  const fs = fontSize();
  select(svg)
    .attr('width', width)
    .attr('height', height)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('font-size', fs)
    .attr('font-family', null);
  const layout = `${width}x${height}:${fs}:${strokeScale()}`;
  const prev = drawnState.get(svg);
  const sameTask = !!prev && prev.mode === mode && prev.task === task && prev.layout === layout;
  const sameMap = sameTask && prev.map === model.map;
  drawnState.set(svg, { mode, task, map: model.map, layout });

  for (const m of ['plane', 'fit', 'digits'] as const)
    select(layer(svg, 'g', `mode-${m}`)).attr('display', m === mode ? null : 'none');
  const message = select(layer(svg, 'text', 'message'))
    .attr('x', width / 2)
    .attr('y', height / 2)
    .attr('text-anchor', 'middle')
    .attr('fill', 'currentColor');
  const why = !task
    ? 'Waiting for the task data…'
    : mode === 'none'
      ? `No plot for the ${task.task} task.`
      : width < 80 || height < 60
        ? 'Too small to draw.'
        : '';
  message.text(why).attr('display', why ? null : 'none');
  if (why || !task) return;
  const g = layer(svg, 'g', `mode-${mode}`);
  if (mode === 'plane') drawPlane(g, task, model, width, height, sameTask, sameMap);
  else if (mode === 'fit') drawFit(g, task, model, width, height);
  else drawDigits(g, task, model, width, height);
}

/** Margins of the square plots at type size fs (tick labels and axis names). */
const margins = (fs: number) => ({
  top: Math.round(1.5 * fs),
  right: Math.round(0.8 * fs),
  bottom: Math.round(2.7 * fs),
  left: Math.round(3.4 * fs),
});

function drawPlane(
  g: SVGGElement,
  task: TaskData,
  model: TaskModel,
  width: number,
  height: number,
  sameTask: boolean,
  sameMap: boolean,
): void {
  const sw = strokeScale();
  const fs = fontSize();
  const M = margins(fs);
  const legendW = Math.round(textWidth(10, fs)) + 12;
  const side = Math.max(
    20,
    Math.min(width - M.left - M.right - legendW, height - M.top - M.bottom),
  );
  const extent = model.map?.extent ?? [-1.2, 1.2];
  const x = scaleLinear()
    .domain(extent)
    .range([M.left, M.left + side]);
  const y = scaleLinear()
    .domain(extent)
    .range([M.top + side, M.top]);
  select(layer(g, 'rect', 'frame'))
    .attr('x', M.left)
    .attr('y', M.top)
    .attr('width', side)
    .attr('height', side)
    .attr('fill', 'none')
    .attr('stroke', '#999');

  // Decision map: bands of p(class 1) between class 0's colour and class 1's, the 0.5 contour.
  const bands = select(layer(g, 'g', 'decision-map'));
  const boundary = select(layer(g, 'path', 'boundary'))
    .attr('fill', 'none')
    .attr('stroke', OKABE_ITO.black)
    .attr('stroke-width', 2 * sw);
  if (!sameMap) {
    const map = model.map;
    if (map && map.size >= 2 && map.values.length === map.size * map.size) {
      const n = map.size;
      const g2v = (gi: number) => extent[0] + (gi / (n - 1)) * (extent[1] - extent[0]);
      const project = geoTransform({
        point(px: number, py: number) {
          this.stream.point(x(g2v(px - 0.5)), y(g2v(py - 0.5)));
        },
      });
      const path = geoPath(project);
      const thresholds = Array.from({ length: 10 }, (_, q) => q / 10);
      const values = Array.from(map.values, (v) => (Number.isFinite(v) ? v : 0.5));
      const shapes = contours().size([n, n]).thresholds(thresholds)(values);
      bands
        .selectAll<SVGPathElement, (typeof shapes)[number]>('path')
        .data(shapes)
        .join('path')
        .attr('d', (s) => path(s) ?? '')
        .attr('fill', (s) => diverging(Math.min(1, s.value + 0.05)))
        .attr('fill-opacity', 0.55)
        .attr('stroke', 'none');
      const line = (pts: [number, number][]) =>
        'M' + pts.map(([gx, gy]) => `${f1(x(g2v(gx)))},${f1(y(g2v(gy)))}`).join('L');
      boundary.attr('d', contourLines(map.values, n, 0.5).map(line).join(''));
    } else {
      bands.selectAll('path').remove();
      boundary.attr('d', '');
    }
  }

  // Training points, coloured by class.
  if (!sameTask) {
    const count = Math.floor(task.trainX.length / 2);
    const idx = Array.from({ length: count }, (_, q) => q);
    select(layer(g, 'g', 'points'))
      .selectAll<SVGCircleElement, number>('circle')
      .data(idx)
      .join('circle')
      .attr('cx', (q) => f1(x(task.trainX[2 * q])))
      .attr('cy', (q) => f1(y(task.trainX[2 * q + 1])))
      .attr('r', count > 600 ? 1.8 : 2.4)
      .attr('fill', (q) => CATEGORICAL[task.trainY[q] % CATEGORICAL.length])
      .attr('stroke', 'white')
      .attr('stroke-width', 0.5);
    squareAxes(g, x, y, {
      left: M.left,
      top: M.top,
      side,
      fs,
      xLabel: 'x₀',
      yLabel: 'x₁',
      yLabelY: M.top - Math.round(fs * 0.35),
    });
  }

  // Legend: classes, the colour bar of p(class 1), the test accuracy of the free network.
  const lx = M.left + side + Math.round(fs);
  const rowH = Math.round(fs * 1.3);
  const legend = select(layer(g, 'g', 'legend')).attr('transform', `translate(${lx},${M.top})`);
  const lEl = legend.node() as SVGGElement;
  const classes = [0, 1];
  legend
    .selectAll<SVGGElement, number>('g.class')
    .data(classes)
    .join((enter) => {
      const e = enter.append('g').attr('class', 'class');
      e.append('circle').attr('cx', 4).attr('r', 4);
      e.append('text').attr('x', 12).attr('fill', 'currentColor');
      return e;
    })
    .attr('transform', (c) => `translate(0,${Math.round(fs * 0.6) + c * rowH})`)
    .call((e) => e.select('circle').attr('cy', -fs * 0.35))
    .call((e) => e.select('circle').attr('fill', (c) => CATEGORICAL[c]))
    .call((e) => e.select('text').text((c) => `class ${c}`));
  // The colour bar of p(class 1) under the classes, its title above it.
  const barTop = 2 * rowH + Math.round(fs * 1.6);
  const barH = Math.max(2.5 * fs, Math.min(side - barTop - 2 * rowH, 6 * fs));
  const steps = 12;
  select(layer(lEl, 'g', 'bar'))
    .attr('transform', `translate(0,${barTop})`)
    .selectAll<SVGRectElement, number>('rect')
    .data(Array.from({ length: steps }, (_, q) => q))
    .join('rect')
    .attr('x', 0)
    .attr('y', (q) => f1(((steps - 1 - q) * barH) / steps))
    .attr('width', 8)
    .attr('height', f1(barH / steps + 0.3))
    .attr('fill', (q) => diverging(q / (steps - 1)))
    .attr('fill-opacity', 0.75);
  const barLabels = [
    { v: 1, text: '1' },
    { v: 0.5, text: '0.5' },
    { v: 0, text: '0' },
  ];
  // Colour-bar labels are ticks too: only those that fit (0 and 1 always).
  const shownLabels = barH >= 3.2 * fs ? barLabels : barLabels.filter((d) => d.v !== 0.5);
  select(layer(lEl, 'g', 'bar-labels'))
    .attr('transform', `translate(12,${barTop})`)
    .selectAll<SVGTextElement, (typeof barLabels)[number]>('text')
    .data(shownLabels)
    .join('text')
    .attr('class', 'tick-label')
    .attr('y', (d) => f1((1 - d.v) * barH + fs * 0.35))
    .attr('fill', 'currentColor')
    .text((d) => d.text);
  select(layer(lEl, 'text', 'bar-title'))
    .attr('y', barTop - Math.round(fs * 0.6))
    .attr('fill', 'currentColor')
    .text('p(class 1)');
  const acc = testAccuracy(task, model.map);
  select(layer(lEl, 'text', 'accuracy'))
    .attr('y', barTop + barH + rowH + Math.round(fs * 0.3))
    .attr('fill', 'currentColor')
    .text(acc === null ? '' : `test ${(acc * 100).toFixed(1)}%`)
    .selectAll('title')
    .data(acc === null ? [] : [0])
    .join('title')
    .text(
      `Accuracy of the free network over the ${Math.min(task.testY.length, model.map?.testPredictions.length ?? 0)} test samples (class 1 where p(class 1) > 0.5).`,
    );

  // The current sample.
  const s = model.sim.latest;
  const cur = select(layer(g, 'g', 'current'));
  if (s && s.x.length >= 2 && Number.isFinite(s.x[0]) && Number.isFinite(s.x[1])) {
    const cx = x(s.x[0]);
    const cy = y(s.x[1]);
    cur.attr('display', null).attr('transform', `translate(${f1(cx)},${f1(cy)})`);
    const ce = cur.node() as SVGGElement;
    select(layer(ce, 'circle', 'ring'))
      .attr('r', 7)
      .attr('fill', 'none')
      .attr('stroke', OKABE_ITO.black)
      .attr('stroke-width', 2.2 * sw);
    select(layer(ce, 'circle', 'halo'))
      .attr('r', 9.5)
      .attr('fill', 'none')
      .attr('stroke', 'white')
      .attr('stroke-width', 1.2);
    select(layer(ce, 'text', 'label'))
      .attr('x', 10)
      .attr('y', -8)
      .attr('fill', 'currentColor')
      .attr('font-weight', 600)
      .text('x');
  } else cur.attr('display', 'none');
}

/**
 * The test targets as they are now. TaskData is sent on reset only; the pattern task's test set
 * is its one training sample, whose target the user can drag or type, so that target is read
 * from the latest snapshot (the worker's copy in TaskData goes stale).
 */
export function liveTestTargets(task: TaskData, latest: SimView['latest']): Float32Array {
  if (task.task !== 'pattern' || !latest || latest.target.length !== task.k) return task.testY;
  const out = task.testY.slice();
  out.set(latest.target.subarray(0, Math.min(task.k, out.length)));
  return out;
}

/** Mean over the test samples of the loss of output 0, ½(y₀ − t₀)² (L(y⁰) itself for one
 *  output), and R² of y₀ against t₀. */
export function fitStats(pts: [number, number][]): { loss: number; r2: number } {
  const count = pts.length;
  if (!count) return { loss: NaN, r2: NaN };
  let se = 0;
  let mean = 0;
  for (const [t] of pts) mean += t / count;
  let vt = 0;
  for (const [t, p] of pts) {
    se += (p - t) ** 2;
    vt += (t - mean) ** 2;
  }
  return { loss: (0.5 * se) / count, r2: vt > 0 ? 1 - se / vt : NaN };
}

function drawFit(g: SVGGElement, task: TaskData, model: TaskModel, width: number, height: number) {
  const fs = fontSize();
  const M = margins(fs);
  const k = Math.max(1, task.k);
  const map = model.map;
  const s = model.sim.latest;
  const targets = liveTestTargets(task, s);
  const count = map ? Math.min(Math.floor(targets.length / k), map.testPredictions.length) : 0;
  const pts: [number, number][] = [];
  for (let q = 0; q < count; q++) pts.push([targets[q * k], map ? map.testPredictions[q] : NaN]);
  const finite = pts.flat().filter(Number.isFinite);
  let lo = finite.length ? Math.min(...finite) : -1;
  let hi = finite.length ? Math.max(...finite) : 1;
  const pad = Math.max(0.1, 0.08 * (hi - lo));
  lo -= pad;
  hi += pad;
  // Named as everywhere: L(y⁰) at the free equilibrium, and what each number averages.
  const { loss, r2 } = fitStats(pts);
  const lossName = k === 1 ? VOCABULARY.loss.symbol : '½(y₀ − t₀)²';
  const lossTitle =
    k === 1
      ? `Mean over the ${count} test sample${count === 1 ? '' : 's'} of ${VOCABULARY.loss.symbol}, ${VOCABULARY.loss.definition}`
      : `Mean over the ${count} test samples of ½(y₀ − t₀)², the loss of output 0 only (the other outputs are not plotted).`;
  const here = s?.metrics.loss ?? NaN;
  const full: { text: string; title?: string }[] = [
    { text: 'free output y₀' },
    { text: 'against target t₀' },
  ];
  if (!count) full.push({ text: 'waiting for predictions…' });
  else {
    full.push({ text: `mean ${lossName} over`, title: lossTitle });
    full.push({
      text: `${count} test sample${count > 1 ? 's' : ''}: ${fmt(loss)}`,
      title: lossTitle,
    });
    if (Number.isFinite(r2))
      full.push({ text: `R² ${r2.toFixed(3)}`, title: 'R² of y₀ against t₀ on the test samples.' });
  }
  if (Number.isFinite(here))
    full.push({
      text: `this sample: ${VOCABULARY.loss.symbol} ${fmt(here)}`,
      title: `${VOCABULARY.loss.symbol} of the current sample: ${VOCABULARY.loss.definition}`,
    });
  full.push({ text: '┆ current t₀' }, { text: '- - y = t' });
  // The info column is as wide as its longest line; where that would squeeze the plot to less
  // than half of what the height allows, the numbers alone (their names in the tooltips).
  const widthOf = (lines: { text: string }[]) =>
    Math.round(textWidth(Math.max(...lines.map((l) => l.text.length)), fs) * 0.85) + fs;
  const tall = height - M.top - M.bottom;
  const compact: { text: string; title?: string }[] = [
    ...(count ? [{ text: `mean ${lossName} ${fmt(loss)}`, title: lossTitle }] : []),
    ...(Number.isFinite(here)
      ? [
          {
            text: `this sample ${fmt(here)}`,
            title: `${VOCABULARY.loss.symbol} of the current sample: ${VOCABULARY.loss.definition}`,
          },
        ]
      : []),
  ];
  const info = width - M.left - M.right - widthOf(full) >= 0.5 * tall ? full : compact;
  const infoW = info.length ? widthOf(info) : 0;
  const side = Math.max(20, Math.min(width - M.left - M.right - infoW, tall));
  const x = scaleLinear()
    .domain([lo, hi])
    .range([M.left, M.left + side])
    .nice();
  const y = scaleLinear()
    .domain(x.domain())
    .range([M.top + side, M.top]);
  const [d0, d1] = x.domain();
  // The current sample's target (a dashed vertical line).
  const t0 = s ? s.target[0] : NaN;
  select(layer(g, 'path', 'current-target'))
    .attr(
      'd',
      Number.isFinite(t0) && t0 >= d0 && t0 <= d1 ? `M${f1(x(t0))},${M.top}V${M.top + side}` : '',
    )
    .attr('stroke', 'currentColor')
    .attr('stroke-width', strokeScale())
    .attr('stroke-dasharray', '2 2')
    .attr('fill', 'none');
  select(layer(g, 'rect', 'frame'))
    .attr('x', M.left)
    .attr('y', M.top)
    .attr('width', side)
    .attr('height', side)
    .attr('fill', 'none')
    .attr('stroke', '#999');
  select(layer(g, 'path', 'identity'))
    .attr('d', `M${f1(x(d0))},${f1(y(d0))}L${f1(x(d1))},${f1(y(d1))}`)
    .attr('stroke', '#777')
    .attr('stroke-dasharray', '4 3')
    .attr('fill', 'none');
  select(layer(g, 'g', 'points'))
    .selectAll<SVGCircleElement, [number, number]>('circle')
    .data(pts.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])))
    .join('circle')
    .attr('cx', (p) => f1(x(p[0])))
    .attr('cy', (p) => f1(y(p[1])))
    .attr('r', (pts.length > 300 ? 2 : 3) * Math.sqrt(strokeScale()))
    .attr('fill', ROLE.y)
    .attr('fill-opacity', 0.55)
    .attr('stroke', ROLE.y);
  squareAxes(g, x, y, {
    left: M.left,
    top: M.top,
    side,
    fs,
    xLabel: 'target t₀',
    yLabel: 'y₀',
    yLabelY: M.top - Math.round(fs * 0.35),
  });
  const rowH = Math.round(fs * 1.3);
  select(layer(g, 'g', 'info'))
    .attr('transform', `translate(${M.left + side + Math.round(fs)},${M.top + fs})`)
    .selectAll<SVGTextElement, (typeof info)[number]>('text')
    .data(info)
    .join('text')
    .attr('y', (_, q) => q * rowH)
    .attr('fill', 'currentColor')
    .each(function (d) {
      const first = this.firstChild;
      if (first && first.nodeType === Node.TEXT_NODE) first.textContent = d.text;
      else this.insertBefore(this.ownerDocument.createTextNode(d.text), first);
      // A tooltip only where there is a definition to give.
      select(this)
        .selectAll('title')
        .data(d.title ? [d.title] : [])
        .join('title')
        .text((t) => t);
    });
}

interface DigitCell {
  key: string;
  pixels: Float32Array;
  label: string;
  /** For narrow cells. */
  short: string;
  wrong: boolean;
  current: boolean;
}

function drawDigits(
  g: SVGGElement,
  task: TaskData,
  model: TaskModel,
  width: number,
  height: number,
): void {
  const img = task.image;
  if (!img) return;
  const size = img.rows * img.cols;
  const count = Math.min(MAX_DIGITS, Math.floor(task.testX.length / size));
  const map = model.map;
  const cells: DigitCell[] = [];
  const s = model.sim.latest;
  if (s && s.x.length === size) {
    const t = s.target.length > 1 ? s.target.indexOf(Math.max(...s.target)) : s.target[0];
    cells.push({
      key: 'current',
      pixels: s.x,
      label: `input (${t})`,
      short: `x (${t})`,
      wrong: false,
      current: true,
    });
  }
  let wrongCount = 0;
  for (let q = 0; q < count; q++) {
    const truth = task.testY[q];
    const pred = map && q < map.testPredictions.length ? Math.round(map.testPredictions[q]) : null;
    const wrong = pred !== null && pred !== truth;
    if (wrong) wrongCount++;
    cells.push({
      key: `t${q}`,
      pixels: task.testX.subarray(q * size, (q + 1) * size),
      label: pred === null ? `${truth}` : wrong ? `${pred} ✗ (${truth})` : `${pred} ✓`,
      short: pred === null ? `${truth}` : wrong ? `${pred}✗${truth}` : `${pred}✓`,
      wrong,
      current: false,
    });
  }
  const fs = fontSize();
  const infoH = Math.round(fs * 1.5);
  const labelH = Math.round(fs * 1.3);
  // Columns that make the biggest cells fit.
  let best = { cols: 1, cell: 0 };
  for (let cols = 1; cols <= cells.length; cols++) {
    const rows = Math.ceil(cells.length / cols);
    const cell = Math.min((width - 4) / cols - 6, (height - infoH) / rows - labelH - 6);
    if (cell > best.cell) best = { cols, cell };
  }
  const cell = Math.max(8, Math.floor(best.cell));
  const pitchX = cell + 6;
  const pitchY = cell + labelH + 6;
  const sc = cell / Math.max(img.rows, img.cols);
  const joined = select(g)
    .selectAll<SVGGElement, DigitCell>('g.digit')
    .data(cells, (d) => d.key)
    .join((enter) => {
      const e = enter.append('g').attr('class', 'digit');
      e.append('rect').attr('class', 'box');
      e.append('g').attr('class', 'ink');
      e.append('text').attr('class', 'label');
      return e;
    })
    .attr('transform', (_, q) => {
      const cx = 2 + (q % best.cols) * pitchX;
      const cy = infoH + Math.floor(q / best.cols) * pitchY;
      return `translate(${cx},${cy})`;
    });
  joined
    .select('rect.box')
    .attr('width', cell)
    .attr('height', cell)
    .attr('fill', 'white')
    .attr('stroke', (d) => (d.wrong ? OKABE_ITO.vermillion : d.current ? ROLE.phi : '#bbb'))
    .attr('stroke-width', (d) => (d.wrong || d.current ? 2.5 : 1));
  joined
    .select('text.label')
    .attr('x', cell / 2)
    .attr('y', cell + labelH - 2)
    .attr('text-anchor', 'middle')
    .attr('fill', (d) => (d.wrong ? OKABE_ITO.vermillion : 'currentColor'))
    .attr('font-weight', (d) => (d.wrong ? 700 : 400))
    .text((d) => (d.label.length * 0.6 * fs <= cell + 6 ? d.label : d.short))
    // A label never wider than its cell (narrow cells in lecture type): smaller type instead.
    .attr('font-size', (d) => {
      const text = d.label.length * 0.6 * fs <= cell + 6 ? d.label : d.short;
      return Math.max(6, Math.min(fs, Math.floor((cell + 4) / (0.62 * text.length))));
    });
  // Ink as a bitmap per digit (see digitImage.ts), drawn again only when its pixels change.
  joined.select<SVGGElement>('g.ink').each((d, q, nodes) => {
    const ink = nodes[q];
    const src = `${d.pixels.length}:${d.pixels[0]}:${d.pixels[size >> 1]}:${d.pixels[size - 1]}`;
    let image = ink.querySelector('image');
    if (!image) {
      image = ink.ownerDocument.createElementNS('http://www.w3.org/2000/svg', 'image');
      image.setAttribute('preserveAspectRatio', 'none');
      image.setAttribute('style', 'image-rendering: pixelated');
      ink.appendChild(image);
    }
    image.setAttribute('width', String(img.cols * sc));
    image.setAttribute('height', String(img.rows * sc));
    if (ink.getAttribute('data-src') === src) return;
    ink.setAttribute('data-src', src);
    image.setAttribute('href', digitDataUrl(d.pixels, img.cols, img.rows));
  });
  const acc = testAccuracy(task, map);
  select(layer(g, 'text', 'info'))
    .attr('x', 2)
    .attr('y', fs)
    .attr('fill', 'currentColor')
    .text(() => {
      if (!map) return 'waiting for predictions…';
      const long =
        `free network on ${count} test digits: ${wrongCount} wrong` +
        (acc !== null ? ` (${(acc * 100).toFixed(0)}% right)` : '');
      // Narrow views (lecture type) get the short form.
      return textWidth(long.length, fs) * 0.85 <= width - 4
        ? long
        : `${wrongCount} of ${count} test digits wrong`;
    });
}

/** The task view. */
/** Same numbers in two typed arrays (snapshots carry fresh copies every time). */
function sameValues(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return a === b;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function TaskView() {
  const hostRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);

  useEffect(() => {
    const host = hostRef.current;
    const svg = svgRef.current;
    if (!host || !svg) return;
    let width = 0;
    let height = 0;
    let frame = 0;
    let map: DecisionMap | null = null;
    let generation = simView.getState().generation;
    let taskRef: TaskData | null = simView.getState().task;
    const requests = keyedRequests<DecisionMap>(MAP_INTERVAL, (m) => {
      map = m;
      schedule();
    });
    const draw = () => {
      frame = 0;
      const sim = simView.getState();
      if (sim.generation !== generation || sim.task !== taskRef) {
        generation = sim.generation;
        taskRef = sim.task;
        map = null;
      }
      if (width <= 0 || height <= 0) return;
      requestMap();
      drawTask(svg, { sim, map }, width, height);
    };
    /** Ask the worker for the map of the current weights (throttled, keyed). */
    const requestMap = () => {
      const sim = simView.getState();
      if (width <= 0 || height <= 0 || !sim.task || taskMode(sim.task) === 'none') return;
      const size = mapSizeFor(sim.task);
      const training = sim.latest?.phase === 'training';
      const version = training
        ? `t${Math.floor(performance.now() / TRAINING_REFRESH_MS)}`
        : (sim.weights?.version ?? -1);
      const key = [sim.generation, version, sim.task.task, size].join('|');
      requests.want(key, () => engine().decisionMap(size));
    };
    const schedule = () => {
      if (!frame) frame = requestDraw(draw);
    };
    const measure = () => {
      const r = host.getBoundingClientRect();
      width = Math.floor(r.width);
      height = Math.floor(r.height);
      schedule();
    };
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(measure) : null;
    ro?.observe(host);
    window.addEventListener('resize', measure);
    const lecture = typeof MutationObserver === 'function' ? new MutationObserver(schedule) : null;
    lecture?.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    measure();
    let prev = simView.getState();
    const unsubscribe = simView.subscribe((state) => {
      // Redraw for a new sample (x) or new task data; new weights only make a new map due, and
      // the map's arrival redraws (so training at hundreds of updates/s costs no redraws).
      const changed =
        (state.latest?.x !== prev.latest?.x && !sameValues(state.latest?.x, prev.latest?.x)) ||
        (state.latest?.target !== prev.latest?.target &&
          !sameValues(state.latest?.target, prev.latest?.target)) ||
        state.task !== prev.task ||
        !Object.is(state.latest?.metrics.loss, prev.latest?.metrics.loss) ||
        state.generation !== prev.generation;
      const weightsChanged = state.weights !== prev.weights;
      prev = state;
      if (changed) schedule();
      else if (weightsChanged) requestMap();
    });
    return () => {
      unsubscribe();
      ro?.disconnect();
      lecture?.disconnect();
      window.removeEventListener('resize', measure);
      if (frame) cancelDraw(frame);
      requests.dispose();
    };
  }, []);

  return (
    <section
      data-testid="view-task"
      aria-label="Task: data and the free network's predictions"
      className="view-section"
      style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0 }}
    >
      <div
        ref={hostRef}
        className="view-body"
        style={{ flex: 1, minHeight: 0, position: 'relative', overflow: 'hidden' }}
      >
        <svg
          ref={svgRef}
          role="img"
          aria-label="Data points over the decision map, a fit plot or test digits with predictions"
          style={{ position: 'absolute', inset: 0 }}
        />
      </div>
    </section>
  );
}
