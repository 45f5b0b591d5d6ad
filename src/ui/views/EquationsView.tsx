/**
 * Equations: the dynamics, the output controller, the hidden controller of the configured kind and
 * the update, typeset with KaTeX once per configuration; the live values of the symbols are small
 * text spans updated in place from the snapshot bus (no re-typesetting per frame).
 */
import { useCallback, useRef } from 'react';
import katex from 'katex';
import 'katex/dist/katex.min.css';
import type { TrainConfig } from '../../engine/config';
import { formatBytes, updateMemory } from '../../engine/memory';
import type { SimView } from '../../state/simView';
import { useApp } from '../../state/store';
import { ROLE } from '../theme';
import {
  fmt,
  fontSize,
  hostStyle,
  sectionStyle,
  cosineAtNoise,
  useLiveDraw,
  VOCABULARY,
  type Size,
} from './common';

export type EquationConfig = Pick<
  TrainConfig,
  'controller' | 'method' | 'alpha' | 'ki' | 'kp' | 'learnQ' | 'lambdaKP' | 'beta'
> & {
  /** Output units inside the network (y ≡ φ_y) or a separate readout; default separate. */
  readout?: TrainConfig['readout'];
};

export interface EquationsOptions extends Size {
  config: EquationConfig;
  /** The batch of an update (the memory line counts states per sample × batch); default 1. */
  batch?: number;
}

interface Block {
  key: string;
  title: string;
  tex: string;
  /** Dimmed while the controller is off. */
  control?: boolean;
}

const PSI = `\\textcolor{${ROLE.psi}}`;
const U = `\\textcolor{${ROLE.u}}`;
const psi = `${PSI}{\\psi}`;
const u = `${U}{u}`;

const CONTROLLER_NAME: Record<EquationConfig['controller'], string> = {
  'dynamic-inversion': 'dynamic inversion',
  'dynamic-inversion-kp': 'inversion, learned feedback',
  'linear-feedback': 'linear feedback',
  energy: 'energy-based',
};

/** A number in TeX (m × 10^e outside [1e-3, 1e4)). */
function texNumber(v: number): string {
  const text = fmt(v).replace(/−/g, '-');
  const [mant, exp] = text.split('e');
  if (exp === undefined) return mant;
  return `${mant === '1' ? '' : `${mant}\\times `}10^{${Number(exp)}}`;
}

