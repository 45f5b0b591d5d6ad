/* global self, URL, fetch, Headers, Response, caches */
/*
 * LCP Lab's service worker: cross-origin isolation and offline use, on a plain static host.
 *
 * Isolation: the engine's WASM kernel uses threads, which need SharedArrayBuffer, which browsers
 * give only to cross-origin isolated pages (Cross-Origin-Opener-Policy: same-origin and
 * Cross-Origin-Embedder-Policy: require-corp). Every same-origin GET is served with both headers
 * added (src/isolation.ts registers this worker and reloads the page once when it needs them).
 *
 * Offline: on install the files of the build (precache.json, written by the build) are cached —
 * the app, its WASM and its data — so that after one visit LCP Lab works with the network cut (a
 * lecture hall's Wi-Fi). Pages are fetched from the network first (a new version shows at once),
 * the cache answering when the network does not; the build's files, whose names change with
 * their content, come from the cache first. The registration's `?v=` names the build: a new
 * build installs a new worker, which tells the pages (they offer a reload).
 */
const VERSION = new URL(self.location.href).searchParams.get('v') || 'dev';
const CACHE = `lcp-lab-${VERSION}`;
const PREFIX = 'lcp-lab-';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      try {
        const response = await fetch(new URL('precache.json', self.registration.scope), {
          cache: 'no-cache',
        });
        if (response.ok) {
          const files = await response.json();
          const cache = await caches.open(CACHE);
          await cache.addAll(files.map((f) => new URL(f, self.registration.scope).href));
        }
      } catch {
        // No list (a development server) or no network: files are cached as they are fetched.
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      const old = names.filter((n) => n.startsWith(PREFIX) && n !== CACHE);
      await Promise.all(old.map((n) => caches.delete(n)));
      await self.clients.claim();
      if (old.length) {
        const pages = await self.clients.matchAll({ type: 'window' });
        for (const page of pages) page.postMessage({ type: 'lcp-updated', version: VERSION });
      }
    })(),
  );
});

/** The response with the isolation headers added. */
function isolated(response) {
  if (response.status === 0 || response.type === 'opaqueredirect') return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (e) {
    const cached =
      (await cache.match(request, { ignoreSearch: true })) ||
      (await cache.match(new URL('./', self.registration.scope).href)) ||
      (await cache.match(new URL('index.html', self.registration.scope).href));
    if (cached) return cached;
    throw e;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Chromium rejects this combination when a request is re-issued from a service worker.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  // Ranges (media) are not cached; the app asks for none.
  if (request.headers.has('range')) {
    event.respondWith(fetch(request).then(isolated));
    return;
  }
  const fresh =
    request.mode === 'navigate' || url.pathname.endsWith('.html') || url.pathname.endsWith('/');
  event.respondWith((fresh ? networkFirst(request) : cacheFirst(request)).then(isolated));
});
