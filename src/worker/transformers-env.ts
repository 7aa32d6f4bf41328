/**
 * transformers.js settings for the app, applied once when the worker starts: model files only
 * from the Dexie store (model-cache.ts; never the Cache API, never a silent network fetch). It
 * loads only tokenizers here (the engine creates the ONNX session itself), on the ONNX Runtime
 * build ort-runtime.ts installed, whose files come from our own origin.
 */
import { env } from '@huggingface/transformers';
import { guardFetch, readModelsFromStore } from './model-cache.ts';

export function configureTransformers(): void {
  readModelsFromStore();
  env.fetch = guardFetch(env.fetch);
  // Never copy ONNX Runtime's binary into a cache and import it from a blob: URL, which the
  // Content-Security-Policy (script-src 'self') refuses.
  env.useWasmCache = false;
}
