/**
 * What a context length costs, and whether a WebGPU adapter can run it, for the model-settings
 * UI. Pure: the caller passes the model's config, the graph dtype it loads and `adapter.limits`.
 *
 * - KV cache bytes = 2 (K and V) × layers × kv_heads × head_dim × bytes per element × tokens.
 *   Kanana (32 layers, 8 KV heads, head_dim 128) in fp16: 128 KiB per token, 4 GiB at 32K.
 * - Per-buffer limits: a WebGPU buffer must fit maxBufferSize and, to be bound by a shader,
 *   maxStorageBufferBindingSize. The largest context-dependent buffers of one layer of our graph
 *   (src/converter/llama-graph.ts) for a context of T tokens and a prefill chunk of S tokens
 *   (batch 1; b = bytes per activation, 4 in fp32/q4/q8 graphs, 2 in fp16/q4f16 ones):
 *     present.N.key / .value   kv_heads × T × head_dim × b
 *     MLP activations          S × intermediate_size × b (gate, up and their SwiGLU product)
 *   and, by attention form:
 *   - GroupQueryAttention (default), as onnxruntime-web's WebGPU EP runs it
 *     (contrib_ops/webgpu/bert/flash_attention.cc): no score matrix and no expanded KV heads.
 *     Chunks of 32+ tokens take the FlashAttention prefill kernel (tiles in workgroup memory).
 *     Shorter ones (every decode step, a short turn after a cached prefix) take split-reduce
 *     kernels with a partial-output buffer of heads × S × ⌈T / 64⌉ × head_dim × b, so
 *     S ≤ 31 there — unless the prefill kernel's K/V tiles (2 × 16 × head_dim × b bytes) exceed
 *     WebGPU's guaranteed 16 KiB of workgroup storage, when every chunk goes that way.
 *   - plain ops (fallback): Expand copies the KV heads to every query head
 *     (heads × T × head_dim × b) and the scores are materialized (heads × S × T × 4, float32
 *     even in fp16 graphs; Softmax output too).
 *   transformers.js prefills a whole prompt in one run, and after turns are dropped the kept
 *   history is prefilled again, so S defaults to T (`prefillTokens` lowers it for a caller that
 *   chunks its prefill). (WASM is not bound by these limits; its CPU kernel does allocate the
 *   float32 scores of a chunk, heads × S × T × 4.)
 * - Offered lengths: powers of two from 2K (or the native window, if smaller) up to the YaRN
 *   maximum, native window × 4.4 by Kanana's recipe (32K → 128K), plus the native window itself.
 *   A llama3-RoPE model (Llama 3.2: max_position_embeddings 131,072, pre-trained at 8,192 and
 *   long-context trained with the scaled frequencies) has its native window = the config's
 *   131,072 and no extension beyond it; the 8K default cap and the buffer limits are what bind.
 *   Default: the native window capped at 8K, stepped down until the adapter can run it; never the
 *   maximum.
 */
import type { ModelDtype } from './catalog.ts';
import type { AttentionKind, GraphDtype } from './graph-format.ts';
import { resolveLlamaShape, type HfLlamaConfig, type LlamaShape } from './config.ts';
import { extendsWithYarn, KANANA_YARN_RECIPE, originalContextWindow } from './yarn.ts';

/** Bytes per KV-cache element (and activation): fp32, q4 and q8 graphs keep a float32 cache, fp16 and q4f16 a float16 one. */
export const KV_ELEMENT_BYTES: Record<GraphDtype, number> = { fp32: 4, q4: 4, q8: 4, fp16: 2, q4f16: 2 };

/** The subset of GPUSupportedLimits that bounds one buffer. */
export interface AdapterLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

type KvShape = Pick<LlamaShape, 'numLayers' | 'numKvHeads' | 'headDim'>;

export function kvBytesPerToken(shape: KvShape, elementBytes: number): number {
  return 2 * shape.numLayers * shape.numKvHeads * shape.headDim * elementBytes;
}

export function kvCacheBytes(shape: KvShape, elementBytes: number, tokens: number): number {
  return kvBytesPerToken(shape, elementBytes) * tokens;
}

/** ONNX Runtime's WebAssembly build is 32-bit: its heap (weights, KV cache, activations) ends at 4 GiB. */
export const WASM_MEMORY_LIMIT = 4 * 1024 ** 3;

/**
 * What a loaded model holds at `tokens` of context: its weights, the KV cache and the largest
 * activation of a prompt run over the whole context (largestBuffers). On the CPU path all of it
 * lives in the WebAssembly heap.
 */
