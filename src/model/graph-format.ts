/**
 * The contract between the converter, which writes our ONNX graphs, and the code that reads or
 * patches them (the worker's long-context patch, KV-memory planning): precisions, attention forms
 * and the names of the initializers patched at load time (docs/model-format.md).
 */

/**
 * fp32 / fp16: float weights. q4 / q4f16: 4-bit MatMulNBits weights (for WebGPU). q8: int8 weights
 * with DynamicQuantizeMatMul, a CPU op (for WASM, where onnxruntime has no fast 4-bit kernel).
 */
export type GraphDtype = 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'q8';

/**
 * How attention is built: `gqa` = com.microsoft GroupQueryAttention (the default); `plain` = Concat
 * of the cache, Expand of the KV heads and an explicit masked softmax in standard ONNX ops (kept
 * as a fallback and a baseline for benchmarks).
 */
export type AttentionKind = 'gqa' | 'plain';

/**
 * How q4 / q4f16 graphs store the token embedding: `quantized` = MatMulNBits' 4-bit table read by
 * GatherBlockQuantized, which a tied head shares (the default); `float` = the layout before it
 * (float32 in q4, float16 in q4f16, a tied head as a separate 4-bit copy), which stored models may
 * still have and which benchmarks compare against.
 */
export type EmbeddingLayout = 'quantized' | 'float';

/** Names of the RoPE initializers that are patched at load time (never external). */
export const ROPE_INV_FREQ = 'rope.inv_freq';
export const ROPE_ATTENTION_SCALE = 'rope.attention_scale';
/** GroupQueryAttention's RoPE tables (do_rotary): [positions, head_dim / 2], in the activation type. */
export const ROPE_COS_CACHE = 'cos_cache';
export const ROPE_SIN_CACHE = 'sin_cache';
