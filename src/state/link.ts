/**
 * The link: everything needed to replay a run exactly, in the address's hash (never sent to a
 * server). `#v=1&s=…`, where `s` is lz-string's URI-safe compression of a JSON object:
 *
 *   { c: configuration fields that differ from the defaults (seed and backend included),
 *     b: the backend that actually ran (what `auto` chose), ch: chapter id, sc: scene index,
 *     l: the action log since the network was built (engine/actionLog.ts),
 *     sw: a parameter sweep to run once the log is replayed: { a: axes (engine/sweep.ts syntax),
 *         s: seeds, u: updates per run, m: the metric shown },
 *     cm: compare mode's last request, { m: method ids, u: updates per method } }
 *
 * Reading is defensive: every field is checked on its own and a bad one falls back to its
 * default alone, named in `rejected`; sizes are bounded before anything is decompressed or
 * parsed; nothing read is used as a key of a live object or inserted as markup. This module is
 * pure (no DOM, no engine): the page's wiring is linkSync.ts.
 */
import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from 'lz-string';
import { MAX_LOG_ENTRIES, logEntrySchema, type LogEntry } from '../engine/actionLog';
import {
  BACKENDS,
  CONFIG_KEYS,
  configDiff,
  defaultConfig,
  parseConfig,
  type BackendChoice,
  type ConfigKey,
  type TrainConfig,
} from '../engine/config';
import {
  DEFAULT_COMPARE_UPDATES,
  isCompareMethod,
  MAX_COMPARE_UPDATES,
  type CompareMethod,
  type CompareRequest,
} from '../engine/compareMethods';
import { InputError } from '../engine/errors';
import {
  DEFAULT_SWEEP,
  MAX_SEEDS,
  MAX_UPDATES,
  SWEEP_METRICS,
  parseSweepAxis,
  planSweep,
  type SweepMetric,
  type SweepRequest,
} from '../engine/sweep';
import { chapterById } from '../chapters';

export const LINK_VERSION = 1;
/**
 * Longest hash read, in characters. lz-string's output can grow with the square of its input,
 * so the bound keeps the worst case to a few milliseconds; 16 KB holds thousands of actions.
 */
export const MAX_HASH_CHARS = 16_384;
/** Longest decompressed text parsed. */
const MAX_JSON_CHARS = 1_000_000;
/** Method ids a comparison can name (each at most once). */
const COMPARE_LIMIT = 8;
/** At most this many rejected fields are named (the rest are counted). */
const MAX_NAMED = 8;

export interface LinkState {
  config: TrainConfig;
  /** The backend the sender's run used (wasm, webgl, cpu), if known. */
  backend: Exclude<BackendChoice, 'auto'> | null;
  chapter: string | null;
  scene: number;
  log: LogEntry[];
  /** A parameter sweep the link runs after its replay (absent: none). */
  sweep?: LinkSweep;
  /** A comparison to run again once the log is replayed (compare mode), or null. */
  compare?: CompareRequest | null;
}

export interface LinkSweep {
  request: SweepRequest;
  metric: SweepMetric;
}

export interface DecodedLink {
  /** null when the hash holds no link at all. */
  link: LinkState | null;
  /** Fields that were present but not used (each fell back to its default), for the notice. */
  rejected: string[];
}

/** The payload of one link version. v0 (never published; kept to test migration) had
 *  `{ config, log }` with the whole configuration and object entries `{ a, n }`. */
type Payload = Record<string, unknown>;

/** Write a link's hash (without the leading '#'). */
export function encodeLink(state: LinkState): string {
  const payload: Payload = { c: configDiff(state.config, defaultConfig()) };
  if (state.backend) payload.b = state.backend;
  if (state.chapter) {
    payload.ch = state.chapter;
    payload.sc = state.scene;
  }
  if (state.log.length) payload.l = state.log;
  if (state.sweep) {
    const { request, metric } = state.sweep;
    payload.sw = { a: request.axes, s: request.seeds, u: request.updates, m: metric };
  }
  if (state.compare) payload.cm = { m: state.compare.methods, u: state.compare.updates };
  return `v=${LINK_VERSION}&s=${compressToEncodedURIComponent(JSON.stringify(payload))}`;
}

/** A short, printable form of a value a user put in a link (for notices; never markup). */
function shown(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/** Read a hash (with or without its '#'). Never throws. */
export function decodeLink(hash: string): DecodedLink {
  const rejected: string[] = [];
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (text === '') return { link: null, rejected };
  if (text.length > MAX_HASH_CHARS)
    return {
      link: null,
      rejected: [
        `the whole link (${text.length.toLocaleString('en')} characters; at most ${MAX_HASH_CHARS.toLocaleString('en')})`,
      ],
    };
  // Own parsing: no percent-decoding that could throw, no object keyed by user input.
  let version: string | null = null;
  let packed: string | null = null;
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'v' && version === null) version = value;
    else if (key === 's' && packed === null) packed = value;
    else if (key !== '') rejected.push(shown(key));
  }
  if (version === null && packed === null) return { link: null, rejected };
  if (version !== String(LINK_VERSION) && version !== '0') {
    rejected.push(`v=${shown(version ?? '')} (this page reads version ${LINK_VERSION})`);
    return { link: null, rejected };
  }
  const payload = unpack(packed, rejected);
  if (!payload) return { link: null, rejected };
  return { link: readPayload(version === '0' ? migrateV0(payload) : payload, rejected), rejected };
}

