/**
 * The page's entry: settle cross-origin isolation first (src/isolation.ts; it may reload the page
 * once, before anything has started), then start the app.
 */
import { ensureIsolation, userReloaded } from './isolation';

userReloaded();
const isolation = await ensureIsolation();
(globalThis as { lcpIsolation?: unknown }).lcpIsolation = isolation;
await import('./ui/main');
