/**
 * Meta-learning as an equilibrium system (issue 14): the fast weights' equilibrium, the implicit
 * gradient against finite differences, the least-control update's α → ∞ limit, the hand-written
 * loss gradient and autodiff's Hessian–vector products against finite differences, tensor
 * leaks, determinism, and the CLI.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/engine/errors';
import { parseMetaConfig, type MetaConfig } from '../../src/engine/meta/config';
import {
  dispose,
  fAndVjpState,
  implicitGradientSliced,
  relaxSliced,
  rowDot,
  rowNorms,
  sumRows,
  vjpParams,
  type Blocks,
} from '../../src/engine/meta/equilibriumSystem';
import { MetaTrainer } from '../../src/engine/meta/metaTrainer';
import {
  disposeTasks,
  FastWeights,
  sampleTasks,
  taskTensors,
  type TaskTensors,
} from '../../src/engine/meta/sinusoid';
import { seededStreams } from '../../src/engine/rng';
import { drain } from '../../src/engine/sliced';
import { selectBackend, tf } from '../../src/engine/tf';
import { cliInProcess } from '../support/cli';

/** A small network (8 units) so that tight solves stay quick on the CPU backend. */
const SMALL: Partial<MetaConfig> = {
  hidden: 8,
  lambda: 2,
  innerLr: 0.02,
  momentum: 0.9,
  innerSteps: 3000,
  tol: 1e-6,
  metaBatch: 3,
  testTasks: 4,
  controlSteps: 3000,
};

beforeAll(async () => {
  await selectBackend('cpu');
});