/** The JSON object inside `s`, or null (the reason added to `rejected`). */
function unpack(packed: string | null, rejected: string[]): Payload | null {
  if (!packed) {
    rejected.push('s (missing)');
    return null;
  }
  let json: string | null;
  try {
    json = decompressFromEncodedURIComponent(packed);
  } catch {
    json = null;
  }
  if (!json || json.length > MAX_JSON_CHARS) {
    rejected.push(json ? 's (too large)' : 's (not a compressed link)');
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    rejected.push('s (not JSON)');
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    rejected.push('s (not an object)');
    return null;
  }
  return raw as Payload;
}

/** A field of the payload, only if it is the payload's own (`__proto__` and the like are not). */
function own(payload: Payload, key: string): unknown {
  return Object.hasOwn(payload, key) ? payload[key] : undefined;
}

const PAYLOAD_KEYS = ['c', 'b', 'ch', 'sc', 'l', 'sw', 'cm'];

function readPayload(payload: Payload, rejected: string[]): LinkState {
  for (const key of Object.keys(payload))
    if (!PAYLOAD_KEYS.includes(key)) rejected.push(shown(key));
  const config = readConfig(own(payload, 'c'), rejected);
  const b = own(payload, 'b');
  let backend: LinkState['backend'] = null;
  if (b !== undefined) {
    if (typeof b === 'string' && b !== 'auto' && (BACKENDS as readonly string[]).includes(b))
      backend = b as LinkState['backend'];
    else rejected.push('b (backend)');
  }
  const ch = own(payload, 'ch');
  const chapter = typeof ch === 'string' ? chapterById(ch) : null;
  if (ch !== undefined && !chapter) rejected.push('ch (chapter)');
  let scene = 0;
  const sc = own(payload, 'sc');
  if (chapter && sc !== undefined) {
    if (Number.isInteger(sc) && (sc as number) >= 0 && (sc as number) < chapter.scenes.length)
      scene = sc as number;
    else rejected.push('sc (scene)');
  }
  const log = readLog(own(payload, 'l'), config, rejected);
  const sweep = readSweep(own(payload, 'sw'), rejected);
  const compare = readCompare(own(payload, 'cm'), rejected);
  return {
    config,
    backend,
    chapter: chapter?.id ?? null,
    scene,
    log,
    ...(sweep ? { sweep } : {}),
    ...(compare ? { compare } : {}),
  };
}

/** Longest axis text read (a list of a thousand values is far shorter than the hash bound). */
const MAX_AXIS_CHARS = 4096;

/**
 * The sweep: its axes are its substance (without them there is no sweep); seeds, updates and
 * metric each fall back to their defaults alone. A sweep too large as a whole is refused.
 */
function readSweep(raw: unknown, rejected: string[]): LinkSweep | null {
  if (raw === undefined) return null;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    rejected.push('sw (sweep)');
    return null;
  }
  const sw = raw as Payload;
  for (const key of Object.keys(sw))
    if (!['a', 's', 'u', 'm'].includes(key)) rejected.push(`sw.${shown(key)}`);
  const a = own(sw, 'a');
  const axes =
    Array.isArray(a) &&
    a.length >= 1 &&
    a.length <= 2 &&
    a.every((t) => typeof t === 'string' && t.length <= MAX_AXIS_CHARS && axisOk(t))
      ? (a as string[])
      : null;
  if (!axes) {
    rejected.push('sw.a (the sweep’s parameters; no sweep)');
    return null;
  }
  const integer = (key: string, max: number, fallback: number): number => {
    const v = own(sw, key);
    if (v === undefined) return fallback;
    if (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max) return v as number;
    rejected.push(`sw.${key}`);
    return fallback;
  };
  const seeds = integer('s', MAX_SEEDS, DEFAULT_SWEEP.seeds);
  const updates = integer('u', MAX_UPDATES, DEFAULT_SWEEP.updates);
  const m = own(sw, 'm');
  let metric: SweepMetric = DEFAULT_SWEEP.metric;
  if (typeof m === 'string' && (SWEEP_METRICS as readonly string[]).includes(m))
    metric = m as SweepMetric;
  else if (m !== undefined) rejected.push('sw.m (metric)');
  const request = { axes, seeds, updates };
  try {
    planSweep(request);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    rejected.push(`sw (${shown(e.message)})`);
    return null;
  }
  return { request, metric };
}