/** The TeX of every block for a configuration (and the loss: cross-entropy if classification). */
export function equationBlocks(config: EquationConfig, classification: boolean): Block[] {
  // Output units inside the network (the poster's formulation): y is read off the last k
  // units, there is no D, d, and u reaches the network only through ψ (as Pᵀu).
  const units = config.readout === 'units';
  const blocks: Block[] = [
    {
      key: 'dynamics',
      title: 'dynamics',
      tex: units
        ? String.raw`\begin{aligned}\tau_\phi\dot\phi &= -\phi + W\rho(\phi) + Ux + b + ${psi}\\ y &\equiv \phi_y \quad\text{(the last $k$ units)}\end{aligned}`
        : String.raw`\begin{aligned}\tau_\phi\dot\phi &= -\phi + W\rho(\phi) + Ux + b + ${psi}\\ \tau_y\dot y &= -y + D\rho(\phi) + d + ${u}\end{aligned}`,
    },
    {
      key: 'output',
      title: 'output control',
      control: true,
      tex: String.raw`\begin{aligned}\tau_u\dot u_I &= -\partial_y L - \alpha\,u_I\\ ${u} &= k_i\,u_I - k_p\,\partial_y L\\ L &= ${
        classification
          ? String.raw`-\log \operatorname{softmax}(y)_c`
          : String.raw`\tfrac12\|y - y_{\text{target}}\|^2`
      }\end{aligned}`,
    },
  ];
  const kind = config.controller;
  let hidden: string;
  switch (kind) {
    case 'dynamic-inversion':
      hidden = units
        ? String.raw`\tau_\psi\dot{${psi}} = -${psi} + \rho'(\phi)\odot\big(W^\top ${psi}\big) + P^\top ${u}`
        : String.raw`\tau_\psi\dot{${psi}} = -${psi} + \rho'(\phi)\odot\big(W^\top ${psi} + D^\top ${u}\big)`;
      break;
    case 'dynamic-inversion-kp':
      hidden = String.raw`\begin{aligned}\tau_\psi\dot{${psi}} &= -${psi} + \rho'(\phi)\odot\big(B${psi} + F${u}\big)\\ \Delta B &\propto \rho(\phi^*)\,${psi}^{*\top},\quad \Delta F \propto \rho(\phi^*)\,${u}^{*\top}\\ &\text{decay } (1-\lambda_{KP}),\ \lambda_{KP} = ${texNumber(config.lambdaKP)}\end{aligned}`;
      break;
    case 'linear-feedback':
      hidden = config.learnQ
        ? String.raw`\begin{aligned}${psi} &= Q\,${u}\\ \Delta Q &\propto -\sigma^{-2}\textstyle\sum_t (Q${u} + \sigma\varepsilon)(${u} - ${u}^*)^\top\end{aligned}`
        : String.raw`${psi} = Q\,${u}`;
      break;
    case 'energy':
      hidden = String.raw`\begin{aligned}\min_{\phi,y} E_\alpha &= \tfrac12\|{-\phi} + W\rho(\phi) + Ux + b\|^2\\ &+ \tfrac12\|{-y} + D\rho(\phi) + d\|^2 + \tfrac1\alpha L(y)\\ ${psi}^* &= \phi - W\rho(\phi) - Ux - b\\ ${u}^* &= y - D\rho(\phi) - d\end{aligned}`;
      break;
  }
  blocks.push({ key: 'hidden', title: `ψ: ${CONTROLLER_NAME[kind]}`, tex: hidden, control: true });

  if (config.method === 'rbp') {
    blocks.push({
      key: 'update',
      title: 'RBP gradient',
      tex: String.raw`\begin{aligned}\delta &= \rho'(\phi^0)\odot\big(W^\top\delta + D^\top\partial_y L\big)\\ \Delta W &= -\delta\,\rho(\phi^0)^\top,\ \Delta U = -\delta\,x^\top,\ \Delta b = -\delta\\ \Delta D &= -\partial_y L\,\rho(\phi^0)^\top,\ \Delta d = -\partial_y L\end{aligned}`,
    });
  } else if (config.method === 'ep') {
    blocks.push({
      key: 'update',
      title: 'EP update (two phases)',
      tex: String.raw`\begin{aligned}\phi^\beta &:\ \text{settled from } \phi^0 \text{ with } ${u} = -\beta\,\partial_y L,\ ${psi} = D^\top ${u},\ \beta = ${texNumber(config.beta)}\\ \Delta W &= \tfrac1\beta\big(\rho(\phi^\beta) - \rho(\phi^0)\big)\rho(\phi^0)^\top,\ \Delta U = \tfrac1\beta\big(\rho(\phi^\beta) - \rho(\phi^0)\big)x^\top\\ \Delta D &= -\partial_y L\,\rho(\phi^0)^\top,\ \Delta d = -\partial_y L\quad(\to -\nabla L \text{ as } \beta \to 0 \text{ if } W = W^\top)\end{aligned}`,
    });
  } else {
    const h = kind === 'linear-feedback' ? String.raw`\delta` : `${psi}^*`;
    const lines = [
      String.raw`\Delta W &= ${h}\,\rho(\phi^*)^\top,\ \Delta U = ${h}\,x^\top,\ \Delta b = ${h}`,
    ];
    if (!units) lines.push(String.raw`\Delta D &= ${u}^*\rho(\phi^*)^\top,\ \Delta d = ${u}^*`);
    if (kind === 'linear-feedback') lines.push(String.raw`\delta &= \rho'(\phi^*)\odot${psi}^*`);
    else if (units)
      lines.push(
        String.raw`&\text{least control: } \min \tfrac12\|${psi}\|^2 \text{ s.t. } \phi_y^* = y_{\text{target}}\ (\alpha \to 0)`,
      );
    else
      lines.push(
        String.raw`&${kind === 'dynamic-inversion-kp' ? String.raw`\approx` : '='} -\nabla_\theta \Big(\tfrac12\|${psi}^*\|^2 + \tfrac12\|${u}^*\|^2 + \tfrac1\alpha L(y^*)\Big)`,
      );
    blocks.push({
      key: 'update',
      title: 'LCP update',
      tex: String.raw`\begin{aligned}${lines.join('\\\\ ')}\end{aligned}`,
    });
  }
  return blocks;
}

