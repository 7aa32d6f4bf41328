/**
 * transformers.js settings for the app, applied once when the worker starts: model files only
 * from the Dexie store (model-cache.ts; never the Cache API, never a silent network fetch), and
 * ONNX Runtime's WASM runtime served from our own origin (bundled by Vite) instead of the CDN
 * transformers.js defaults to, so the app works offline.
 */
import { env } from '@huggingface/transformers';
import { guardFetch, readModelsFromStore } from './model-cache.ts';
import ortWasmFactoryUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

export function configureTransformers(): void {
  readModelsFromStore();
  env.fetch = guardFetch(env.fetch);
  // ONNX Runtime imports and fetches its own files, which the service worker precaches. Without
  // this, transformers.js would pass the 26 MB binary through the model cache and import the
  // factory from a blob: URL, which the Content-Security-Policy (script-src 'self') refuses.
  env.useWasmCache = false;
  const onnx = env.backends.onnx;
  if (onnx.wasm) onnx.wasm.wasmPaths = { mjs: new URL(ortWasmFactoryUrl, self.location.href).href, wasm: new URL(ortWasmUrl, self.location.href).href };
}
