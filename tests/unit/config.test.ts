import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  CONFIG_KEYS,
  configDiff,
  defaultConfig,
  FIELDS,
  parseConfig,
} from '../../src/engine/config';
import { InputError } from '../../src/engine/errors';
import { PRESETS } from '../../src/engine/presets';

describe('configuration schema', () => {
  it('every field has a type, range or options, default, unit, symbol and description; defaults are valid', () => {
    for (const key of CONFIG_KEYS) {
      const f = FIELDS[key];
      expect(f.description.length, key).toBeGreaterThan(10);
      expect(f.symbol.length, key).toBeGreaterThan(0);
      expect(typeof f.unit, key).toBe('string');
      if (f.type === 'number' || f.type === 'integer') {
        expect(f.min, key).toBeLessThanOrEqual(f.default);
        expect(f.default, key).toBeLessThanOrEqual(f.max);
      }
      if (f.type === 'enum') expect(f.options, key).toContain(f.default);
    }
    expect(parseConfig(defaultConfig())).toEqual(defaultConfig());
  });

  it('round-trips through JSON and through key=value overrides', () => {
    const config = {
      ...defaultConfig(),
      alpha: 0.25,
      layers: [32, 8],
      learnQ: true,
      task: 'xor' as const,
      seed: 9,
    };
    expect(parseConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    const diff = configDiff(config);
    expect(Object.keys(diff).sort()).toEqual(['alpha', 'layers', 'learnQ', 'seed', 'task']);
    const text = Object.entries(diff).map(
      ([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`,
    );
    expect(applyOverrides(defaultConfig(), text)).toEqual(config);
  });

  it('every preset is a valid configuration', () => {
    for (const [name, preset] of Object.entries(PRESETS))
      expect(() => parseConfig(preset.config), name).not.toThrow();
  });

  it('names every bad field at once', () => {
    let error: unknown;
    try {
      parseConfig({ alpha: -1, batch: 2.5, controller: 'magic', epochs: 3 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const fields = (error as InputError).issues.map((i) => i.field).sort();
    expect(fields).toEqual(['alpha', 'batch', 'controller']);
    expect((error as InputError).message).toMatch(/alpha: must be ≥ 0/);
  });

  it('reports unknown keys, malformed overrides and bad values together', () => {
    expect(() =>
      applyOverrides(defaultConfig(), ['epochs=1', 'alpah=2', 'dt=-1', 'nonsense']),
    ).toThrow(/alpah: unknown field; nonsense: expected key=value; dt: must be > 0/);
    expect(() => parseConfig({ tauPsi: 0 })).toThrow(/tauPsi: must be > 0/);
    expect(() => parseConfig({ layers: [] })).toThrow(/layers/);
    expect(() => applyOverrides(defaultConfig(), ['learnQ=maybe'])).toThrow(/learnQ/);
  });
});
