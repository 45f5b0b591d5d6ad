/** docs/cli.md documents every configuration key, preset, bound and exit code of the CLI. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_DIVERGED, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK } from '../../src/cli/cli';
import { GENERATED_BLOCKS, tableCells } from '../../src/cli/fieldTable';
import {
  CONFIG_KEYS,
  FIELDS,
  formatNumber,
  INPUT_LIMIT,
  MAX_BYTES,
  MAX_WEIGHTS,
} from '../../src/engine/config';
import { MAX_REPORTED } from '../../src/engine/errors';
import { META_KEYS } from '../../src/engine/meta/config';
import { META_PRESETS } from '../../src/engine/meta/presets';
import { PRESETS } from '../../src/engine/presets';

const doc = readFileSync('docs/cli.md', 'utf8');

describe('docs/cli.md', () => {
  it.each(GENERATED_BLOCKS)(
    'its $name table is the one generated from the schema (npx tsx scripts/cli-doc.ts)',
    ({ begin, end, content }) => {
      const from = doc.indexOf(begin);
      const to = doc.indexOf(end);
      expect(from, begin).toBeGreaterThan(0);
      expect(to).toBeGreaterThan(from);
      expect(tableCells(doc.slice(from, to))).toEqual(tableCells(content()));
    },
  );

  it('lists every configuration key and every preset', () => {
    for (const key of CONFIG_KEYS) expect(doc, key).toContain(`| \`${key}\``);
    for (const name of Object.keys(PRESETS)) expect(doc, name).toContain(`| \`${name}\``);
    for (const name of Object.keys(META_PRESETS)) expect(doc, name).toContain(`| \`${name}\``);
    for (const key of META_KEYS) expect(doc, key).toContain(`| \`${key}\``);
  });

  it('states the bounds with the numbers the code uses', () => {
    expect(formatNumber(MAX_WEIGHTS)).toBe('3.4e7');
    expect(doc).toContain('at most 2²⁵ ≈ 3.4e7 weights');
    expect(MAX_BYTES).toBe(3 * 2 ** 30);
    expect(doc).toContain('at most 3 GiB of estimated memory');
    expect(FIELDS.layers.type === 'integer-list' && FIELDS.layers.maxEntries).toBe(32);
    expect(doc).toContain('`layers`: at most 32 entries');
    expect(doc).toContain(`\`INPUT_LIMIT\` = ${formatNumber(INPUT_LIMIT)}`);
    expect(doc).toContain(`at most the first ${MAX_REPORTED} problems`);
    expect(doc).toContain('dt/τ ≥ 2⁻²³');
    expect(doc).toContain('`tol`, `rbpTol` ≥ 2⁻¹²⁶');
  });

  it('documents the four exit codes', () => {
    const section = doc.slice(doc.indexOf('## Exit codes'));
    const codes = tableCells(section)
      .slice(1)
      .map((row) => Number(row[0]))
      .filter((c) => Number.isInteger(c));
    expect(codes).toEqual([EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_DIVERGED]);
    expect(doc).toContain('## Reporting a problem');
  });
});
