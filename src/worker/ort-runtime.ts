/**
 * Which build of ONNX Runtime Web this worker runs, chosen once, before transformers.js loads.
 *
 * - JSPI (WebAssembly stack switching; Chromium 137+) where the browser has it. Its external-data
 *   loader reads each initializer from a Blob slice straight into place, so a model's weights are
 *   never held whole in JS memory while the session is created (model-session.ts passes the
 *   stored chunks as one Blob). On the CPU it runs as fast as the plain build (measured on the
 *   Kanana shape in Chromium: decode and prefill per layer within a few percent).
 * - asyncify elsewhere: the build transformers.js uses by default (WebGPU needs an async-capable
 *   build); external data is then handed over as bytes.
 *
 * The instance is published under Symbol.for('onnxruntime'), which transformers.js uses instead
 * of its own import (its tokenizers need no session, but one runtime per worker keeps it simple),
 * and the engine's `session.run` fetches must be tensors of this same instance.
 */
import type * as Ort from 'onnxruntime-web';
import asyncifyMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import asyncifyWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import jspiMjs from 'onnxruntime-web/ort-wasm-simd-threaded.jspi.mjs?url';
import jspiWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jspi.wasm?url';

export type OrtModule = typeof Ort;
export type OrtRuntimeKind = 'jspi' | 'asyncify';

const ORT_SYMBOL = Symbol.for('onnxruntime');

let installed: { kind: OrtRuntimeKind; ort: OrtModule } | null = null;

/** Whether this browser can run the JSPI build (WebAssembly.Suspending / promising). */
export function hasJspi(): boolean {
  const wasm = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
  return typeof wasm.Suspending === 'function' && typeof wasm.promising === 'function';
}

/** Loads the runtime this worker uses; call once, before anything imports transformers.js. */
export async function installOrtRuntime(prefer: OrtRuntimeKind | 'auto' = 'auto'): Promise<OrtRuntimeKind> {
  if (installed) return installed.kind;
  const kind: OrtRuntimeKind = prefer === 'asyncify' || (prefer === 'auto' && !hasJspi()) ? 'asyncify' : 'jspi';
  const ort = (kind === 'jspi' ? await import('onnxruntime-web/jspi') : await import('onnxruntime-web/webgpu')) as OrtModule;
  const [mjs, wasm] = kind === 'jspi' ? [jspiMjs, jspiWasm] : [asyncifyMjs, asyncifyWasm];
  // ONNX Runtime imports and fetches its own files from our origin (the service worker precaches
  // them); never the CDN transformers.js defaults to, and never through a blob: URL, which the
  // Content-Security-Policy (script-src 'self') refuses.
  ort.env.wasm.wasmPaths = { mjs: new URL(mjs, self.location.href).href, wasm: new URL(wasm, self.location.href).href };
  ort.env.wasm.proxy = false;
  (globalThis as Record<symbol, unknown>)[ORT_SYMBOL] = ort;
  installed = { kind, ort };
  return kind;
}

/** The runtime installed in this worker. */
export function ort(): OrtModule {
  if (!installed) throw new Error('ONNX Runtime is not installed in this worker yet.');
  return installed.ort;
}

export function ortRuntimeKind(): OrtRuntimeKind | null {
  return installed?.kind ?? null;
}
