import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function train(args: string[]) {
  try {
    const { stdout, stderr } = await run('node', [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'train',
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    return e as { code: number; stdout: string; stderr: string };
  }
}

describe('lcp train', () => {
  it('prints one JSON line per epoch with the metrics of DESIGN.md §2', async () => {
    const r = await train(['circle-lcp-di', 'epochs=2', 'trainSize=64', 'testSize=32', 'seed=3']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const key of [
      'epoch',
      'loss',
      'accuracy',
      'testLoss',
      'testAccuracy',
      'control',
      'cosine',
      'steps',
      'seconds',
    ]) {
      expect(lines[1], key).toHaveProperty(key);
    }
    expect(lines[1].epoch).toBe(2);
    expect(lines[1].testAccuracy).toBeGreaterThanOrEqual(0);
  });

  it('rejects a config file with three bad fields, naming all three (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcp-train-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        preset: 'circle-lcp-di',
        alpha: -3,
        batch: 0,
        activation: 'relu',
        epochs: 1,
      }),
    );
    const r = await train([file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    for (const field of ['alpha', 'batch', 'activation'])
      expect(r.stderr).toMatch(new RegExp(`\\b${field}:`));
  });

  it('rejects an unknown preset and a bad override', async () => {
    const a = await train(['no-such-preset']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/neither a preset/);
    const b = await train(['circle-lcp-di', 'epochs=zero']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/epochs/);
  });
});