export function runtimeMemoryBytes(shape: LlamaShape, dtype: GraphDtype, tokens: number, weightBytes: number): number {
  const elementBytes = KV_ELEMENT_BYTES[dtype];
  const activations = largestBuffers(shape, elementBytes, tokens).filter((b) => b.buffer !== 'present-kv');
  return weightBytes + kvCacheBytes(shape, elementBytes, tokens) + Math.max(0, ...activations.map((b) => b.bytes));
}

export type GraphBuffer = 'present-kv' | 'mlp-activations' | 'attention-partials' | 'repeated-kv' | 'attention-scores';

export interface BufferSize {
  buffer: GraphBuffer;
  bytes: number;
}

/** Chunks shorter than this run GroupQueryAttention's split-reduce kernels on WebGPU. */
const GQA_PREFILL_KERNEL_MIN_TOKENS = 32;
/** Keys per split-reduce tile. */
const GQA_SPLIT_TILE = 64;
/** WebGPU's guaranteed maxComputeWorkgroupStorageSize, which the prefill kernel's tiles must fit. */
const MIN_WORKGROUP_STORAGE = 16384;

/** The largest single buffers of one layer for `tokens` of context and a prefill of `prefillTokens`. */
export function largestBuffers(
  shape: LlamaShape,
  elementBytes: number,
  tokens: number,
  prefillTokens = tokens,
  attention: AttentionKind = 'gqa',
): BufferSize[] {
  const { numHeads: heads, numKvHeads, headDim, intermediateSize } = shape;
  const chunk = Math.min(prefillTokens, tokens);
  const sizes: BufferSize[] = [
    { buffer: 'present-kv', bytes: numKvHeads * tokens * headDim * elementBytes },
    { buffer: 'mlp-activations', bytes: chunk * intermediateSize * elementBytes },
  ];
  if (attention === 'gqa') {
    const prefillKernelFits = 2 * 16 * headDim * elementBytes <= MIN_WORKGROUP_STORAGE;
    const splitRows = prefillKernelFits ? Math.min(chunk, GQA_PREFILL_KERNEL_MIN_TOKENS - 1) : chunk;
    sizes.push({ buffer: 'attention-partials', bytes: heads * splitRows * Math.ceil(tokens / GQA_SPLIT_TILE) * headDim * elementBytes });
  } else {
    if (heads !== numKvHeads) sizes.push({ buffer: 'repeated-kv', bytes: heads * tokens * headDim * elementBytes });
    sizes.push({ buffer: 'attention-scores', bytes: heads * chunk * tokens * 4 });
  }
  return sizes;
}

export type ContextRefusal =
  | { code: 'invalid-length'; message: string }
  | { code: 'beyond-maximum'; maximum: number; message: string }
  | { code: 'buffer-too-large'; buffer: GraphBuffer; bytes: number; limit: keyof AdapterLimits; limitBytes: number; message: string }
  | { code: 'wasm-memory'; bytes: number; limitBytes: number; message: string };

export interface ContextOptions {
  dtype: GraphDtype;
  /** `adapter.limits`; without it only the YaRN maximum is checked. */
  limits?: AdapterLimits;
  /** Largest prompt run in one graph call (default: the whole context). */
  prefillTokens?: number;
  /** The graph's attention form (default GroupQueryAttention, what the converter writes). */
  attention?: AttentionKind;
  /** Largest YaRN factor over the native window to offer (default: Kanana's 4.4). */
  maxFactor?: number;
  /**
   * On the CPU path: the model's weight bytes, which share WebAssembly's 4 GiB heap with the
   * cache, so a length whose runtimeMemoryBytes passes it is refused (q8 and q4 keep a float32
   * cache: Kanana's is 2 GiB at 8K tokens).
   */
  wasmWeightBytes?: number;
}

/**
 * The longest context offered: the original window × maxFactor (never below the native window);
 * for RoPE types YaRN cannot stack on (llama3, linear), max_position_embeddings itself.
 */
