/**
 * The network diagram's units: inputs x, hidden units filled by ρ(φ) with a ring for the control
 * ψ, outputs y with a ring for u and a bar against the target; with readout `units`, each y joined
 * to the hidden unit it is.
 */
import { select } from 'd3';
import type { Readout } from '../../engine/kinds';
import type { Snapshot } from '../../worker/protocol';
import { ROLE, signedColor } from '../theme';
import { absMax, fmt, INK, layer, setAttr } from './common';
import { sub, type NetworkLayout, type UnitNode } from './networkLayout';
import type { NetworkState } from './networkState';

/** What hovering a unit shows. */
export function unitText(latest: Snapshot | null, node: UnitNode, layered = false): string {
  const v = (a: Float32Array | null | undefined, i: number) => fmt(a ? a[i] : NaN);
  const i = node.index;
  if (node.kind === 'x') return `input x${sub(i)} = ${v(latest?.x, i)}`;
  if (node.kind === 'y') {
    return [
      `output y${sub(i)} = ${v(latest?.y, i)}`,
      `target = ${v(latest?.target, i)}`,
      `u${sub(i)} = ${v(latest?.u, i)}`,
    ].join('\n');
  }
  return [
    `hidden unit ${i}${layered ? ` (block h${sub(node.block + 1)})` : ''}`,
    `φ = ${v(latest?.phi, i)}`,
    `ρ(φ) = ${v(latest?.rate, i)}`,
    `ψ = ${v(latest?.psi, i)}`,
    `φ⁰ (free) = ${v(latest?.freePhi, i)}`,
  ].join('\n');
}

const nodeKey = (d: UnitNode) => `${d.kind}${d.index}`;
/** The colour limit of the outputs: their largest |y| or |target|, at least 1. */
const outputLimit = (latest: Snapshot | null) =>
  Math.max(1, latest ? Math.max(absMax(latest.y), absMax(latest.target)) : 1);

/**
 * The units of `layout` in the `units` layer of `svg`, filled and ringed by the state `latest`;
 * their elements are rebuilt only when `unitsKey` (the layout and the stroke scale) changes.
 */
export function drawUnits(
  svg: SVGSVGElement,
  st: NetworkState,
  layout: NetworkLayout,
  unitsKey: string,
  latest: Snapshot | null,
  sw: number,
): void {
  // Units: fill by value, rings for ψ (hidden) and u (outputs); redrawn every snapshot.
  const psiNow = latest ? absMax(latest.psi) : 0;
  const uNow = latest ? absMax(latest.u) : 0;
  st.psiMax = Math.max(st.psiMax, psiNow);
  st.uMax = Math.max(st.uMax, uNow);
  const rateLim = Math.max(1, latest ? absMax(latest.rate) : 1);
  const xLim = Math.max(1, latest ? absMax(latest.x) : 1);
  const yLim = outputLimit(latest);
  const valueOf = (node: UnitNode): number => {
    if (!latest) return NaN;
    if (node.kind === 'x') return latest.x[node.index];
    if (node.kind === 'y') return latest.y[node.index];
    return latest.rate[node.index];
  };
  const fill = (node: UnitNode) => {
    const v = valueOf(node);
    if (!Number.isFinite(v)) return 'transparent';
    return signedColor(v, node.kind === 'x' ? xLim : node.kind === 'y' ? yLim : rateLim);
  };
  const ring = (node: UnitNode): { w: number; v: number } => {
    if (!latest || node.kind === 'x') return { w: 0, v: 0 };
    const v = node.kind === 'h' ? latest.psi[node.index] : latest.u[node.index];
    const scale = node.kind === 'h' ? st.psiMax : st.uMax;
    const maxW = Math.max(1.5, node.r * 0.6);
    return { w: scale > 0 && Number.isFinite(v) ? maxW * Math.min(1, Math.abs(v) / scale) : 0, v };
  };
  // The unit elements are (re)built only when the layout changes; every snapshot then only sets
  // the attributes whose values changed.
  const unitLayer = layer(svg, 'g', 'units');
  if (st.unitsKey !== unitsKey || unitLayer.childElementCount !== layout.nodes.length) {
    st.unitsKey = unitsKey;
    st.units = [];
    const units = st.units;
    select(unitLayer)
      .selectAll<SVGGElement, UnitNode>('g.node')
      .data(layout.nodes, nodeKey)
      .join((enter) => {
        const g = enter.append('g').attr('class', (d) => `node node-${d.kind}`);
        g.append('circle').attr('class', 'ring').attr('fill', 'none');
        g.append('circle').attr('class', 'unit');
        g.append('title');
        return g;
      })
      .attr('transform', (d) => `translate(${d.x},${d.y})`)
      .on('mouseenter', function (_event, d) {
        st.hovered = d;
        select(this)
          .select('title')
          .text(unitText(st.latest, d, layout.layered));
      })
      .on('mouseleave', () => {
        st.hovered = null;
      })
      .each(function (d) {
        const g = select(this);
        g.select('circle.unit')
          .attr('r', d.r)
          .attr('stroke', d.kind === 'y' ? ROLE.y : INK)
          .attr('stroke-opacity', d.kind === 'y' ? 1 : 0.6)
          .attr('stroke-width', (d.r > 3 ? 0.8 : 0.3) * sw);
        g.select('circle.ring').attr('stroke', d.kind === 'h' ? ROLE.psi : ROLE.u);
        g.select('title').text(unitText(null, d, layout.layered).split('\n')[0]);
        units.push({
          node: d,
          unit: g.select<SVGCircleElement>('circle.unit').node()!,
          ring: g.select<SVGCircleElement>('circle.ring').node()!,
          title: g.select<SVGTitleElement>('title').node()!,
        });
      });
  }
  for (const { node, unit, ring: ringEl } of st.units) {
    setAttr(unit, 'fill', fill(node));
    if (node.kind === 'x') continue;
    const { w, v } = ring(node);
    const visible = w >= 0.2;
    setAttr(ringEl, 'visibility', visible ? 'visible' : 'hidden');
    if (!visible) continue;
    setAttr(ringEl, 'r', (node.r + w / 2 + 0.6).toFixed(1));
    setAttr(ringEl, 'stroke-width', w.toFixed(1));
    setAttr(
      ringEl,
      'stroke-dasharray',
      v < 0
        ? `${Math.max(1, node.r * 0.5).toFixed(1)} ${Math.max(1, node.r * 0.35).toFixed(1)}`
        : null,
    );
  }
  const hovered = st.hovered;
  const hoveredUnit = hovered
    ? st.units.find((e) => e.node.kind === hovered.kind && e.node.index === hovered.index)
    : undefined;
  if (hovered && hoveredUnit)
    hoveredUnit.title.textContent = unitText(latest, hovered, layout.layered);
}

