/**
 * The network diagram's options and the state each root keeps between drawings (caches keyed by
 * what they were drawn from, maxima for the rings, the hovered unit or edge, the edge job).
 */
import type { Activation, ControllerKind, Readout } from '../../engine/kinds';
import type { SimView } from '../../state/simView';
import type { Synapse } from '../../state/store';
import type { Snapshot } from '../../worker/protocol';
import type { Size } from './common';
import type { NetworkLayout, UnitNode } from './networkLayout';

export interface NetworkOptions extends Size {
  /** Clock (ms) for the ΔW flash's rate limit; default performance.now(). */
  now?: number;
  /** Skip the ΔW flash; default: prefers-reduced-motion. */
  reducedMotion?: boolean;
  /** Above this many edges, edges go to a canvas. Default CANVAS_THRESHOLD. */
  canvasThreshold?: number;
  /** Draw at most this many edges (the strongest, relative to their matrix). Default 6000. */
  maxEdges?: number;
  /**
   * `units`: the outputs are the last k hidden units (y ≡ φ_y, no D): each y is drawn as a dashed
   * copy of its unit instead of a readout. Default `separate`.
   */
  readout?: Readout;
  /** The hidden controller (linear feedback's rule has the slope ρ′(φ_post) in it). */
  controller?: ControllerKind;
  activation?: Activation;
  /** Samples per update (ΔW is their mean). Default 1. */
  batch?: number;
  /** The synapse W[post, pre] whose local rule is shown, or null. */
  synapse?: Synapse | null;
  /** A W edge was clicked (its synapse), or empty space (null). */
  onSynapse?: (synapse: Synapse | null) => void;
  /**
   * Run a step of a long drawing in a later frame (the view's frame queue). With it, canvas edges
   * of more than EDGE_CHUNK are drawn EDGE_CHUNK at a time on an offscreen canvas, rasterised step
   * by step, and shown together at the end; without it, all at once.
   */
  schedule?: (step: () => void) => void;
}

export interface NetworkState {
  generation: number;
  psiMax: number;
  uMax: number;
  layoutKey: string;
  layout: NetworkLayout | null;
  edgesKey: string;
  edgeCount: { shown: number; total: number };
  version: number | null;
  updateSignature: string;
  lastFlash: number;
  hovered: UnitNode | null;
  /** The edge (or W-edge click target) under the pointer: its tooltip follows new weights. */
  hoveredEdge: SVGPathElement | null;
  latest: Snapshot | null;
  lastEdges: number;
  timer: ReturnType<typeof setTimeout> | null;
  lastCall: { view: SimView; options: NetworkOptions } | null;
  onSynapse: ((synapse: Synapse | null) => void) | undefined;
  unitsKey: string;
  /** The canvas edges' drawing in progress (a new one cancels it) and its offscreen canvas. */
  edgeJob: number;
  offscreen: HTMLCanvasElement | null;
  units: {
    node: UnitNode;
    unit: SVGCircleElement;
    ring: SVGCircleElement;
    title: SVGTitleElement;
  }[];
}

const states = new WeakMap<HTMLElement, NetworkState>();

/** The state of `root`, created on its first drawing. */
export function stateOf(root: HTMLElement): NetworkState {
  let s = states.get(root);
  if (!s) {
    s = {
      generation: -1,
      psiMax: 0,
      uMax: 0,
      layoutKey: '',
      layout: null,
      edgesKey: '',
      edgeCount: { shown: 0, total: 0 },
      version: null,
      updateSignature: '',
      lastFlash: -Infinity,
      hovered: null,
      hoveredEdge: null,
      latest: null,
      lastEdges: -Infinity,
      timer: null,
      lastCall: null,
      onSynapse: undefined,
      unitsKey: '',
      edgeJob: 0,
      offscreen: null,
      units: [],
    };
    states.set(root, s);
  }
  return s;
}

/** The state of the root whose SVG holds `el`, if it was drawn (for event handlers). */
export function stateFor(el: Element): NetworkState | undefined {
  const root = el.closest('svg')?.parentElement;
  return root ? states.get(root) : undefined;
}
