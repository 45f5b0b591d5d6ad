import { useId, useState } from 'react';
import {
  FIELDS,
  GROUPS,
  type ConfigKey,
  type Field,
  type Group,
  type TrainConfig,
} from '../../engine/config';
import { engine } from '../../state/engine';
import { pushNotice, useApp } from '../../state/store';

const GROUP_TITLES: Record<Group, string> = {
  task: 'Task',
  network: 'Network',
  controller: 'Controller',
  solver: 'Dynamics',
  learning: 'Learning',
  feedback: 'Feedback learning',
  runtime: 'Runtime',
};

function formatRange(f: Field): string {
  if (f.type === 'number' || f.type === 'integer') {
    const lo = f.minExclusive ? `> ${f.min}` : `≥ ${f.min}`;
    return `${lo}, ≤ ${f.max}`;
  }
  if (f.type === 'enum') return f.options.join(' | ');
  if (f.type === 'integer-list') return `sizes ${f.min}…${f.max}, comma-separated`;
  return 'on / off';
}

function describeField(key: ConfigKey): string {
  const f = FIELDS[key];
  const def = Array.isArray(f.default) ? f.default.join(',') : String(f.default);
  return `${f.description}. Range: ${formatRange(f)}. Default: ${def}${f.unit ? ` ${f.unit}` : ''}.${f.live ? '' : ' Changing it rebuilds the network.'}`;
}

/** Apply one field's new value: store first, then the worker (which validates again). */
export function setConfigField<K extends ConfigKey>(key: K, value: TrainConfig[K]): void {
  const config = { ...useApp.getState().config, [key]: value };
  useApp.setState({ config, preset: null });
  engine().send({ type: 'configure', config });
}

function FieldControl({ name }: { name: ConfigKey }) {
  const f = FIELDS[name];
  const value = useApp((s) => s.config[name]);
  const id = useId();
  const [draft, setDraft] = useState<string | null>(null);
  const text = draft ?? (Array.isArray(value) ? value.join(',') : String(value));
  const help = describeField(name);

  const commit = (raw: string) => {
    setDraft(null);
    if (f.type === 'number' || f.type === 'integer') {
      const v = Number(raw);
      const low = f.minExclusive ? v <= f.min : v < f.min;
      if (
        raw.trim() === '' ||
        !Number.isFinite(v) ||
        low ||
        v > f.max ||
        (f.type === 'integer' && !Number.isInteger(v))
      ) {
        pushNotice({
          level: 'warning',
          text: `${f.symbol} (${name}): expected ${f.type === 'integer' ? 'an integer' : 'a number'} ${formatRange(f)}; kept ${String(value)}`,
        });
        return;
      }
      setConfigField(name, v as TrainConfig[typeof name]);
    } else if (f.type === 'integer-list') {
      const parts = raw.split(',').map((p) => Number(p.trim()));
      if (!parts.length || parts.some((p) => !Number.isInteger(p) || p < f.min || p > f.max)) {
        pushNotice({
          level: 'warning',
          text: `${f.symbol} (${name}): expected ${formatRange(f)}; kept ${String(value)}`,
        });
        return;
      }
      setConfigField(name, parts as TrainConfig[typeof name]);
    }
  };

  let control;
  if (f.type === 'enum') {
    control = (
      <select
        id={id}
        value={String(value)}
        onChange={(e) => setConfigField(name, e.target.value as TrainConfig[typeof name])}
        aria-describedby={`${id}-help`}
      >
        {f.options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    );
  } else if (f.type === 'boolean') {
    control = (
      <input
        id={id}
        type="checkbox"
        checked={Boolean(value)}
        onChange={(e) => setConfigField(name, e.target.checked as TrainConfig[typeof name])}
        aria-describedby={`${id}-help`}
      />
    );
  } else {
    control = (
      <input
        id={id}
        type="text"
        inputMode="decimal"
        value={text}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={(e) => commit(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit((e.target as HTMLInputElement).value);
          if (e.key === 'Escape') setDraft(null);
        }}
        aria-describedby={`${id}-help`}
      />
    );
  }
  return (
    <div className="field" title={help}>
      <label htmlFor={id}>
        <span className="symbol">{f.symbol}</span> <span className="name">{name}</span>
        {f.unit && <span className="unit"> ({f.unit})</span>}
      </label>
      {control}
      <span id={`${id}-help`} className="visually-hidden">
        {help}
      </span>
    </div>
  );
}

/** Every schema parameter, grouped, generated from FIELDS. */
export function ParameterControls() {
  return (
    <div className="parameters">
      {GROUPS.map((group) => (
        <details key={group} open={group === 'controller' || group === 'solver'}>
          <summary>{GROUP_TITLES[group]}</summary>
          {(Object.keys(FIELDS) as ConfigKey[])
            .filter((k) => FIELDS[k].group === group)
            .map((k) => (
              <FieldControl key={k} name={k} />
            ))}
        </details>
      ))}
    </div>
  );
}
