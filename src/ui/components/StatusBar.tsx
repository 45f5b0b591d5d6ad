import { useEffect, useRef } from 'react';
import { simView } from '../../state/simView';
import { useApp } from '../../state/store';
import type { Snapshot } from '../../worker/protocol';

/** A plain number for the status bar (tests read these as numbers); "—" until measured. */
export function plainNumber(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-4 && a < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

/** ‖y − t‖ of the current state (for classification: of softmax(y) against the one-hot target). */
function outputError(s: Snapshot): number {
  let e = 0;
  if (s.k > 1 && s.target.every((v) => v === 0 || v === 1)) {
    const m = Math.max(...s.y);
    const z = s.y.reduce((a, v) => a + Math.exp(v - m), 0);
    s.y.forEach((v, i) => (e += (Math.exp(v - m) / z - s.target[i]) ** 2));
  } else s.y.forEach((v, i) => (e += (v - s.target[i]) ** 2));
  return Math.sqrt(e);
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
 * Status bar: step, phase, backend, loss, ½‖ψ*‖², spectral radius. The numbers are written
 * straight into the DOM from the snapshot bus, so no React render happens per snapshot.
 */
export function StatusBar() {
  const backend = useApp((s) => s.backend);
  const backendReason = useApp((s) => s.backendReason);
  const narration = useApp((s) => s.narration);
  const root = useRef<HTMLElement>(null);

  useEffect(() => {
    const write = (s: Snapshot | null) => {
      const set = (field: string, text: string) => {
        const el = root.current?.querySelector(`[data-field="${field}"]`);
        if (el && el.textContent !== text) el.textContent = text;
      };
      set('step', String(s?.step ?? 0));
      set('updates', String(s?.updates ?? 0));
      set('phase', s?.phase ?? 'idle');
      set('loss', plainNumber(s?.metrics.loss ?? NaN));
      set('control', plainNumber(s?.metrics.controlPsi ?? NaN));
      set('radius', plainNumber(s?.metrics.spectralRadius ?? NaN));
      set('error', plainNumber(s ? outputError(s) : NaN));
      set('narration', NARRATION[s?.phase ?? 'idle']);
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
      <span>
        loss{' '}
        <span data-testid="status-loss" data-field="loss">
          —
        </span>
      </span>
      <span>
        ½‖ψ*‖²{' '}
        <span data-testid="status-control" data-field="control">
          —
        </span>
      </span>
      <span title="Distance of the current output from its target">
        ‖y − t‖{' '}
        <span data-testid="status-error" data-field="error">
          —
        </span>
      </span>
      <span>
        ρ(W ρ′){' '}
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
