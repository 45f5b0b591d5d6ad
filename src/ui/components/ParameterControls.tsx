import { useId, useState } from 'react';
import {
  FIELDS,
  fieldIssues,
  GROUPS,
  parseConfig,
  type ConfigKey,
  type Field,
  type Group,
  type TrainConfig,
} from '../../engine/config';
import { InputError } from '../../engine/errors';
import { pushNotice, useApp } from '../../state/store';
import { focusStage, setConfigField } from '../configEdits';

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
  if (f.type === 'integer-list')
    return `up to ${f.maxEntries} sizes ${f.min}…${f.max}, comma-separated`;
  return 'on / off';
}

function formatValue(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** The field's help: what it is, its range, and the chapter's value (what ↺ restores). */
function describeField(key: ConfigKey, chapterValue: unknown): string {
  const f = FIELDS[key];
  return `${f.description}. Range: ${formatRange(f)}. Chapter value: ${formatValue(chapterValue)}${f.unit ? ` ${f.unit}` : ''}.${f.live ? '' : ' Changing it rebuilds the network.'}`;
}

/**
 * Why `value` cannot be given to `key` in this configuration (range or a rule across fields), or
 * null when it can: the same schema the engine applies.
 */
export function refusal(config: TrainConfig, key: ConfigKey, value: unknown): string | null {
  const candidate = { ...config, [key]: value } as TrainConfig;
  const own = fieldIssues(candidate, key);
  if (own.length) return own.join('; ');
  try {
    parseConfig(candidate);
    return null;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return e.message;
  }
}

function FieldControl({ name }: { name: ConfigKey }) {
  const f = FIELDS[name];
  const value = useApp((s) => s.config[name]);
  const config = useApp((s) => s.config);
  const chapterValue = useApp((s) => s.chapterConfig[name]);
  const id = useId();
  const [draft, setDraft] = useState<string | null>(null);
  const text = draft ?? formatValue(value);
  const help = describeField(name, chapterValue);
  const edited = formatValue(value) !== formatValue(chapterValue);

  /** Apply a value if the schema accepts it here, else say why and keep the old one. */
  const apply = (v: unknown): boolean => {
    const why = refusal(config, name, v);
    if (why) {
      pushNotice({
        level: 'warning',
        key: `field-${name}`,
        text: `${f.symbol} (${name}) = ${formatValue(v)} refused: ${why}. Kept ${formatValue(value)}.`,
      });
      return false;
    }
    setConfigField(name, v as TrainConfig[typeof name]);
    return true;
  };

  const commit = (raw: string) => {
    setDraft(null);
    if (f.type === 'number' || f.type === 'integer') {
      apply(raw.trim() === '' ? NaN : Number(raw));
    } else if (f.type === 'integer-list') {
      apply(raw.split(/[,x×]/).map((p) => (p.trim() === '' ? NaN : Number(p))));
    }
  };

  let control;
  if (f.type === 'enum') {
    control = (
      <select
        id={id}
        value={String(value)}
        onChange={(e) => {
          apply(e.target.value);
          focusStage();
        }}
        aria-describedby={`${id}-help`}
      >
        {f.options.map((o) => {
          const why = o === value ? null : refusal(config, name, o);
          return (
            <option key={o} value={o} disabled={why !== null} title={why ?? undefined}>
              {why ? `${o} (not here)` : o}
            </option>
          );
        })}
      </select>
    );
  } else if (f.type === 'boolean') {
    control = (
      <input
        id={id}
        type="checkbox"
        checked={Boolean(value)}
        onChange={(e) => apply(e.target.checked)}
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
        onBlur={(e) => {
          if (draft !== null) commit(e.target.value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            commit((e.target as HTMLInputElement).value);
            // The keyboard goes back to the stage: Space plays again.
            focusStage();
          }
          if (e.key === 'Escape') {
            setDraft(null);
            focusStage();
          }
        }}
        aria-describedby={`${id}-help`}
      />
    );
  }
  return (
    <div className={`field${edited ? ' edited' : ''}`} title={help} data-field-key={name}>
      <label htmlFor={id}>
        <span className="symbol">{f.symbol}</span> <span className="name">{name}</span>
        {f.unit && <span className="unit"> ({f.unit})</span>}
      </label>
      {control}
      {edited ? (
        <button
          type="button"
          className="field-reset"
          aria-label={`Reset ${name} to the chapter's value ${formatValue(chapterValue)}`}
          title={`Back to the chapter's value: ${formatValue(chapterValue)}`}
          onClick={() => apply(chapterValue)}
        >
          ↺
        </button>
      ) : (
        <span className="field-reset-space" aria-hidden="true" />
      )}
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