/** The outputs' bars (in the right gutter) and, with readout `units`, their dashed copies. */
export function drawOutputs(
  svg: SVGSVGElement,
  layout: NetworkLayout,
  latest: Snapshot | null,
  { width, sw, readout }: { width: number; sw: number; readout: Readout | undefined },
): void {
  const yLim = outputLimit(latest);
  // Output bars: y (bar) against the target (tick), in the right gutter.
  const outputs = layout.nodes.filter((d) => d.kind === 'y');
  select(layer(svg, 'g', 'bars'))
    .selectAll<SVGGElement, UnitNode>('g.bar')
    .data(outputs, nodeKey)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'bar');
      g.append('line').attr('class', 'track');
      g.append('rect').attr('class', 'value');
      g.append('line').attr('class', 'target');
      return g;
    })
    .each(function (d) {
      const x0 = d.x + d.r + 6;
      const x1 = width - 6;
      const half = (x1 - x0) / 2;
      const g = select(this).attr('visibility', half >= 8 ? 'visible' : 'hidden');
      const mid = x0 + half;
      const sx = (v: number) => mid + (half * Math.max(-yLim, Math.min(yLim, v))) / yLim;
      const yv = latest ? latest.y[d.index] : NaN;
      const tv = latest ? latest.target[d.index] : NaN;
      const h = Math.max(2, Math.min(8, d.r * 1.2));
      g.select('line.track')
        .attr('x1', x0)
        .attr('x2', x1)
        .attr('y1', d.y)
        .attr('y2', d.y)
        .attr('stroke', INK)
        .attr('stroke-opacity', 0.25);
      const yOk = Number.isFinite(yv);
      g.select('rect.value')
        .attr('x', yOk ? Math.min(mid, sx(yv)) : mid)
        .attr('width', yOk ? Math.abs(sx(yv) - mid) : 0)
        .attr('y', d.y - h / 2)
        .attr('height', h)
        .attr('fill', ROLE.y);
      g.select('line.target')
        .attr('x1', Number.isFinite(tv) ? sx(tv) : mid)
        .attr('x2', Number.isFinite(tv) ? sx(tv) : mid)
        .attr('y1', d.y - h / 2 - 3)
        .attr('y2', d.y + h / 2 + 3)
        .attr('stroke', INK)
        .attr('stroke-width', 2 * sw)
        .attr('visibility', Number.isFinite(tv) ? 'visible' : 'hidden');
    });

  // Readout `units`: y is the last k units themselves, joined to its copy by a dashed line.
  const copies =
    readout === 'units'
      ? outputs.flatMap((y) => {
          const hidden = layout.nodes.filter((u) => u.kind === 'h');
          const unit = hidden.find((h) => h.index === hidden.length - outputs.length + y.index);
          return unit ? [{ unit, y }] : [];
        })
      : [];
  select(layer(svg, 'g', 'copies'))
    .selectAll('line')
    .data(copies)
    .join('line')
    .attr('x1', (c) => c.unit.x)
    .attr('y1', (c) => c.unit.y)
    .attr('x2', (c) => c.y.x)
    .attr('y2', (c) => c.y.y)
    .attr('stroke', ROLE.y)
    .attr('stroke-width', 1.5 * sw)
    .attr('stroke-dasharray', '4 3')
    .append('title')
    .text('y ≡ φ_y: this output is the unit itself (readout "units"), no readout weights D');
}