export function maxContextLength(config: HfLlamaConfig, maxFactor: number = KANANA_YARN_RECIPE.factor): number {
  if (!extendsWithYarn(config)) return config.max_position_embeddings;
  return Math.max(config.max_position_embeddings, Math.floor(originalContextWindow(config) * maxFactor));
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;
const BUFFER_NAMES: Record<GraphBuffer, string> = {
  'present-kv': 'Each layer’s key/value cache',
  'mlp-activations': 'The feed-forward activations of one prompt run',
  'attention-partials': 'The partial attention outputs of a short prompt run',
  'repeated-kv': 'The grouped key/value heads expanded for attention',
  'attention-scores': 'The attention scores of one prompt run',
};

/** Null when `tokens` can run on the adapter, else why not. */
export function checkContextLength(config: HfLlamaConfig, tokens: number, options: ContextOptions): ContextRefusal | null {
  if (!Number.isInteger(tokens) || tokens <= 0)
    return { code: 'invalid-length', message: `A context length must be a positive whole number of tokens, got ${tokens}.` };
  const maximum = maxContextLength(config, options.maxFactor);
  if (tokens > maximum)
    return {
      code: 'beyond-maximum',
      maximum,
      message: extendsWithYarn(config)
        ? `${tokens} tokens is beyond this model’s maximum of ${maximum} (YaRN over its ${originalContextWindow(config)}-token window).`
        : `${tokens} tokens is beyond this model’s maximum of ${maximum} (its RoPE scaling cannot be extended further).`,
    };
  const shape = resolveLlamaShape(config);
  if (options.wasmWeightBytes !== undefined) {
    const bytes = runtimeMemoryBytes(shape, options.dtype, tokens, options.wasmWeightBytes);
    if (bytes > WASM_MEMORY_LIMIT)
      return {
        code: 'wasm-memory',
        bytes,
        limitBytes: WASM_MEMORY_LIMIT,
        message: `${tokens} tokens would need ${mib(bytes)} with the weights, more than WebAssembly's ${mib(WASM_MEMORY_LIMIT)}.`,
      };
  }
  if (!options.limits) return null;
  for (const { buffer, bytes } of largestBuffers(shape, KV_ELEMENT_BYTES[options.dtype], tokens, options.prefillTokens, options.attention)) {
    for (const limit of ['maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
      const limitBytes = options.limits[limit];
      if (bytes > limitBytes) {
        return {
          code: 'buffer-too-large',
          buffer,
          bytes,
          limit,
          limitBytes,
          message: `${BUFFER_NAMES[buffer]} would take ${mib(bytes)}, more than this GPU’s ${limit} of ${mib(limitBytes)}.`,
        };
      }
    }
  }
  return null;
}

/** Powers of two from min(2048, native) to the maximum, plus the native window itself, ascending. */
export function offeredContextLengths(config: HfLlamaConfig, maxFactor?: number): number[] {
  const native = config.max_position_embeddings;
  const maximum = maxContextLength(config, maxFactor);
  const lengths = new Set([native]);
  for (let p = 2 ** Math.ceil(Math.log2(Math.min(2048, native))); p <= maximum; p *= 2) lengths.add(p);
  return [...lengths].sort((a, b) => a - b);
}

export interface ContextLengthOption {
  tokens: number;
  /** KV cache bytes at this length, for the dtype asked about. */
  kvBytes: number;
  /** Beyond the native window: served with a YaRN-patched config and graph (rope-patch.ts). */
  extended: boolean;
  refusal: ContextRefusal | null;
}

export interface ContextLengthChoices {
  options: ContextLengthOption[];
  /** The suggested length, or null when the adapter can run none of them. */
  defaultTokens: number | null;
}

/** Default cap: Kanana's KV cache is 1 GiB in fp16 at 8K. */
export const DEFAULT_CONTEXT_CAP = 8192;

/** Everything the context-length setting shows: each length's memory and verdict, and a default. */
export function contextLengthChoices(config: HfLlamaConfig, options: ContextOptions & { cap?: number }): ContextLengthChoices {
  const shape = resolveLlamaShape(config);
  const native = config.max_position_embeddings;
  const list = offeredContextLengths(config, options.maxFactor).map((tokens) => ({
    tokens,
    kvBytes: kvCacheBytes(shape, KV_ELEMENT_BYTES[options.dtype], tokens),
    extended: tokens > native,
    refusal: checkContextLength(config, tokens, options),
  }));
  const ceiling = Math.min(native, options.cap ?? DEFAULT_CONTEXT_CAP);
  const usable = list.filter((o) => o.tokens <= ceiling && !o.refusal);
  return { options: list, defaultTokens: usable.length ? usable[usable.length - 1].tokens : null };
}

/** The context lengths offered for one model and precision (the picker's options and default). */
export interface ContextChoices {
  modelId: string;
  dtype: ModelDtype;
  native: number;
  /** Null when the model is not Llama-shaped: only its native window is offered, memory unknown. */
  kvBytesPerToken: number | null;
  options: ContextLengthOption[];
  defaultTokens: number | null;
  /** Whether the GPU's limits were checked (false on WebAssembly, which has none of them). */
  limitsChecked: boolean;
}
