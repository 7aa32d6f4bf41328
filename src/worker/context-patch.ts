/**
 * The long-context patch at load, on the worker's side: from the stored config.json and graph of
 * a precision, the bytes transformers.js is served instead (openStoredModel's per-load
 * `overrides`) when the chosen context is past the native window — a config with YaRN
 * rope_scaling and a raised max_position_embeddings, and graphs whose RoPE constants were
 * recomputed from it (src/model/rope-patch.ts). The store is only read: the originals stay as
 * they were downloaded, so another length (or the native one) is one load away.
 *
 * Also the load-time check of the chosen length against the GPU device's real buffer limits
 * (src/model/kv-memory.ts): the page checks the adapter's limits before offering a length, but
 * the device the model runs on is what counts.
 */
import { type ModelStore } from '../db/model-store.ts';
import { StoreError } from '../db/stored-file.ts';
import type { ModelDtype } from '../model/catalog.ts';
import { UnsupportedModelError, type HfLlamaConfig } from '../model/config.ts';
import { checkContextLength, type AdapterLimits } from '../model/kv-memory.ts';
import { graphFiles } from '../model/model-files.ts';
import { patchConfigJson, patchOnnxRope, RopePatchError, type RopeForm } from '../model/rope-patch.ts';
import { AppError } from '../lib/errors.ts';

export interface ContextPatch {
  /** Paths → bytes to serve instead of the stored files (empty within the native window). */
  overrides: Map<string, Uint8Array>;
  /** The window the engine budgets with. */
  window: number;
  /** The stored config's max_position_embeddings. */
  nativeContext: number;
  /** The stored config (unpatched). */
  config: HfLlamaConfig;
  /** Past the native window: the YaRN factor and the RoPE form found in the graph. */
  extension?: { factor: number; form: RopeForm };
}

async function readStored(store: ModelStore, modelKey: string, path: string): Promise<Uint8Array> {
  try {
    return await store.readFileBytes(modelKey, path);
  } catch (error) {
    if (error instanceof StoreError) {
      // A dropped corrupt chunk is fetched again by the page, as for a corrupt chunk met while loading.
      if (error.code === 'chunk-corrupt') throw new AppError('model-corrupt', error.message, { file: path });
      throw new AppError('model-files-missing', error.message, { file: path });
    }
    throw error;
  }
}

function unsupported(error: RopePatchError, native: number, requested: number): AppError {
  return new AppError('context-unsupported', error.message, { native, requested, reason: error.code });
}

/**
 * The overrides for loading `dtype` of a stored model with a `contextLength`-token window
 * (undefined: the native window). Throws AppError 'context-unsupported' when the model's RoPE
 * cannot be extended safely (unknown rope type, constants not recognised or kept in external data).
 * Null when no length was asked for and the config names no window: the model loads unpatched.
 */
export async function prepareContext(store: ModelStore, modelKey: string, dtype: ModelDtype, contextLength?: number): Promise<ContextPatch | null> {
  const configBytes = await readStored(store, modelKey, 'config.json');
  // Within the native window the patch is the identity: 1 token always is.
  const requested = contextLength ?? 1;
  let plan;
  try {
    plan = patchConfigJson(configBytes, requested);
  } catch (error) {
    if (!(error instanceof RopePatchError)) throw error;
    // A config we cannot read the window from (no top-level max_position_embeddings, as in some
    // user-added exports) still loads at its native window: nothing to patch, the engine sizes it.
    if (error.code === 'invalid-config' && contextLength === undefined) return null;
    if (error.code === 'invalid-config') throw new AppError('load-failed', error.message);
    const native = (JSON.parse(new TextDecoder().decode(configBytes)) as HfLlamaConfig).max_position_embeddings;
    throw unsupported(error, native, requested);
  }
  const native = plan.original.max_position_embeddings;
  const window = contextLength ?? native;
  if (!plan.changed) return { overrides: new Map(), window, nativeContext: native, config: plan.original };

  const overrides = new Map<string, Uint8Array>([['config.json', plan.bytes]]);
  let form: RopeForm | null = null;
  // Only the graph itself: external data never holds our RoPE constants (rope-patch refuses
  // exports that keep them there) and is served unchanged from the store.
  for (const path of graphFiles(plan.original, dtype).filter((p) => p.endsWith('.onnx'))) {
    try {
      const graph = patchOnnxRope(await readStored(store, modelKey, path), plan.original, plan.patched);
      overrides.set(path, graph.bytes);
      form = graph.form;
    } catch (error) {
      if (error instanceof RopePatchError) throw unsupported(error, native, window);
      throw error;
    }
  }
  const scaling = (plan.patched.rope_scaling ?? plan.patched.rope_parameters) as { factor?: number } | null | undefined;
  return {
    overrides,
    window,
    nativeContext: native,
    config: plan.original,
    extension: { factor: scaling?.factor ?? window / native, form: form ?? 'inv-freq' },
  };
}

/**
 * Refuses a window whose largest buffers exceed the device's limits (GroupQueryAttention graph,
 * the whole prompt prefilled in one run, as transformers.js does). Models kv-memory cannot size
 * (not Llama-shaped) are not checked here; ONNX Runtime's own allocation error then speaks.
 */
export function checkDeviceLimits(config: HfLlamaConfig, window: number, dtype: ModelDtype, limits: AdapterLimits): void {
  let refusal;
  try {
    refusal = checkContextLength(config, window, { dtype, limits, maxFactor: Number.POSITIVE_INFINITY });
  } catch (error) {
    if (error instanceof UnsupportedModelError) return;
    throw error;
  }
  if (refusal?.code === 'buffer-too-large') {
    throw new AppError('context-too-large', refusal.message, {
      tokens: window,
      bytes: refusal.bytes,
      limit: refusal.limit,
      limitBytes: refusal.limitBytes,
      buffer: refusal.buffer,
    });
  }
}
