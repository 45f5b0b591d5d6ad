/**
 * Cross-origin isolation for WASM threads (SharedArrayBuffer) on any static host. Already
 * isolated (the server sends COOP/COEP, as `vite` and `vite preview` do here): nothing to do.
 * Otherwise register public/coi-sw.js, which adds the headers, and reload once so that the page
 * itself is served with them. Where that is impossible the engine runs on one thread and the
 * status bar says why (src/worker/backends.ts).
 */

export interface Isolation {
  isolated: boolean;
  /** Why not, when not. */
  reason?: string;
}

const RELOADED = 'lcp-coi-reloaded';
const ISOLATION_RELOAD = 'lcp-isolation-reload';

/**
 * Did the user reload this page (not a first visit, not a link followed, not the isolation
 * reload)? Read at start-up, before ensureIsolation, and kept.
 */
let reloadedByUser: boolean | null = null;

export function userReloaded(): boolean {
  reloadedByUser ??= readReload();
  return reloadedByUser;
}

function readReload(): boolean {
  const nav = performance.getEntriesByType?.('navigation')[0] as
    PerformanceNavigationTiming | undefined;
  const store = storage();
  const ours = store?.getItem(ISOLATION_RELOAD) === '1';
  store?.removeItem(ISOLATION_RELOAD);
  return nav?.type === 'reload' && !ours;
}

/** The build this page belongs to (vite.config.ts): the service worker's version. */
export const BUILD_ID: string = import.meta.env.VITE_LCP_BUILD ?? 'dev';

/**
 * Register public/coi-sw.js for this build: it isolates the page and keeps the build's files for
 * offline use (a new build's URL installs a new worker, which replaces the old one's files).
 */
function register(): Promise<ServiceWorkerRegistration> {
  const url = new URL(`./coi-sw.js?v=${encodeURIComponent(BUILD_ID)}`, document.baseURI);
  return navigator.serviceWorker.register(url, { scope: './' });
}
/** How long the service worker may take to install before the app starts without it. */
const INSTALL_TIMEOUT_MS = 4000;

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/**
 * Resolves with the page's isolation — or never, when the page is about to reload under the
 * service worker (at most once per tab session: no reload loop).
 */
export async function ensureIsolation(): Promise<Isolation> {
  if (window.crossOriginIsolated) {
    // The server sends the headers: the service worker is still wanted, for offline use.
    if (!import.meta.env.DEV && window.isSecureContext && 'serviceWorker' in navigator)
      void register().catch(() => undefined);
    return { isolated: true };
  }
  if (!window.isSecureContext)
    return { isolated: false, reason: 'not a secure context (https or localhost needed)' };
  if (!('serviceWorker' in navigator))
    return { isolated: false, reason: 'this browser has no service workers here' };
  const store = storage();
  if (!store) return { isolated: false, reason: 'no session storage to guard a reload' };
  if (store.getItem(RELOADED))
    return {
      isolated: false,
      reason: 'the service worker did not make the page cross-origin isolated',
    };
  try {
    // Registration can also never settle (service workers blocked by policy): give up after a while.
    const installed = (async () => {
      await register();
      await navigator.serviceWorker.ready;
      return true;
    })();
    const timeout = new Promise<false>((ok) => setTimeout(() => ok(false), INSTALL_TIMEOUT_MS));
    if (!(await Promise.race([installed, timeout])))
      return { isolated: false, reason: 'the service worker did not install in time' };
  } catch (e) {
    return {
      isolated: false,
      reason: `the service worker could not be installed (${e instanceof Error ? e.message : String(e)})`,
    };
  }
  store.setItem(RELOADED, '1');
  // This reload is ours, not the user's (a user's reload offers the saved session back).
  store.setItem(ISOLATION_RELOAD, '1');
  window.location.reload();
  return new Promise<Isolation>(() => {});
}
