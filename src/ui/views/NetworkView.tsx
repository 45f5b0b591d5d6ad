/**
 * The network view: a thin React shell around networkDraw, redrawn from the snapshot bus. A click
 * on a W edge picks that synapse (the store's `synapse`, which a chapter's scene can set too);
 * Escape or a click on empty space clears it.
 */
import { useCallback, useEffect, useRef } from 'react';
import type { SimView } from '../../state/simView';
import { useApp, type Synapse } from '../../state/store';
import { hostStyle, sectionStyle, useLiveDraw, type Size } from './common';
import { requestDraw } from './frameBudget';
import { drawNetwork } from './networkDraw';

export { CANVAS_BUCKETS, EDGE_CHUNK } from './networkCanvasEdges';
export { CANVAS_THRESHOLD, drawNetwork } from './networkDraw';
export { largestUpdates, MAX_EDGES, networkEdgeSteps } from './networkEdgeModel';
export { FLASH_INTERVAL } from './networkFlash';
export { networkLayout } from './networkLayout';
export type { NetworkOptions } from './networkState';
export { MAX_HIT_EDGES } from './networkSvgEdges';
export { strongestSynapse, synapseRule } from './networkSynapse';
export { unitText } from './networkUnits';

const pick = (synapse: Synapse | null) => useApp.setState({ synapse });
/** Thousands of canvas edges are drawn a chunk a frame, through the views' frame queue. */
const schedule = (step: () => void) => void requestDraw(step);

/** The network view, redrawn from the snapshot bus. */
export function NetworkView() {
  const host = useRef<HTMLDivElement>(null);
  const synapse = useApp((s) => s.synapse);
  const draw = useCallback(
    (el: HTMLDivElement, view: SimView, size: Size) => {
      const { config } = useApp.getState();
      drawNetwork(el, view, {
        ...size,
        readout: config.readout,
        controller: config.controller,
        activation: config.activation,
        batch: config.batch,
        synapse,
        onSynapse: pick,
        schedule,
      });
    },
    [synapse],
  );
  useLiveDraw(host, draw, 33);
  useEffect(() => {
    if (!synapse) return;
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === 'Escape') pick(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [synapse]);
  return (
    <section
      data-testid="view-network"
      aria-label="Network diagram: units filled by their rate, rings for the control, edges by weight"
      className="view view-network"
      style={sectionStyle}
    >
      <div ref={host} style={hostStyle} />
    </section>
  );
}
