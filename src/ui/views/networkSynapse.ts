/**
 * The local rule at a picked synapse W[post, pre] (DESIGN.md §1): its post-synaptic control times
 * its pre-synaptic rate beside the last update's entry, as numbers and as marks on the diagram.
 */
import { select } from 'd3';
import type { Activation, ControllerKind } from '../../engine/kinds';
import { slopeScalar } from '../../engine/scalarActivations';
import type { SimView } from '../../state/simView';
import type { Synapse } from '../../state/store';
import type { Matrix, Snapshot, WeightsSnapshot } from '../../worker/protocol';
import { ROLE } from '../theme';
import { fmt, halo, INK, layer } from './common';
import { edgePath, type Edge } from './networkEdgeModel';
import { sub, type NetworkLayout, type UnitNode } from './networkLayout';
import type { NetworkOptions } from './networkState';

/**
 * The synapse with the largest |ΔW[post, pre]| of the last update (`lastUpdate.W`, n×n row-major,
 * row = post-synaptic unit), self-connections and zeros left out (the diagram draws neither); null
 * without an update. A chapter's scene that asks for "the strongest synapse" resolves it with this.
 */
export function strongestSynapse(
  lastUpdateW: Matrix | null | undefined,
  n: number,
): Synapse | null {
  if (!lastUpdateW || lastUpdateW.rows !== n || lastUpdateW.cols !== n) return null;
  let best: Synapse | null = null;
  let size = 0;
  for (let post = 0; post < n; post++)
    for (let pre = 0; pre < n; pre++) {
      const a = Math.abs(lastUpdateW.data[post * n + pre]);
      if (post !== pre && Number.isFinite(a) && a > size) {
        size = a;
        best = { post, pre };
      }
    }
  return best;
}

/** The local rule at one synapse: the factors now and the last update's entry. */
export interface SynapseRule {
  post: number;
  pre: number;
  /** ψ_post and ρ_pre of the state shown; linear feedback also ρ′(φ_post). */
  psi: number;
  rate: number;
  slope: number | null;
  /** Their product: what ΔW[post, pre] is at this state (one sample, before the optimiser). */
  product: number;
  /** The last update's ΔW[post, pre] (before the optimiser), NaN without one. */
  delta: number;
  /** The rule's two lines of text. */
  lines: [string, string];
  /** ψ and ρ are those of the last update's controlled equilibrium (else the state shown). */
  atUpdate: boolean;
}

/**
 * The LCP rule at W[post, pre] (DESIGN.md §1): ΔW = ψ* ρ(φ*)ᵀ, so its entry is the post-synaptic
 * control times the pre-synaptic rate, ψ*_post · ρ(φ*_pre) — for linear feedback
 * ρ′(φ*_post) ψ*_post · ρ(φ*_pre). The update is the mean of this over the batch, before the
 * optimiser (SGD then adds the learning rate times it; Adam rescales it).
 */
export function synapseRule(
  latest: Snapshot | null,
  weights: WeightsSnapshot | null,
  synapse: Synapse,
  options: { controller?: ControllerKind; activation?: Activation; batch?: number } = {},
): SynapseRule | null {
  const { post, pre } = synapse;
  if (!latest || post < 0 || pre < 0 || post >= latest.n || pre >= latest.n) return null;
  // After an update, its own controlled equilibrium (so that the product is the update's entry);
  // before one, the state on screen.
  const origin = weights?.lastUpdateAt;
  const state = origin && origin.psi.length === latest.n ? origin : latest;
  const psi = state.psi[post];
  const rate = state.rate[pre];
  const lf = options.controller === 'linear-feedback';
  const slope = lf ? slopeScalar(options.activation ?? 'tanh', state.phi[post]) : null;
  const product = (slope ?? 1) * psi * rate;
  const W = weights?.lastUpdate?.W;
  const delta = W && W.rows === latest.n ? W.data[post * W.cols + pre] : NaN;
  const at = `W[${post},${pre}]`;
  const star = state === latest ? '' : '*';
  const factors = lf
    ? `ρ′(φ${star}${sub(post)}) ψ${star}${sub(post)} · ρ(φ${star}${sub(pre)}) = ${fmt(slope)} × ${fmt(psi)} × ${fmt(rate)}`
    : `ψ${star}${sub(post)} · ρ(φ${star}${sub(pre)}) = ${fmt(psi)} × ${fmt(rate)}`;
  const batch = options.batch ?? 1;
  const off = state === latest && !latest.control ? ' (control off: ψ = 0)' : '';
  const first = `Δ${at} ∝ ${factors} = ${fmt(product)}${off}`;
  const second = Number.isFinite(delta)
    ? `last update Δ${at} = ${fmt(delta)} (${batch > 1 ? `mean over ${batch} samples, the product is the first's; ` : 'at its φ*, '}before the learning rate)`
    : 'no update yet: press Learn';
  return {
    post,
    pre,
    psi,
    rate,
    slope,
    product,
    delta,
    lines: [first, second],
    atUpdate: star !== '',
  };
}

