/// <reference lib="webworker" />
/**
 * The service worker (vite-plugin-pwa injectManifest; built as a classic script).
 *
 * - Precaches the app shell and ONNX Runtime's WASM runtime (every file of dist/ but source
 *   maps; the list and revisions are injected at build time), so the app boots and a stored
 *   model runs with no network at all.
 * - Serves only those files. Everything else, model files above all, goes straight to the
 *   network without a respondWith: Range requests, streaming and CORS stay the browser's own, and
 *   nothing from a model host lands in Cache Storage (models live in IndexedDB).
 * - Adds COOP/COEP and the Content-Security-Policy to what it serves (coi-serviceworker style),
 *   so a host that sends no headers still gets a cross-origin isolated page and worker.
 * - Updates wait: a new version installs in the background and activates only when the page asks
 *   (SKIP_WAITING, sent once the user accepts and nothing is running: features/updates).
 */
import { clientsClaim } from 'workbox-core';
import { addPlugins, cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { ISOLATION_HEADERS, withHeaders } from './policy.ts';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | { url: string; revision: string | null })[] };
/** The header form of the policy, computed from public/models.json at build time (vite.config.ts `define`). */
declare const __HANMADI_CSP_HEADER__: string;

const SERVED_HEADERS = { ...ISOLATION_HEADERS, 'Content-Security-Policy': __HANMADI_CSP_HEADER__ };

addPlugins([{ handlerWillRespond: async ({ response }) => withHeaders(response, SERVED_HEADERS) }]);
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// Navigations to the app (any query string, e.g. ?lang=en) get the precached shell. Only the
// scope's own page: a navigation to anything else under the scope is not ours to answer.
const scopePath = new URL(self.registration.scope).pathname;
const escaped = scopePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { allowlist: [new RegExp(`^${escaped}(index\\.html)?(\\?.*)?$`)] }));

// A first install controls the open page at once (offline from the first visit); an update
// waits for SKIP_WAITING, then takes over the pages of the old version (which reload when idle).
clientsClaim();
self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
