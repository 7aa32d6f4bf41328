import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { localModels } from './tools/vite-local-models.ts';

/**
 * Cross-origin isolation lets ONNX Runtime's WASM backend use threads (SharedArrayBuffer).
 * Model hosts are fetched with CORS, which require-corp allows.
 */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * `vite build --mode bench` builds only the benchmark page (bench.html, src/bench/) into
 * dist-bench/: it bundles the peer engine (wllama, ~10 MB of wasm), which the app must not ship.
 * The dev server serves /bench.html in every mode.
 */
export default defineConfig(({ mode }) => ({
  // A relative base by default, so dist/ works from any sub-path of a static host; BASE_PATH pins one.
  base: process.env.BASE_PATH ?? './',
  plugins: [react(), localModels()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
    ...(mode === 'bench' ? { outDir: 'dist-bench', rollupOptions: { input: { bench: 'bench.html' } } } : {}),
  },
  server: { port: Number(process.env.PORT ?? 5173), headers: isolationHeaders },
  preview: { port: Number(process.env.PORT ?? 5173), headers: isolationHeaders },
}));
