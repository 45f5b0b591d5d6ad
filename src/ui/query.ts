/**
 * What the page reads from its address. Only `?backend=` (webgl | wasm | cpu | auto) means
 * anything today; whatever else is there — other parameters, malformed percent-escapes — is
 * ignored, never decoded by a library that could throw, and never inserted as HTML.
 */
import { BACKENDS, type BackendChoice } from '../engine/config';

export interface PageQuery {
  backend: BackendChoice;
  /** Values that were present but not understood (shown in a notice). */
  rejected: string[];
}

export function readQuery(search: string): PageQuery {
  const out: PageQuery = { backend: 'auto', rejected: [] };
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
    else out.rejected.push(`backend=${backend.slice(0, 40)}`);
  }
  return out;
}
