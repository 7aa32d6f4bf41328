import { readFileSync } from 'node:fs';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { catalogConnectSources, contentSecurityPolicy, ISOLATION_HEADERS, LOCAL_SOURCES, parseSourceList } from './src/pwa/policy.ts';
import { localModels } from './tools/vite-local-models.ts';
import { pdfjsAssets } from './tools/vite-pdfjs-assets.ts';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Where the app may fetch from: itself, the model hosts of public/models.json, localhost, and
 * what the deployer adds with MODEL_HOSTS (e.g. the host of their converted models).
 */
const connectSources = [
  ...catalogConnectSources(JSON.parse(readFileSync(new URL('./public/models.json', import.meta.url), 'utf8'))),
  ...LOCAL_SOURCES,
  ...parseSourceList(process.env.MODEL_HOSTS),
];

/** The CSP as a <meta> tag in the built page (not in dev: Vite's dev server injects inline scripts). */
function contentSecurityPolicyMeta(): Plugin {
  return {
    name: 'hanmadi-csp-meta',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler: () => [
        { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy(connectSources, 'meta') }, injectTo: 'head-prepend' },
      ],
    },
  };
}

/**
 * `npm run dev` on the port where `npm start` ran: the built app's service worker would go on
 * serving that build. The dev server answers the browser's update check with a worker that
 * removes itself and its precache, and reloads the page into the dev server.
 */
function devServiceWorkerReset(): Plugin {
  const script = `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil((async () => {
  await self.registration.unregister();
  for (const key of await caches.keys()) if (key.startsWith('workbox-precache')) await caches.delete(key);
  for (const client of await self.clients.matchAll({ type: 'window' })) client.navigate(client.url);
})()));`;
  return {
    name: 'hanmadi-dev-sw-reset',
    apply: 'serve',
    configureServer(server) {
      const base = server.config.base.startsWith('/') ? server.config.base : '/';
      server.middlewares.use((req, res, next) => {
        if (new URL(req.url ?? '/', 'http://localhost').pathname !== `${base}sw.js`) return next();
        res.setHeader('Content-Type', 'text/javascript');
        res.setHeader('Cache-Control', 'no-cache');
        res.end(script);
      });
    },
  };
}

const appName = { ko: '한마디 Hanmadi', en: 'Hanmadi (한마디)' };
const appDescription = {
  ko: '브라우저 안에서만 실행되는 한국어·영어 AI 채팅. 대화는 이 기기를 떠나지 않습니다.',
  en: 'A private Korean/English AI chat that runs entirely in your browser. Nothing leaves this device.',
};

/**
 * W3C manifest localization (`*_localized`, https://w3c.github.io/manifest/#localized-members):
 * not in vite-plugin-pwa's types, and not implemented by browsers yet (they ignore it).
 */
const localizedMembers: Record<string, unknown> = {
  name_localized: appName,
  short_name_localized: { ko: '한마디', en: 'Hanmadi' },
  description_localized: appDescription,
};

/**
 * `vite build --mode bench` builds only the benchmark page (bench.html, src/bench/) into
 * dist-bench/: it bundles the peer engine (wllama, ~10 MB of wasm), which the app must not ship,
 * so the app's build never sees bench.html and its service worker never precaches it. The bench
 * build has no service worker and no CSP meta (a developer page on a local server).
 * The dev server serves /bench.html in every mode.
 */
export default defineConfig(({ mode }) => ({
  // A relative base by default, so dist/ works from any sub-path of a static host; BASE_PATH pins one.
  base: process.env.BASE_PATH ?? './',
  define: {
    __HANMADI_BUILD__: JSON.stringify(process.env.HANMADI_BUILD_ID ?? pkg.version),
    __HANMADI_CSP_HEADER__: JSON.stringify(contentSecurityPolicy(connectSources, 'header')),
  },
  plugins: [
    react(),
    localModels(),
    // The bench build has no service worker and no CSP meta (see above).
    ...(mode === 'bench'
      ? []
      : [
          contentSecurityPolicyMeta(),
          devServiceWorkerReset(),
          pdfjsAssets(),
          ...VitePWA({
            strategies: 'injectManifest',
            srcDir: 'src/pwa',
            filename: 'sw.ts',
            registerType: 'prompt',
            // Registered by src/features/updates (virtual:pwa-register/react): no injected script.
            injectRegister: false,
            // The glob below already precaches the icons; listing them twice only duplicates entries.
            includeManifestIcons: false,
            injectManifest: {
              // Classic script: module service workers are not supported everywhere yet.
              rollupFormat: 'iife',
              // pdf.js's Korean CMaps (tools/vite-pdfjs-assets.ts), so Korean PDFs are read offline too; the
              // other scripts' CMaps are in dist/ for online use (168 files in all would slow the first install).
              globPatterns: ['**/*.{html,js,mjs,css,wasm,json,webmanifest,png,svg}', 'pdfjs/cmaps/{Adobe-Korea1-*,KSC*,UniKS-*}.bcmap'],
              // manifest.webmanifest is added by the plugin itself.
              globIgnores: ['**/*.map', 'manifest.webmanifest'],
              // ONNX Runtime's WASM binary is ~26 MB; the precache must hold it for offline use.
              maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
            },
            manifest: {
              id: './',
              // Browsers that support manifest localization pick name_localized; the others show
              // the bilingual name, Korean first.
              name: appName.ko,
              short_name: '한마디',
              description: `${appDescription.ko} ${appDescription.en}`,
              lang: 'ko',
              dir: 'ltr',
              start_url: './',
              scope: './',
              display: 'standalone',
              theme_color: '#2a5bd7',
              background_color: '#f7f7f5',
              categories: ['productivity', 'utilities'],
              icons: [
                { src: 'pwa-192x192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
                { src: 'pwa-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
                { src: 'maskable-icon-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
              ],
              ...localizedMembers,
            },
          }),
        ]),
  ],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
    ...(mode === 'bench' ? { outDir: 'dist-bench', rollupOptions: { input: { bench: 'bench.html' } } } : {}),
  },
  server: { port: Number(process.env.PORT ?? 5173), headers: ISOLATION_HEADERS },
  preview: { port: Number(process.env.PORT ?? 5173), headers: ISOLATION_HEADERS },
}));