/** Σ over blocks and rows of a·b (read back). */
function dot(a: Blocks, b: Blocks): number {
  const t = tf.tidy(() => tf.sum(rowDot(a, b)));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

function randomLike(blocks: Blocks, seed: number): Blocks {
  return blocks.map((b, i) => tf.randomNormal(b.shape, 0, 1, 'float32', seed + i));
}

/** A trainer, its task batch and the tensors; the caller disposes what it gets. */
function setup(config: Partial<MetaConfig>, count = 2, seed = 5) {
  const trainer = new MetaTrainer(parseMetaConfig({ ...SMALL, ...config }));
  const batch = sampleTasks(seededStreams(seed), count, 10, 10);
  const tasks: TaskTensors = taskTensors(batch);
  const system = new FastWeights(trainer.net, tasks, trainer.config.lambda);
  const omega = trainer.omegaRows(count);
  const done = () => {
    dispose(omega);
    disposeTasks(tasks);
    trainer.dispose();
  };
  return { trainer, system, omega, tasks, done };
}

describe('the fast weights as an equilibrium system', () => {
  it('the hand-written loss gradient and the autodiff HVP match finite differences', () => {
    const { trainer, system, omega, tasks, done } = setup({});
    const d = randomLike(omega, 11);
    const eps = 1e-2;
    const loss = (w: Blocks) => {
      const t = tf.tidy(() => tf.sum(trainer.net.loss(w, tasks.xs, tasks.ys)));
      const v = t.dataSync()[0];
      t.dispose();
      return v;
    };
    const plus = tf.tidy(() => omega.map((b, i) => tf.add(b, tf.mul(d[i], eps))));
    const minus = tf.tidy(() => omega.map((b, i) => tf.sub(b, tf.mul(d[i], eps))));
    const fd = (loss(plus) - loss(minus)) / (2 * eps);
    const grad = tf.tidy(() => trainer.net.lossAndGradient(omega, tasks.xs, tasks.ys).grad);
    // Central differences in float32 at ε = 1e-2: agreement to a few parts in a thousand.
    expect(Math.abs(dot(grad, d) - fd)).toBeLessThan(3e-3 * Math.abs(fd));
    // (∂f/∂w)ᵀ d by autodiff against (f(w + εd) − f(w − εd)) / 2ε (J_f is symmetric). θ is a
    // copy: autodiff differentiates through every use of the tensors it is given.
    const theta = omega.map((b) => tf.clone(b));
    const { f, vjp } = tf.tidy(() => fAndVjpState(system, omega, theta, d));
    const fdJ = tf.tidy(() => {
      const fp = system.f(plus, theta);
      const fm = system.f(minus, theta);
      return fp.map((x, i) => tf.div(tf.sub(x, fm[i]), 2 * eps));
    });
    const err = Math.sqrt(dot(fdJ, fdJ) - 2 * dot(fdJ, vjp) + dot(vjp, vjp));
    expect(err / Math.sqrt(dot(fdJ, fdJ))).toBeLessThan(0.02);
    // J_f = −(H + λI) is negative definite: dᵀ J_f d < −λ‖d‖².
    expect(dot(d, vjp)).toBeLessThan(-trainer.config.lambda * dot(d, d));
    [plus, minus, grad, f, vjp, fdJ, d, theta].forEach(dispose);
    done();
  });

  it('f = 0 at the equilibrium the free dynamics reach', () => {
    const { system, omega, done } = setup({});
    const r = drain(
      relaxSliced(system, omega, omega, { dt: 0.02, momentum: 0.9, steps: 3000, tol: 1e-6 }),
    );
    const f0 = tf.tidy(() => system.f(omega, omega));
    const f = tf.tidy(() => system.f(r.s, omega));
    const before = rowNorms(f0);
    const after = rowNorms(f);
    for (let t = 0; t < before.length; t++) expect(after[t] / before[t]).toBeLessThan(1e-5);
    expect(r.residual).toBeLessThan(1e-5);
    // It moved: the adapted weights are not ω.
    const moved = tf.tidy(() => r.s.map((b, i) => tf.sub(b, omega[i])));
    expect(Math.min(...rowNorms(moved))).toBeGreaterThan(1e-2);
    [r.s, f0, f, moved].forEach(dispose);
    done();
  });

  it('the implicit gradient dL_query(w*(ω))/dω matches finite differences of the adapted loss', () => {
    const { trainer, system, omega, tasks, done } = setup({}, 1);
    const opts = { dt: 0.02, momentum: 0.9, steps: 4000, tol: 1e-7 };
    const queryAfter = (om: Blocks) => {
      const r = drain(relaxSliced(system, om, om, opts));
      const t = tf.tidy(() => tf.sum(trainer.net.loss(r.s, tasks.xq, tasks.yq)));
      const v = t.dataSync()[0];
      t.dispose();
      dispose(r.s);
      return v;
    };
    const free = drain(relaxSliced(system, omega, omega, opts));
    const qGrad = tf.tidy(() => system.query(free.s).grad);
    const ig = drain(implicitGradientSliced(system, free.s, omega, qGrad, 300));
    const d = randomLike(omega, 3);
    const eps = 2e-2;
    const plus = tf.tidy(() => omega.map((b, i) => tf.add(b, tf.mul(d[i], eps))));
    const minus = tf.tidy(() => omega.map((b, i) => tf.sub(b, tf.mul(d[i], eps))));
    const fd = (queryAfter(plus) - queryAfter(minus)) / (2 * eps);
    const analytic = dot(ig.grad, d);
    expect(Math.abs(analytic - fd)).toBeLessThan(0.02 * Math.abs(fd) + 1e-3);
    // And it is not the first-order gradient (the Jacobian of w*(ω) matters).
    const fo = dot(qGrad, d);
    expect(Math.abs(fo - fd)).toBeGreaterThan(2 * Math.abs(analytic - fd));
    [free.s, qGrad, ig.grad, ig.z, d, plus, minus].forEach(dispose);
    done();
  });

  it('α·Δω = α·λψ* tends to −dL_query/dω (the implicit gradient) as α grows', () => {
    const { trainer, system, omega, done } = setup({ controller: 'dynamic-inversion' });
    const free = drain(trainer.adaptSliced(system, omega));
    const qGrad = tf.tidy(() => system.query(free.s).grad);
    const ig = drain(implicitGradientSliced(system, free.s, omega, qGrad, 300));
    const g = tf.tidy(() => sumRows(ig.grad));
    const compare = (alpha: number) => {
      (trainer.config as { alpha: number }).alpha = alpha;
      const c = drain(trainer.controlSliced(system, free.s, omega));
      const update = tf.tidy(() =>
        sumRows(vjpParams(system, c.s, omega, c.psi)).map((b) => tf.mul(b, -alpha)),
      );
      const cos = dot(update, g) / Math.sqrt(dot(update, update) * dot(g, g));
      const ratio = Math.sqrt(dot(update, update) / dot(g, g));
      [c.s, c.psi, update].forEach(dispose);
      return { cos, ratio };
    };
    const weak = compare(1e4);
    const strong = compare(1);
    expect(weak.cos).toBeGreaterThan(0.999);
    expect(Math.abs(weak.ratio - 1)).toBeLessThan(0.01);
    expect(strong.cos).toBeLessThan(weak.cos);
    expect(Math.abs(strong.ratio - 1)).toBeGreaterThan(Math.abs(weak.ratio - 1));
    [free.s, qGrad, ig.grad, ig.z, g].forEach(dispose);
    done();
  });

  it('energy-based control reaches the same update as dynamic inversion', () => {
    const { trainer, system, omega, done } = setup({ alpha: 10 });
    const free = drain(trainer.adaptSliced(system, omega));
    const update = (controller: MetaConfig['controller']) => {
      Object.assign(trainer.config, { controller, controlLr: 2e-3, controlSteps: 3000 });
      const c = drain(trainer.controlSliced(system, free.s, omega));
      const u = tf.tidy(() => sumRows(vjpParams(system, c.s, omega, c.psi)));
      [c.s, c.psi].forEach(dispose);
      return u;
    };
    const di = update('dynamic-inversion');
    const ebd = update('energy');
    const cos = dot(di, ebd) / Math.sqrt(dot(di, di) * dot(ebd, ebd));
    expect(cos).toBeGreaterThan(0.99);
    [free.s, di, ebd].forEach(dispose);
    done();
  });
});

describe('meta-training', () => {
  const quick: Partial<MetaConfig> = {
    ...SMALL,
    innerSteps: 20,
    controlSteps: 20,
    cgSteps: 5,
    metaBatch: 4,
  };

  it.each(['lcp', 'imaml', 'fo'] as const)(
    '%s: a meta-update leaves no tensor behind, and the same seed gives the same ω',
    (method) => {
      const before = tf.memory().numTensors;
      const a = new MetaTrainer(parseMetaConfig({ ...quick, method }));
      const b = new MetaTrainer(parseMetaConfig({ ...quick, method }));
      const held = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) {
        const s = drain(a.stepSliced());
        drain(b.stepSliced());
        expect(Number.isFinite(s.queryLoss)).toBe(true);
        expect(s.psiNorm === null).toBe(method !== 'lcp');
      }
      a.evaluate();
      expect(tf.memory().numTensors).toBe(held);
      const wa = a.net.flat(a.omega)[0];
      const wb = b.net.flat(b.omega)[0];
      expect(Array.from(wa)).toEqual(Array.from(wb));
      a.dispose();
      b.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('LCP meta-training lowers the meta-test loss and the control it needs', () => {
    const t = new MetaTrainer(
      parseMetaConfig({
        ...quick,
        hidden: 16,
        innerSteps: 40,
        controlSteps: 40,
        metaLr: 3e-3,
        metaBatch: 8,
        testTasks: 20,
        alpha: 10,
      }),
    );
    const start = t.evaluate().after;
    const psi: number[] = [];
    for (let i = 0; i < 40; i++) psi.push(drain(t.stepSliced()).psiNorm!);
    const end = t.evaluate().after;
    expect(end).toBeLessThan(start);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(psi.slice(-10))).toBeLessThan(mean(psi.slice(0, 10)));
    t.dispose();
  });

  it('refuses a bad configuration, naming the field', () => {
    expect(() => parseMetaConfig({ lambda: 0 })).toThrow(InputError);
    expect(() => parseMetaConfig({ method: 'maml' })).toThrow(/method/);
    expect(() => parseMetaConfig({ innerLr: 1, lambda: 3 })).toThrow(/innerLr, lambda/);
    expect(() => parseMetaConfig({ typo: 1 })).toThrow(/typo: unknown field/);
  });
});

describe('lcp train sinusoid-meta-*', () => {
  it('prints one JSON line per meta-epoch with the query losses (and ‖ψ*‖ for LCP)', async () => {
    const r = await cliInProcess([
      'train',
      'sinusoid-meta-lcp',
      'metaEpochs=2',
      'iterations=2',
      'hidden=8',
      'innerSteps=10',
      'controlSteps=10',
      'metaBatch=2',
      'testTasks=3',
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.metaTrainQueryLoss).toBeGreaterThan(0);
      expect(l.metaTestQueryLoss).toBeGreaterThan(0);
      expect(l.meanPsiNorm).toBeGreaterThan(0);
      expect(l.seconds).toBeGreaterThan(0);
    }
    expect(lines[1].metaUpdates).toBe(4);
  });

  it('the baselines print no ‖ψ*‖; a bad override is exit 2 naming it', async () => {
    const r = await cliInProcess([
      'train',
      'sinusoid-meta-imaml',
      'metaEpochs=1',
      'iterations=1',
      'hidden=8',
      'innerSteps=5',
      'cgSteps=2',
      'metaBatch=2',
      'testTasks=2',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).meanPsiNorm).toBeNull();
    const bad = await cliInProcess(['train', 'sinusoid-meta-fo', 'alpha=-1', 'nope=2']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/nope: unknown field/);
    expect(bad.stderr).toMatch(/alpha/);
  });
});
