/* global self, URL, fetch, Headers, Response */
/*
 * Cross-origin isolation on a plain static host (LCP Lab). The engine's WASM kernel uses threads,
 * which need SharedArrayBuffer, which browsers give only to cross-origin isolated pages: pages
 * served with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy:
 * require-corp. A static host that cannot set headers gets them from this service worker, which
 * re-serves every same-origin GET with both headers added (src/isolation.ts registers it and
 * reloads the page once). Servers that send the headers themselves never load it.
 */
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  if (new URL(request.url).origin !== self.location.origin) return;
  // Chromium rejects this combination when a request is re-issued from a service worker.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(
    fetch(request).then((response) => {
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
    }),
  );
});
