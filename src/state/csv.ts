/**
 * Traces and learning curves as CSV: one header line, one line per sample or update, numbers
 * written in full (JavaScript's shortest round-trip form), empty cells for values not measured.
 * A replayed run writes the same bytes as the run it replays.
 */
import type { LearningPoint, TraceSample } from '../worker/protocol';

/** A number as a cell: shortest exact form; NaN, ±∞ and absent values as empty cells. */
function cell(v: number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return Number.isFinite(v) ? String(v) : '';
}

function columns(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** The traces: step, t, then φ and ψ of the traced units, y, u and the target per output. */
export function tracesCsv(samples: readonly TraceSample[]): string {
  const first = samples[0];
  const units = first?.phi.length ?? 0;
  const k = first?.y.length ?? 0;
  const header = [
    'step',
    't',
    ...columns('phi', units),
    ...columns('psi', units),
    ...columns('y', k),
    ...columns('u', k),
    ...columns('target', k),
  ];
  const lines = [header.join(',')];
  for (const s of samples)
    lines.push([s.step, s.t, ...s.phi, ...s.psi, ...s.y, ...s.u, ...s.target].map(cell).join(','));
  return `${lines.join('\n')}\n`;
}

const LEARNING_COLUMNS = [
  'update',
  'epoch',
  'loss',
  'accuracy',
  'control',
  'cosine',
  'cosineReliable',
  'testLoss',
  'testAccuracy',
  'alignmentQ',
  'angleB',
] as const;

/** The learning curves: one line per update (the test columns only at an epoch's end). */
export function learningCsv(points: readonly LearningPoint[]): string {
  const lines = [LEARNING_COLUMNS.join(',')];
  for (const p of points) lines.push(LEARNING_COLUMNS.map((c) => cell(p[c])).join(','));
  return `${lines.join('\n')}\n`;
}