/**
 * The picked synapse (issue 11, chapter 5): its edge, its post-synaptic unit's control ψ_post and
 * its pre-synaptic unit's rate ρ_pre highlighted, and the rule's two lines in place of the caption.
 */
export function drawSynapse(
  svg: SVGSVGElement,
  layout: NetworkLayout,
  view: SimView,
  options: NetworkOptions,
  fs: number,
  sw: number,
  caption: SVGTextElement,
): void {
  const g = layer(svg, 'g', 'synapse');
  const syn = options.synapse ?? null;
  const hidden = (i: number) => layout.nodes.find((u) => u.kind === 'h' && u.index === i);
  const post = syn ? hidden(syn.post) : undefined;
  const pre = syn ? hidden(syn.pre) : undefined;
  const rule =
    syn && post && pre && syn.post !== syn.pre
      ? synapseRule(view.latest, view.weights, syn, options)
      : null;
  if (!rule || !post || !pre) {
    g.replaceChildren();
    g.setAttribute('display', 'none');
    caption.removeAttribute('display');
    return;
  }
  g.removeAttribute('display');
  // Marks only: clicks go through to the edges and units below.
  g.setAttribute('pointer-events', 'none');
  const w = view.weights?.params.W;
  const edge: Edge = {
    param: 'W',
    i: rule.post,
    j: rule.pre,
    w: w ? w.data[rule.post * w.cols + rule.pre] : 0,
    s: 1,
    from: pre,
    to: post,
  };
  select(layer(g, 'path', 'syn-edge'))
    .attr('d', edgePath(edge, layout))
    .attr('fill', 'none')
    .attr('stroke', ROLE.psi)
    .attr('stroke-width', 4 * sw)
    .attr('stroke-linecap', 'round')
    .attr('stroke-opacity', 0.85);
  const ring = (cls: string, node: UnitNode, color: string, dash: string | null) =>
    select(layer(g, 'circle', cls))
      .attr('cx', node.x)
      .attr('cy', node.y)
      .attr('r', node.r + 4 * sw)
      .attr('fill', 'none')
      .attr('stroke', color)
      .attr('stroke-width', 2.5 * sw)
      .attr('stroke-dasharray', dash);
  ring('syn-post', post, ROLE.psi, null);
  ring('syn-pre', pre, ROLE.phi, '4 2');
  // Labels beside the unit, away from the circle's centre (recurrent) or to the right (layered):
  // never above or below it, where the column names and the rule's lines are.
  const place = (node: UnitNode): [number, number, 'start' | 'end'] => {
    const left = layout.center ? node.x < layout.center.x - 1 : false;
    const off = node.r + 6 * sw;
    return [node.x + (left ? -off : off), node.y + fs * 0.35, left ? 'end' : 'start'];
  };
  const tag = (cls: string, node: UnitNode, text: string, color: string) => {
    const [x, y, anchor] = place(node);
    const el = select(layer(g, 'text', cls))
      .attr('x', x.toFixed(1))
      .attr('y', y.toFixed(1))
      .attr('text-anchor', anchor)
      .attr('font-size', fs)
      .attr('font-weight', 600)
      .attr('fill', color)
      .text(text)
      .node();
    if (el) halo(el);
  };
  const star = rule.atUpdate ? '*' : '';
  tag('syn-post-label', post, `ψ${star}${sub(rule.post)} = ${fmt(rule.psi)}`, ROLE.psi);
  tag('syn-pre-label', pre, `ρ(φ${star}${sub(rule.pre)}) = ${fmt(rule.rate)}`, ROLE.phi);
  // The rule in place of the caption (two lines at the bottom).
  caption.setAttribute('display', 'none');
  const height = Number(svg.getAttribute('height'));
  const text = select(layer(g, 'text', 'syn-rule'))
    .attr('x', 4)
    .attr('y', height - 4 - fs * 1.2)
    .attr('font-size', fs * 0.95)
    .attr('fill', INK);
  text
    .selectAll('tspan')
    .data(rule.lines)
    .join('tspan')
    .attr('x', 4)
    .attr('dy', (_, q) => (q ? fs * 1.2 : 0))
    .attr('font-weight', (_, q) => (q ? null : 600))
    .text((d) => d);
  const node = text.node();
  if (node) halo(node);
}
