/**
 * What the page reads from its query string: `?backend=` (webgl | wasm | cpu | auto) and embed
 * mode (`embed=1&views=phase,traces&controls=play,learn`, for iframes in slides and course pages;
 * docs/embed.md). Whatever else is there — other parameters, malformed percent-escapes — is
 * ignored, never decoded by a library that could throw, and never inserted as HTML. The run
 * itself travels in the hash (src/state/link.ts).
 */
import { BACKENDS, type BackendChoice } from '../engine/config';
import { VIEW_IDS, type EmbedSpec, type ViewId } from '../state/store';

/** The controls an embedded page may show (ids of src/ui/actions.ts). */
export const EMBED_CONTROLS = [
  'play',
  'step',
  'equilibrium',
  'control',
  'learn',
  'next',
  'train',
  'stop',
  'reset',
] as const;
export type EmbedControl = (typeof EMBED_CONTROLS)[number];

/** An embed that names nothing shows the phase portrait and the traces, with these controls. */
const DEFAULT_EMBED: EmbedSpec = {
  views: ['phase', 'traces'],
  controls: ['play', 'control', 'learn', 'reset'],
};

export interface PageQuery {
  backend: BackendChoice;
  embed: EmbedSpec | null;
  /** Values that were present but not understood (shown in a notice). */
  rejected: string[];
}

function shown(text: string): string {
  return text.slice(0, 40);
}

/** A comma-separated list of known names; unknown ones go to `rejected`. */
function names<T extends string>(
  raw: string | null,
  known: readonly T[],
  key: string,
  rejected: string[],
): T[] | null {
  if (raw === null) return null;
  const out: T[] = [];
  for (const part of raw.split(',').slice(0, 32)) {
    const name = part.trim();
    if (name === '') continue;
    if ((known as readonly string[]).includes(name)) {
      if (!out.includes(name as T)) out.push(name as T);
    } else rejected.push(`${key}=${shown(name)}`);
  }
  return out;
}

export function readQuery(search: string): PageQuery {
  const out: PageQuery = { backend: 'auto', embed: null, rejected: [] };
  let params: URLSearchParams;
  try {
    // URLSearchParams keeps a malformed escape such as %zz as it is instead of throwing.
    params = new URLSearchParams(search);
  } catch {
    return out;
  }
  const backend = params.get('backend');
  if (backend !== null) {
    if ((BACKENDS as readonly string[]).includes(backend)) out.backend = backend as BackendChoice;
    else out.rejected.push(`backend=${shown(backend)}`);
  }
  const embed = params.get('embed');
  if (embed === '1' || embed === 'true') {
    const views = names<ViewId>(params.get('views'), VIEW_IDS, 'views', out.rejected);
    const controls = names<EmbedControl>(
      params.get('controls'),
      EMBED_CONTROLS,
      'controls',
      out.rejected,
    );
    out.embed = {
      views: views?.length ? views : DEFAULT_EMBED.views,
      controls: controls ?? DEFAULT_EMBED.controls,
    };
  } else if (embed !== null && embed !== '0') out.rejected.push(`embed=${shown(embed)}`);
  return out;
}