/** The live symbols: TeX label, how to read the value, and its definition (tooltip). */
interface Live {
  key: string;
  tex: string;
  value: (view: SimView, config: EquationConfig) => number;
  title: string;
  /** The value exists but means nothing now (shown greyed, "not meaningful"). */
  muted?: (view: SimView) => boolean;
}

const half = (a: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return 0.5 * s;
};

export const LIVE: Live[] = [
  {
    key: 'alpha',
    tex: String.raw`\alpha`,
    value: (_, c) => c.alpha,
    title: 'α: the output controller’s leak; small α pins the output to its target.',
  },
  {
    key: 'ki',
    tex: 'k_i',
    value: (_, c) => c.ki,
    title: 'k_i: integral gain of the output controller.',
  },
  {
    key: 'kp',
    tex: 'k_p',
    value: (_, c) => c.kp,
    title: 'k_p: proportional gain of the output controller.',
  },
  {
    key: 't',
    tex: 't',
    value: (v) => v.latest?.t ?? NaN,
    title: 't: simulated time (units of τ).',
  },
  {
    key: 'psi',
    tex: String.raw`\tfrac12\|${psi}\|^2`,
    value: (v) => (v.latest ? half(v.latest.psi) : NaN),
    title: '½‖ψ‖²: the control on the hidden units now (not yet settled: no star).',
  },
  {
    key: 'u',
    tex: String.raw`\tfrac12\|${u}\|^2`,
    value: (v) => (v.latest ? half(v.latest.u) : NaN),
    title: '½‖u‖²: the output control now (not yet settled: no star).',
  },
  {
    key: 'loss',
    tex: 'L(y^0)',
    value: (v) => v.latest?.metrics.loss ?? NaN,
    title: `L(y⁰) of the current sample: ${VOCABULARY.loss.definition}`,
  },
  {
    key: 'psiStar',
    tex: String.raw`\tfrac12\|${psi}^*\|^2`,
    value: (v) => v.latest?.metrics.controlPsi ?? NaN,
    title: VOCABULARY.psi.definition,
  },
  {
    key: 'uStar',
    tex: String.raw`\tfrac12\|${u}^*\|^2`,
    value: (v) => v.latest?.metrics.controlU ?? NaN,
    title: VOCABULARY.u.definition,
  },
  {
    key: 'cosine',
    tex: String.raw`\cos(\Delta\theta, -\nabla L)`,
    value: (v) => v.latest?.metrics.cosine ?? NaN,
    title: VOCABULARY.cosine.definition,
    muted: (v) => cosineAtNoise(v),
  },
];

function typeset(el: HTMLElement, tex: string, displayMode: boolean): void {
  katex.render(tex, el, { displayMode, throwOnError: false, output: 'htmlAndMathml' });
  // Compact, left-aligned display math (KaTeX's default is centred with 1em margins).
  for (const d of Array.from(el.querySelectorAll<HTMLElement>('.katex-display'))) {
    d.style.margin = '0.1em 0';
    d.style.textAlign = 'left';
    const inner = d.querySelector<HTMLElement>(':scope > .katex');
    if (inner) inner.style.textAlign = 'left';
  }
}