function axisOk(text: string): boolean {
  try {
    parseSweepAxis(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Compare mode's request: unknown or repeated method ids are dropped one by one, a bad update
 * count falls back to the default; with no method left there is no comparison. Which methods the
 * network allows is the engine's to judge when the comparison runs.
 */
export function readCompare(raw: unknown, rejected: string[]): CompareRequest | null {
  if (raw === undefined) return null;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    rejected.push('cm (comparison)');
    return null;
  }
  for (const key of Object.keys(raw))
    if (key !== 'm' && key !== 'u') rejected.push(`cm.${shown(key)}`);
  const m = own(raw as Payload, 'm');
  const methods: CompareMethod[] = [];
  if (Array.isArray(m) && m.length <= 2 * COMPARE_LIMIT) {
    m.forEach((id: unknown, i) => {
      if (isCompareMethod(id) && !methods.includes(id)) methods.push(id);
      else rejected.push(`cm.m[${i}] (method)`);
    });
  } else rejected.push('cm.m (methods)');
  const u = own(raw as Payload, 'u');
  let updates = DEFAULT_COMPARE_UPDATES;
  if (Number.isInteger(u) && (u as number) >= 1 && (u as number) <= MAX_COMPARE_UPDATES)
    updates = u as number;
  else rejected.push(`cm.u (updates: a whole number from 1 to ${MAX_COMPARE_UPDATES})`);
  return methods.length ? { methods, updates } : null;
}

/**
 * The configuration: each known field is kept unless it (alone, or by a cross-field rule that
 * names it) is refused; the refused fields fall back to their defaults.
 */
export function readConfig(raw: unknown, rejected: string[]): TrainConfig {
  if (raw === undefined) return defaultConfig();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    rejected.push('c (configuration)');
    return defaultConfig();
  }
  const fields: Partial<Record<ConfigKey, unknown>> = {};
  for (const key of Object.keys(raw)) {
    if ((CONFIG_KEYS as string[]).includes(key))
      fields[key as ConfigKey] = (raw as Record<string, unknown>)[key];
    else rejected.push(`c.${shown(key)}`);
  }
  // Each refusal names the fields at fault: drop them and judge the rest again.
  for (let round = 0; round <= CONFIG_KEYS.length; round++) {
    try {
      return parseConfig(fields);
    } catch (e) {
      if (!(e instanceof InputError)) break;
      const named = Object.keys(fields).filter((k) =>
        e.issues.some((i) => i.field.split(/[,.\s[\]]+/).includes(k)),
      );
      if (!named.length) break;
      for (const k of named) {
        delete fields[k as ConfigKey];
        rejected.push(`c.${k}`);
      }
    }
  }
  for (const k of Object.keys(fields)) rejected.push(`c.${k}`);
  return defaultConfig();
}

/**
 * The action log, checked entry by entry; it is cut at the first entry that is malformed or that
 * the configuration would refuse (what follows it could not reproduce the sender's run).
 */
function readLog(raw: unknown, config: TrainConfig, rejected: string[]): LogEntry[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    rejected.push('l (action log)');
    return [];
  }
  if (raw.length > MAX_LOG_ENTRIES) {
    rejected.push(
      `l (${raw.length.toLocaleString('en')} actions; a link holds at most ${MAX_LOG_ENTRIES.toLocaleString('en')})`,
    );
    return [];
  }
  const log: LogEntry[] = [];
  let running = config;
  for (let i = 0; i < raw.length; i++) {
    const r = logEntrySchema.safeParse(raw[i]);
    let ok = r.success;
    if (r.success && r.data[0] === 'f') {
      try {
        running = parseConfig(r.data[1], running);
      } catch {
        ok = false;
      }
    }
    if (!ok || !r.success) {
      rejected.push(`l[${i}] (the replay stops before action ${i + 1} of ${raw.length})`);
      break;
    }
    log.push(r.data);
  }
  return log;
}

/** Link v0 → v1: the whole configuration became the non-default fields, entries became tuples. */
export function migrateV0(v0: Payload): Payload {
  const out: Payload = {};
  const config = own(v0, 'config');
  if (config !== undefined) out.c = config;
  const log = own(v0, 'log');
  if (Array.isArray(log))
    out.l = log.map((e: unknown) => {
      if (typeof e !== 'object' || e === null) return e;
      const a = (e as Record<string, unknown>).a;
      const n = (e as Record<string, unknown>).n;
      return n === undefined ? [a] : [a, n];
    });
  else if (log !== undefined) out.l = log;
  return out;
}

/** "c.dt, l[3] (…) and 2 more" for the notice. */
export function describeRejected(rejected: string[]): string {
  const named = rejected.slice(0, MAX_NAMED).join(', ');
  const more = rejected.length - MAX_NAMED;
  return more > 0 ? `${named} and ${more} more` : named;
}
