/**
 * The "updates" field of a view's toolbar (compare mode, meta-learning): a whole number from 1 to
 * `max`, marked invalid outside it, locked while the run it sets goes on.
 */

/** Is `updates` a count the field accepts? */
export const validUpdates = (updates: number, max: number): boolean =>
  Number.isInteger(updates) && updates >= 1 && updates <= max;

export function UpdatesInput({
  testId,
  className,
  value,
  max,
  disabled,
  onChange,
}: {
  testId: string;
  className: string;
  value: number;
  max: number;
  disabled: boolean;
  onChange: (updates: number) => void;
}) {
  return (
    <label className={className}>
      updates{' '}
      <input
        type="number"
        data-testid={testId}
        min={1}
        max={max}
        step={1}
        value={Number.isFinite(value) ? value : ''}
        disabled={disabled}
        aria-invalid={!validUpdates(value, max)}
        onChange={(e) => onChange(e.currentTarget.valueAsNumber)}
      />
    </label>
  );
}
