/**
 * The embed API: a page that embeds LCP Lab in an iframe drives it with postMessage (play, pause,
 * step, learn, train, set a parameter, read the status; docs/embed.md). Only the embedding page
 * (window.parent) is heard; every message is checked, and each one with an `id` gets a reply.
 */
import { z } from 'zod';
import { CONFIG_KEYS, fieldIssues, type ConfigKey, type TrainConfig } from '../engine/config';
import { engine } from '../state/engine';
import { simView } from '../state/simView';
import { useApp } from '../state/store';
import { actionById } from './actions';
import { setConfigField } from './configEdits';

const id = z.union([z.number().finite(), z.string().max(64)]).optional();
const base = { lcp: z.literal(1), id };

const messageSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('play') }),
  z.object({ ...base, type: z.literal('pause') }),
  z.object({
    ...base,
    type: z.literal('step'),
    steps: z.number().int().min(1).max(100_000).optional(),
  }),
  z.object({ ...base, type: z.literal('equilibrium') }),
  z.object({ ...base, type: z.literal('control'), on: z.boolean() }),
  z.object({ ...base, type: z.literal('learn') }),
  z.object({ ...base, type: z.literal('next') }),
  z.object({
    ...base,
    type: z.literal('train'),
    updates: z.number().int().min(1).max(100_000).optional(),
  }),
  z.object({ ...base, type: z.literal('stop') }),
  z.object({ ...base, type: z.literal('reset') }),
  z.object({ ...base, type: z.literal('set'), key: z.string().max(64), value: z.unknown() }),
  z.object({ ...base, type: z.literal('status') }),
]);

export type EmbedMessage = z.infer<typeof messageSchema>;

/** What the embedding page reads: the status bar's numbers and the configuration. */
export interface EmbedStatus {
  step: number;
  updates: number;
  epoch: number;
  sample: number;
  phase: string;
  playing: boolean;
  control: boolean;
  /** The engine's job (e.g. "Training"), or null when idle. */
  busy: string | null;
  backend: string;
  loss: number | null;
  controlPsi: number | null;
  settled: boolean;
  config: TrainConfig;
}

const finite = (v: number | undefined): number | null =>
  v !== undefined && Number.isFinite(v) ? v : null;

export function embedStatus(): EmbedStatus {
  const s = simView.getState().latest;
  const app = useApp.getState();
  return {
    step: s?.step ?? 0,
    updates: s?.updates ?? 0,
    epoch: s?.epoch ?? 0,
    sample: s?.sample ?? 0,
    phase: app.phase,
    playing: app.playing,
    control: app.control,
    busy: app.busy?.label ?? null,
    backend: app.backend,
    loss: finite(s?.metrics.loss),
    controlPsi: finite(s?.metrics.controlPsi),
    settled: s?.metrics.settled ?? false,
    config: app.config,
  };
}

function setPlaying(playing: boolean): void {
  useApp.setState({ playing });
  engine().send({ type: 'play', playing });
}

/** Carry out one message; throws an Error whose message the reply carries. */
export function runEmbedMessage(m: EmbedMessage): void {
  switch (m.type) {
    case 'play':
    case 'pause':
      setPlaying(m.type === 'play');
      return;
    case 'step':
      setPlaying(false);
      engine().send({ type: 'step', steps: m.steps ?? 1 });
      return;
    case 'control':
      useApp.setState({ control: m.on });
      engine().send({ type: 'control', on: m.on });
      return;
    case 'train':
      setPlaying(false);
      engine().send({ type: 'train', updates: m.updates ?? useApp.getState().trainUpdates });
      return;
    case 'equilibrium':
    case 'learn':
    case 'next':
    case 'stop':
    case 'reset':
      actionById(m.type).perform();
      return;
    case 'set': {
      if (!(CONFIG_KEYS as string[]).includes(m.key)) throw new Error(`unknown field "${m.key}"`);
      const key = m.key as ConfigKey;
      const next = { ...useApp.getState().config, [key]: m.value } as TrainConfig;
      const issues = fieldIssues(next, key);
      if (issues.length) throw new Error(`${key}: ${issues[0]}`);
      setConfigField(key, m.value as TrainConfig[typeof key]);
      return;
    }
    case 'status':
      return;
  }
}

/** Listen to the embedding page; tell it when the app is ready. Returns the unsubscribe. */
export function startEmbedApi(): () => void {
  if (window.parent === window) return () => undefined;
  const onMessage = (event: MessageEvent) => {
    if (event.source !== window.parent) return;
    const data: unknown = event.data;
    // Other libraries talk over postMessage too: only messages marked lcp: 1 are ours.
    if (typeof data !== 'object' || data === null || (data as { lcp?: unknown }).lcp !== 1) return;
    const target = event.origin === 'null' ? '*' : event.origin;
    const raw = (data as { id?: unknown }).id;
    const replyId = typeof raw === 'number' || typeof raw === 'string' ? raw : undefined;
    const reply = (body: Record<string, unknown>) => {
      if (replyId !== undefined)
        window.parent.postMessage({ lcp: 1, id: replyId, ...body }, target);
    };
    const parsed = messageSchema.safeParse(data);
    if (!parsed.success) {
      reply({ type: 'reply', ok: false, error: 'not an LCP Lab message (see docs/embed.md)' });
      return;
    }
    try {
      runEmbedMessage(parsed.data);
      reply({ type: 'reply', ok: true, status: embedStatus() });
    } catch (e) {
      reply({ type: 'reply', ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  };
  window.addEventListener('message', onMessage);
  // "ready" once the first network is built and shown.
  let told = false;
  const tellReady = () => {
    if (told || !simView.getState().latest) return;
    told = true;
    window.parent.postMessage({ lcp: 1, type: 'ready', status: embedStatus() }, '*');
  };
  const off = simView.subscribe(tellReady);
  tellReady();
  return () => {
    window.removeEventListener('message', onMessage);
    off();
  };
}