function div(parent: Element, cls: string, tag: 'div' | 'span' = 'div'): HTMLElement {
  const el = parent.ownerDocument.createElement(tag);
  el.className = cls;
  parent.appendChild(el);
  return el;
}

/** Typeset the equations into `container` when the configuration changed, then update the live
 *  values (text only) from `view`. */
export function drawEquations(
  container: HTMLElement,
  view: SimView,
  options: EquationsOptions,
): void {
  const { config, width, height } = options;
  const classification = view.task?.classification ?? false;
  const key = [
    config.controller,
    config.method,
    config.learnQ,
    config.lambdaKP,
    config.beta,
    config.readout,
    classification,
  ].join('|');
  const retypeset = container.dataset.eqKey !== key;
  if (retypeset) {
    container.dataset.eqKey = key;
    container.replaceChildren();
    container.style.overflow = 'auto';
    container.style.padding = '0.3em 0.6em';
    container.style.boxSizing = 'border-box';
    const values = div(container, 'eq-values');
    values.style.cssText =
      'display:flex;flex-wrap:wrap;gap:0.2em 1.1em;margin-bottom:0.3em;font-variant-numeric:tabular-nums';
    for (const live of LIVE) {
      const item = div(values, 'eq-live', 'span');
      item.dataset.symbol = live.key;
      item.title = live.title;
      typeset(div(item, 'eq-sym', 'span'), live.tex, false);
      item.append(' = ');
      const v = div(item, 'eq-value', 'span');
      v.textContent = '—';
    }
    const grid = div(container, 'eq-blocks');
    grid.style.cssText =
      'display:grid;grid-template-columns:auto 1fr;gap:0.15em 0.8em;align-items:center';
    for (const block of equationBlocks(config, classification)) {
      const title = div(grid, `eq-title eq-title-${block.key}`);
      title.textContent = block.title;
      title.style.cssText = 'font-size:0.85em;opacity:0.8;max-width:8em';
      const body = div(grid, `eq-block eq-${block.key}`);
      body.style.minWidth = '0';
      if (block.control) {
        title.dataset.control = '1';
        body.dataset.control = '1';
      }
      typeset(body, block.tex, true);
    }
    const memory = div(container, 'eq-memory');
    memory.style.cssText = 'margin-top:0.4em;font-size:0.85em;font-variant-numeric:tabular-nums';
    memory.title =
      'Bytes of state each method keeps to compute one update of this network (float32, × batch; the weights, the same for all, not counted): ' +
      'LCP one controlled equilibrium φ*, y* and the control ψ*, u*, u_I*; RBP one free equilibrium and its adjoint δ; ' +
      'backprop through time the T states of the free solve (T = the steps the last one took).';
  }
  drawMemory(container, view, options);
  // Type scales with the view (KaTeX sizes itself in em), then shrinks until it fits (measured
  // only when the equations or the size changed; jsdom has no layout and skips this).
  const fit = `${key}|${width}x${height}|${fontSize()}`;
  if (container.dataset.eqFit !== fit) {
    container.dataset.eqFit = fit;
    let size = Math.max(8, Math.min(24, (Math.min(width / 36, height / 19) * fontSize()) / 10));
    container.style.fontSize = `${size.toFixed(1)}px`;
    for (let i = 0; i < 4 && container.clientHeight > 0; i++) {
      const ratio = Math.min(
        container.clientHeight / container.scrollHeight,
        container.clientWidth / container.scrollWidth,
      );
      if (ratio >= 0.99 || size <= 8) break;
      size = Math.max(8, size * Math.max(0.7, ratio * 0.98));
      container.style.fontSize = `${size.toFixed(1)}px`;
    }
  }
  // Live values: text of small spans only.
  for (const live of LIVE) {
    const el = container.querySelector<HTMLElement>(
      `.eq-live[data-symbol="${live.key}"] .eq-value`,
    );
    if (!el) continue;
    const muted = live.muted?.(view) ?? false;
    const value = live.value(view, config);
    const text = muted && Number.isFinite(value) ? `${fmt(value)} (not meaningful)` : fmt(value);
    if (el.textContent !== text) el.textContent = text;
    const opacity = muted ? FADED : '';
    if (el.style.opacity !== opacity) el.style.opacity = opacity;
  }
  // The controller's equations fade while control is off (titles stay: they must stay legible).
  const on = view.latest?.control ?? false;
  for (const el of Array.from(container.querySelectorAll<HTMLElement>('[data-control="1"]'))) {
    if (el.classList.contains('eq-title')) continue;
    const opacity = on ? '' : FADED;
    if (el.style.opacity !== opacity) el.style.opacity = opacity;
  }
}

