/**
 * The context-length setting of a model: which lengths to offer with the KV memory each costs,
 * which the GPU refuses and why (src/model/kv-memory.ts against the adapter's limits), the
 * default, and the user's choice remembered per model (localStorage, like the selected model:
 * a small preference, not user data).
 */
import type { HfLlamaConfig } from '../../model/config.ts';
import { UnsupportedModelError } from '../../model/config.ts';
import type { ModelDtype } from '../../model/catalog.ts';
import { contextLengthChoices, kvBytesPerToken, KV_ELEMENT_BYTES, type AdapterLimits, type ContextChoices } from '../../model/kv-memory.ts';
import { resolveLlamaShape } from '../../model/config.ts';
import { storedExternalDataBytes } from '../../model/size-estimate.ts';

export function computeContextChoices(
  modelId: string,
  config: HfLlamaConfig,
  dtype: ModelDtype,
  limits: AdapterLimits | undefined,
  /** It runs on WebAssembly: lengths whose cache and weights pass its 4 GiB heap are refused. */
  onCpu = false,
): ContextChoices {
  const native = config.max_position_embeddings;
  try {
    const wasmWeightBytes = onCpu ? storedExternalDataBytes(resolveLlamaShape(config), dtype) : undefined;
    // Only default RoPE and YaRN can be stretched (maxContextLength stops llama3 at its window; rope-patch refuses the rest at load).
    const { options, defaultTokens } = contextLengthChoices(config, { dtype, limits, wasmWeightBytes });
    return {
      modelId,
      dtype,
      native,
      kvBytesPerToken: kvBytesPerToken(resolveLlamaShape(config), KV_ELEMENT_BYTES[dtype]),
      options,
      defaultTokens,
      limitsChecked: limits !== undefined,
    };
  } catch (error) {
    if (!(error instanceof UnsupportedModelError)) throw error;
    return {
      modelId,
      dtype,
      native,
      kvBytesPerToken: null,
      options: [{ tokens: native, kvBytes: 0, extended: false, refusal: null }],
      defaultTokens: native,
      limitsChecked: false,
    };
  }
}

/** The length to load with: the remembered choice if it is still offered and allowed, else the default. */
export function effectiveLength(choices: ContextChoices, remembered: number | undefined): number | undefined {
  const usable = (tokens: number | undefined) => choices.options.some((o) => o.tokens === tokens && !o.refusal);
  if (remembered !== undefined && usable(remembered)) return remembered;
  return choices.defaultTokens ?? undefined;
}

const STORAGE_KEY = 'hanmadi.contextLengths';

function storage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

/** The remembered lengths, by model id (malformed data is ignored). */
export function readRememberedLengths(): Record<string, number> {
  try {
    const parsed = JSON.parse(storage()?.getItem(STORAGE_KEY) ?? '{}') as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => Number.isInteger(v) && (v as number) > 0)) as Record<string, number>;
  } catch {
    return {};
  }
}

export function rememberLength(all: Record<string, number>, modelId: string, tokens: number): Record<string, number> {
  const next = { ...all, [modelId]: tokens };
  try {
    storage()?.setItem(STORAGE_KEY, JSON.stringify(next));
  } catch {
    // Storage full or blocked: the choice holds for this session.
  }
  return next;
}
