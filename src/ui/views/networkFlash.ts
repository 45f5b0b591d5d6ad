/**
 * The network diagram's ΔW flash: when new weights carry a new update, its largest entries flash
 * on their edges and fade (at most every FLASH_INTERVAL ms, not while training or with reduced
 * motion).
 */
import { select } from 'd3';
import type { SimView } from '../../state/simView';
import type { Matrix, ParamKey } from '../../worker/protocol';
import { reducedMotion as prefersReducedMotion, ROLE } from '../theme';
import { layer } from './common';
import { edgeKey, edgePath, largestUpdates, type Edge } from './networkEdgeModel';
import type { NetworkLayout } from './networkLayout';
import type { NetworkState } from './networkState';

/** At most one ΔW flash per this many ms. */
export const FLASH_INTERVAL = 500;

/** A cheap fingerprint of an update: a new weights version may carry the same one. */
function signature(update: Partial<Record<ParamKey, Matrix>> | null): string {
  if (!update) return '';
  return (['W', 'U', 'D', 'b', 'd'] as const)
    .map((p) => {
      const a = update[p]?.data;
      if (!a) return '-';
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < a.length; i++) {
        s1 += a[i] * ((i % 7) + 1);
        s2 += a[i] * a[i];
      }
      return `${s1}:${s2}`;
    })
    .join('|');
}

/** Flash the largest entries of the last update of `view` if it is new (the `flash` layer). */
export function drawFlash(
  svg: SVGSVGElement,
  root: HTMLElement,
  st: NetworkState,
  view: SimView,
  layout: NetworkLayout,
  { now, sw, reducedMotion }: { now: number; sw: number; reducedMotion: boolean | undefined },
): void {
  const weights = view.weights;
  const flashLayer = layer(svg, 'g', 'flash');
  if (weights && weights.version !== st.version) {
    const first = st.version === null;
    st.version = weights.version;
    const sig = signature(weights.lastUpdate);
    const changed = sig !== st.updateSignature;
    st.updateSignature = sig;
    const reduced = reducedMotion ?? prefersReducedMotion();
    // While training, updates come by the hundred: a flash would only keep the screen (and a
    // software GPU) busy, and says nothing about any one update.
    const training = view.latest?.phase === 'training';
    if (
      !first &&
      changed &&
      weights.lastUpdate &&
      !reduced &&
      !training &&
      now - st.lastFlash >= FLASH_INTERVAL
    ) {
      st.lastFlash = now;
      root.dataset.flashes = String(Number(root.dataset.flashes ?? 0) + 1);
      const count = Math.max(3, Math.min(24, Math.round(0.03 * st.edgeCount.total)));
      const top = largestUpdates(weights, layout, count);
      const paths = select(flashLayer)
        .selectAll<SVGPathElement, Edge>('path.flash-edge')
        .data(top, edgeKey)
        .join('path')
        .attr('class', 'flash-edge')
        .attr('fill', 'none')
        .attr('stroke', ROLE.psi)
        .attr('stroke-linecap', 'round')
        .attr('stroke-width', 3 * sw)
        .attr('d', (e) => edgePath(e, layout))
        .attr('opacity', 1);
      paths.each(function () {
        if (typeof this.animate === 'function')
          this.animate([{ opacity: 1 }, { opacity: 0 }], {
            duration: 900,
            easing: 'ease-in',
            fill: 'forwards',
          });
      });
    }
  }
  if (st.version === null) flashLayer.replaceChildren();
}