/**
 * The opacity of faded text (a value at float noise, the controller's equations while control is
 * off): 0.62 keeps it above a 4.5:1 contrast on the panel (0.55, which the muted values had, gave
 * about 3.9:1, an axe violation whenever the cosine was at noise).
 */
const FADED = '0.62';

/** The memory line: bytes per update for LCP, RBP and BPTT (engine/memory.ts), as text. */
function drawMemory(container: HTMLElement, view: SimView, options: EquationsOptions): void {
  const el = container.querySelector<HTMLElement>('.eq-memory');
  const s = view.latest;
  if (!el) return;
  const batch = options.batch ?? 1;
  const m = s ? updateMemory({ n: s.n, k: s.k, batch, steps: s.metrics.freeSteps }) : null;
  const T = s && Number.isFinite(s.metrics.freeSteps) ? String(s.metrics.freeSteps) : '?';
  const text = m
    ? `Memory per update (batch ${batch}): LCP ${formatBytes(m.lcp)} · RBP ${formatBytes(m.rbp)} · EP ${formatBytes(m.ep)} · backprop through time (T = ${T} steps) ${formatBytes(m.bptt)}`
    : 'Memory per update: —';
  if (el.textContent !== text) el.textContent = text;
}

/** The equations view: typeset per configuration, live values from the snapshot bus. */
export function EquationsView() {
  const host = useRef<HTMLDivElement>(null);
  const controller = useApp((s) => s.config.controller);
  const method = useApp((s) => s.config.method);
  const alpha = useApp((s) => s.config.alpha);
  const ki = useApp((s) => s.config.ki);
  const kp = useApp((s) => s.config.kp);
  const learnQ = useApp((s) => s.config.learnQ);
  const lambdaKP = useApp((s) => s.config.lambdaKP);
  const beta = useApp((s) => s.config.beta);
  const readout = useApp((s) => s.config.readout);
  const batch = useApp((s) => s.config.batch);
  const draw = useCallback(
    (el: HTMLDivElement, view: SimView, size: Size) =>
      drawEquations(el, view, {
        ...size,
        batch,
        config: { controller, method, alpha, ki, kp, learnQ, lambdaKP, beta, readout },
      }),
    [controller, method, alpha, ki, kp, learnQ, lambdaKP, beta, readout, batch],
  );
  // Live values as text: ten updates a second are readable and keep KaTeX's layout cheap.
  useLiveDraw(host, draw, 100);
  return (
    <section
      data-testid="view-equations"
      aria-label="Equations of the dynamics, the controllers and the learning rule, with live values"
      className="view view-equations"
      style={sectionStyle}
    >
      {/* Focusable: its content can outgrow the cell, and a scrolled region must be reachable
          by keyboard. */}
      <div
        ref={host}
        style={hostStyle}
        tabIndex={0}
        role="region"
        aria-label="Equations and live values (scrolls)"
      />
    </section>
  );
}
