import { useEffect, useRef } from 'react';
import { simView } from '../../state/simView';
import { useApp } from '../../state/store';
import type { Snapshot } from '../../worker/protocol';

/** A plain number for the status bar (tests read these as numbers); "—" when there is none. */
export function plainNumber(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-4 && a < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

const NARRATION: Record<string, string> = {
  idle: 'Nothing is running: press Space to let the network settle, C to switch the controller on.',
  free: 'Free dynamics: the network relaxes to its own equilibrium φ⁰; its output is the prediction.',
  controlled:
    'Controlled dynamics: the controller adds the least control ψ that drives the output to its target.',
  updating:
    'Learning: each weight moves by its postsynaptic control times its presynaptic rate, ΔW ∝ ψ* ρ(φ*)ᵀ.',
  training:
    'Training: many relax → control → update cycles; the control needed shrinks as the network learns.',
};

/**
 * The vocabulary, named once (the views and equations use the same names): each status number
 * with its definition, shown as its tooltip.
 */
export const TERMS = {
  loss: {
    label: 'L(y⁰)',
    title:
      'L(y⁰): the loss at the free equilibrium — the network’s own prediction y⁰ against the target t (mse: ½‖y⁰ − t‖²; cross-entropy: −log softmax(y⁰)ₜ).',
  },
  controlPsi: {
    label: '½‖ψ*‖²',
    title:
      '½‖ψ*‖²: half the squared norm of the least control ψ* that the hidden units need at the controlled equilibrium. Learning drives it to 0.',
  },
  controlU: {
    label: '½‖u*‖²',
    title:
      '½‖u*‖²: half the squared norm of the output control u* = k_i u_I − k_p ∂L/∂y at the controlled equilibrium.',
  },
  radius: {
    label: 'ρ(W diag ρ′)',
    title:
      'ρ(W diag ρ′(φ⁰)): the spectral radius of the recurrent weights scaled by the rates’ slopes at the free equilibrium. Below 1 the equilibrium is unique and attracting; at 1 or above it may be unstable or not unique, and the dynamics may not settle.',
  },
} as const;

const BATCH_NOTE = ' While training: the mean over the last batch.';

/**
 * Status bar: step, updates, phase, backend, L(y⁰), ½‖ψ*‖², ½‖u*‖², ρ(W diag ρ′). The numbers are
 * written straight into the DOM from the snapshot bus, so no React render happens per snapshot.
 */
export function StatusBar() {
  const backend = useApp((s) => s.backend);
  const backendReason = useApp((s) => s.backendReason);
  const narration = useApp((s) => s.narration);
  const root = useRef<HTMLElement>(null);

  useEffect(() => {
    const write = (s: Snapshot | null) => {
      const el = (field: string) =>
        root.current?.querySelector<HTMLElement>(`[data-field="${field}"]`) ?? null;
      const set = (field: string, text: string) => {
        const e = el(field);
        if (e && e.textContent !== text) e.textContent = text;
      };
      const m = s?.metrics;
      const batch = m?.scope === 'batch';
      set('step', String(s?.step ?? 0));
      set('updates', String(s?.updates ?? 0));
      set('phase', s?.phase ?? 'idle');
      set('loss', plainNumber(m?.loss ?? NaN));
      set('control', plainNumber(m?.controlPsi ?? NaN));
      set('controlU', plainNumber(m?.controlU ?? NaN));
      set('radius', plainNumber(m?.spectralRadius ?? NaN));
      set('scope', batch ? 'batch mean' : '');
      set('narration', NARRATION[s?.phase ?? 'idle']);
      const radius = el('radius')?.parentElement;
      radius?.classList.toggle('unstable', (m?.spectralRadius ?? 0) >= 1);
      for (const key of ['loss', 'controlPsi', 'controlU'] as const) {
        const holder = root.current?.querySelector<HTMLElement>(`[data-term="${key}"]`);
        if (holder) holder.title = TERMS[key].title + (batch ? BATCH_NOTE : '');
      }
    };
    write(simView.getState().latest);
    return simView.subscribe((v, prev) => {
      if (v.latest !== prev.latest) write(v.latest);
    });
  }, []);

  return (
    <footer className="status" aria-label="Status" ref={root}>
      <span>
        step{' '}
        <span data-testid="status-step" data-field="step">
          0
        </span>
      </span>
      <span>
        updates{' '}
        <span data-testid="status-updates" data-field="updates">
          0
        </span>
      </span>
      <span>
        phase{' '}
        <span data-testid="status-phase" data-field="phase">
          idle
        </span>
      </span>
      <span title={backendReason}>
        backend <span data-testid="status-backend">{backend}</span>
      </span>
      <span className="scope" data-field="scope" data-testid="status-scope" />
      <span data-term="loss" title={TERMS.loss.title}>
        {TERMS.loss.label}{' '}
        <span data-testid="status-loss" data-field="loss">
          —
        </span>
      </span>
      <span data-term="controlPsi" title={TERMS.controlPsi.title}>
        {TERMS.controlPsi.label}{' '}
        <span data-testid="status-control" data-field="control">
          —
        </span>
      </span>
      <span data-term="controlU" title={TERMS.controlU.title}>
        {TERMS.controlU.label}{' '}
        <span data-testid="status-control-u" data-field="controlU">
          —
        </span>
      </span>
      <span data-term="radius" title={TERMS.radius.title}>
        {TERMS.radius.label}{' '}
        <span data-testid="status-radius" data-field="radius">
          —
        </span>
      </span>
      <p
        className="narration"
        data-field="narration"
        hidden={!narration}
        aria-live={narration ? 'polite' : 'off'}
      />
    </footer>
  );
}
