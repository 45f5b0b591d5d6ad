/**
 * The Sweeps panel's form: one or two parameters (each a range lo..hi with a number of points,
 * linear or log, or a list of values), seeds, updates per run, the metric and the band.
 */
import { useStore } from 'zustand';
import { FIELDS, type ConfigKey } from '../../engine/config';
import { METRIC_LABELS, SWEEP_METRICS, sweepableKeys, type SweepMetric } from '../../engine/sweep';
import {
  defaultAxis,
  setSweepAxis,
  setSweepForm,
  sweeps,
  type SweepAxisForm,
  type SweepForm as Form,
} from '../../state/sweeps';

/** The fields a sweep may vary (the seed is the seeds' business). */
const KEYS = sweepableKeys().filter((k) => k !== 'seed');

function AxisFields({ axis, index }: { axis: SweepAxisForm; index: number }) {
  const n = index + 1;
  const set = (patch: Partial<SweepAxisForm>) => setSweepAxis(index, patch);
  return (
    <fieldset className="sweep-axis" data-testid={`sweeps-axis-${index}`}>
      <legend className="visually-hidden">Parameter {n}</legend>
      <select
        aria-label={`Parameter ${n}`}
        data-testid={`sweeps-param-${index}`}
        value={axis.key}
        onChange={(e) => set(defaultAxis(e.target.value as ConfigKey))}
      >
        {KEYS.map((k) => (
          <option key={k} value={k}>
            {FIELDS[k].symbol === k ? k : `${k} (${FIELDS[k].symbol})`}
          </option>
        ))}
      </select>
      <select
        aria-label={`Values of parameter ${n}`}
        value={axis.mode}
        onChange={(e) => set({ mode: e.target.value as SweepAxisForm['mode'] })}
      >
        <option value="range">range</option>
        <option value="list">list</option>
      </select>
      {axis.mode === 'range' ? (
        <>
          <input
            aria-label={`Parameter ${n} from`}
            data-testid={`sweeps-lo-${index}`}
            size={6}
            value={axis.lo}
            onChange={(e) => set({ lo: e.target.value })}
          />
          <span aria-hidden="true">…</span>
          <input
            aria-label={`Parameter ${n} to`}
            data-testid={`sweeps-hi-${index}`}
            size={6}
            value={axis.hi}
            onChange={(e) => set({ hi: e.target.value })}
          />
          <label>
            points{' '}
            <input
              data-testid={`sweeps-count-${index}`}
              size={3}
              inputMode="numeric"
              value={axis.count}
              onChange={(e) => set({ count: e.target.value })}
            />
          </label>
          <label>
            <input
              type="checkbox"
              checked={axis.log}
              onChange={(e) => set({ log: e.target.checked })}
            />{' '}
            log
          </label>
        </>
      ) : (
        <input
          aria-label={`Values of parameter ${n}, separated by commas`}
          data-testid={`sweeps-list-${index}`}
          size={16}
          value={axis.list}
          onChange={(e) => set({ list: e.target.value })}
        />
      )}
    </fieldset>
  );
}

export function SweepForm({ running }: { running: boolean }) {
  const form = useStore(sweeps, (s) => s.form);
  const second = form.axes.length === 2;
  const number = (key: 'seeds' | 'updates') => (e: React.ChangeEvent<HTMLInputElement>) =>
    setSweepForm({ [key]: Number(e.target.value) } as Partial<Form>);
  return (
    <div className="sweep-form" aria-disabled={running}>
      {form.axes.map((a, i) => (
        <AxisFields key={i} axis={a} index={i} />
      ))}
      <button
        type="button"
        data-testid="sweeps-second"
        onClick={() =>
          setSweepForm({
            axes: second
              ? form.axes.slice(0, 1)
              : [...form.axes, { ...defaultAxis(form.axes[0].key === 'alpha' ? 'lr' : 'alpha') }],
          })
        }
      >
        {second ? '− second parameter' : '+ second parameter (heat-map)'}
      </button>
      <label>
        seeds{' '}
        <input
          type="number"
          data-testid="sweeps-seeds"
          min={1}
          max={20}
          value={form.seeds}
          onChange={number('seeds')}
        />
      </label>
      <label>
        updates per run{' '}
        <input
          type="number"
          data-testid="sweeps-updates"
          min={1}
          max={5000}
          value={form.updates}
          onChange={number('updates')}
        />
      </label>
      <label>
        metric{' '}
        <select
          data-testid="sweeps-metric"
          value={form.metric}
          onChange={(e) => setSweepForm({ metric: e.target.value as SweepMetric })}
        >
          {SWEEP_METRICS.map((m) => (
            <option key={m} value={m}>
              {METRIC_LABELS[m]}
            </option>
          ))}
        </select>
      </label>
      {!second && (
        <label>
          band{' '}
          <select
            value={form.band}
            onChange={(e) => setSweepForm({ band: e.target.value as Form['band'] })}
          >
            <option value="sd">±1 sd</option>
            <option value="range">min–max</option>
          </select>
        </label>
      )}
    </div>
  );
}
