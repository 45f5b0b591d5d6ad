/**
 * A new version of the app: the service worker (public/coi-sw.js) tells the pages when a new
 * build has replaced the cached one; a page of an older build offers a reload.
 */
import { BUILD_ID } from '../isolation';
import { pushNotice } from '../state/store';

export function listenForUpdates(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data: unknown = event.data;
    if (typeof data !== 'object' || data === null) return;
    const { type, version } = data as { type?: unknown; version?: unknown };
    if (type !== 'lcp-updated' || version === BUILD_ID) return;
    pushNotice(
      {
        level: 'info',
        key: 'update',
        text: 'A new version of LCP Lab is ready (it works offline too).',
      },
      { label: 'Reload', run: () => location.reload() },
    );
  });
}
