import { describe, expect, it } from 'vitest';
import type { HfLlamaConfig } from './config.ts';
import {
  checkContextLength,
  contextLengthChoices,
  kvBytesPerToken,
  kvCacheBytes,
  largestBuffers,
  maxContextLength,
  offeredContextLengths,
  runtimeMemoryBytes,
  WASM_MEMORY_LIMIT,
} from './kv-memory.ts';
import { storedExternalDataBytes } from './size-estimate.ts';
import { KANANA_YARN_RECIPE } from './yarn.ts';
import { KANANA_NANO_CONFIG, LLAMA32_3B_CONFIG } from '../testing/fixture-specs.ts';
import { resolveLlamaShape } from './config.ts';

const kanana: HfLlamaConfig = KANANA_NANO_CONFIG;
const kananaShape = { numLayers: 32, numKvHeads: 8, headDim: 128, numHeads: 24 };
const KiB = 1024,
  MiB = 1024 * KiB,
  GiB = 1024 * MiB;
/** A desktop adapter (Chrome on D3D12/Vulkan reports about these) and WebGPU's default limits. */
const desktop = { maxStorageBufferBindingSize: 2 * GiB - 4, maxBufferSize: 4 * GiB };
const webgpuDefaults = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB };

describe('KV cache size', () => {
  it('is 128 KiB per token for Kanana in fp16, so 4 GiB at 32K', () => {
    // 2 (K, V) × 32 layers × 8 KV heads × 128 dims × 2 bytes = 131072
    expect(kvBytesPerToken(kananaShape, 2)).toBe(128 * KiB);
    expect(kvCacheBytes(kananaShape, 2, 32768)).toBe(4 * GiB);
    expect(kvCacheBytes(kananaShape, 4, 8192)).toBe(2 * GiB); // float32 cache (fp32, q4 graphs)
  });

  it("names the GroupQueryAttention graph's largest buffers with their sizes", () => {
    const shape = resolveLlamaShape(kanana);
    expect(largestBuffers(shape, 2, 32768)).toEqual([
      { buffer: 'present-kv', bytes: 64 * MiB }, // 8 × 32768 × 128 × 2
      { buffer: 'mlp-activations', bytes: 504 * MiB }, // 32768 × 8064 × 2
      // A ≤ 31-token chunk on the split-reduce kernels: 24 heads × 31 × 512 tiles of 64 × 128 × 2
      { buffer: 'attention-partials', bytes: 93 * MiB },
    ]);
    // Prefilling 512 at a time shrinks the activations, not the partials of a short chunk.
    expect(largestBuffers(shape, 2, 32768, 512).slice(1)).toEqual([
      { buffer: 'mlp-activations', bytes: 512 * 8064 * 2 },
      { buffer: 'attention-partials', bytes: 93 * MiB },
    ]);
    // A decode-only caller (1-token chunks): 24 × 1 × 512 × 128 × 2 = 3 MiB.
    expect(largestBuffers(shape, 2, 32768, 1)[2]).toEqual({ buffer: 'attention-partials', bytes: 3 * MiB });
    // head_dim 256 in float32: the prefill kernel's K/V tiles (2 × 16 × 256 × 4 = 32 KiB) exceed
    // the guaranteed 16 KiB, so every chunk takes split-reduce: 24 × 4096 × 64 tiles × 256 × 4.
    expect(largestBuffers({ ...shape, headDim: 256 }, 4, 4096)[2]).toEqual({ buffer: 'attention-partials', bytes: 24 * 4096 * 64 * 256 * 4 });
  });

  it("names the plain-attention graph's expanded heads and score matrix", () => {
    const shape = resolveLlamaShape(kanana);
    expect(largestBuffers(shape, 2, 32768, 32768, 'plain').slice(2)).toEqual([
      { buffer: 'repeated-kv', bytes: 192 * MiB }, // 24 × 32768 × 128 × 2
      { buffer: 'attention-scores', bytes: 96 * GiB }, // 24 × 32768 × 32768 × 4
    ]);
    expect(largestBuffers(shape, 2, 32768, 512, 'plain')[3]).toEqual({ buffer: 'attention-scores', bytes: 1.5 * GiB }); // 24 × 512 × 32768 × 4
    expect(largestBuffers({ ...shape, numKvHeads: 24 }, 2, 1024, 1024, 'plain').map((b) => b.buffer)).toEqual([
      'present-kv',
      'mlp-activations',
      'attention-scores',
    ]);
  });
});

describe('checkContextLength', () => {
  it('accepts what fits the adapter and refuses the rest with the buffer and the limit', () => {
    // GroupQueryAttention, q4f16, full-length prefill: the largest buffer is the MLP activations,
    // 131072 × 8064 × 2 = 2016 MiB, under a desktop's 2 GiB binding limit.
    expect(checkContextLength(kanana, 131072, { dtype: 'q4f16', limits: desktop })).toBeNull();
    // q4 keeps float32 activations: 4032 MiB at 128K; 2016 MiB at 64K still fits.
    const refusal = checkContextLength(kanana, 131072, { dtype: 'q4', limits: desktop });
    expect(refusal).toMatchObject({
      code: 'buffer-too-large',
      buffer: 'mlp-activations',
      bytes: 131072 * 8064 * 4,
      limit: 'maxStorageBufferBindingSize',
      limitBytes: 2 * GiB - 4,
    });
    expect(refusal?.message).toMatch(/feed-forward activations .* 4032 MiB, more than this GPU’s maxStorageBufferBindingSize of 2048 MiB/);
    expect(checkContextLength(kanana, 65536, { dtype: 'q4', limits: desktop })).toBeNull();
    // A caller that prefills 512 tokens at a time: the partials of a 31-token chunk bound it,
    // 24 × 31 × 2048 × 128 × 4 = 744 MiB at 128K, over a 512 MiB binding limit.
    const small = { maxStorageBufferBindingSize: 512 * MiB, maxBufferSize: GiB };
    expect(checkContextLength(kanana, 131072, { dtype: 'q4', limits: small, prefillTokens: 512 })).toMatchObject({
      buffer: 'attention-partials',
      bytes: 744 * MiB,
    });
    expect(checkContextLength(kanana, 65536, { dtype: 'q4', limits: small, prefillTokens: 512 })).toBeNull(); // 372 MiB
    // maxBufferSize can be the tighter one.
    expect(
      checkContextLength(kanana, 131072, { dtype: 'q4', limits: { maxStorageBufferBindingSize: 4 * GiB, maxBufferSize: 512 * MiB }, prefillTokens: 512 }),
    ).toMatchObject({ limit: 'maxBufferSize' });
  });

  it('checks the plain-attention fallback by its score matrix and expanded heads', () => {
    // Full-length prefill: scores 24 × 4096² × 4 = 1.5 GiB fit 2 GiB; at 8192 they are 6 GiB.
    expect(checkContextLength(kanana, 4096, { dtype: 'q4f16', limits: desktop, attention: 'plain' })).toBeNull();
    const refusal = checkContextLength(kanana, 8192, { dtype: 'q4f16', limits: desktop, attention: 'plain' });
    expect(refusal).toMatchObject({
      code: 'buffer-too-large',
      buffer: 'attention-scores',
      bytes: 6 * GiB,
      limit: 'maxStorageBufferBindingSize',
      limitBytes: 2 * GiB - 4,
    });
    expect(refusal?.message).toMatch(/attention scores .* 6144 MiB, more than this GPU’s maxStorageBufferBindingSize of 2048 MiB/);
    // The expanded GQA heads in float32 at 128K: 24 × 131072 × 128 × 4 = 1.5 GiB > a 1 GiB buffer.
    const small = { maxStorageBufferBindingSize: GiB, maxBufferSize: GiB };
    expect(checkContextLength(kanana, 131072, { dtype: 'q4', limits: small, prefillTokens: 16, attention: 'plain' })).toMatchObject({
      buffer: 'repeated-kv',
      bytes: 1.5 * GiB,
      limit: 'maxStorageBufferBindingSize',
    });
  });

  it("refuses lengths beyond YaRN's maximum and nonsense lengths", () => {
    expect(maxContextLength(kanana)).toBe(144179); // floor(32768 × 4.4)
    expect(checkContextLength(kanana, 262144, { dtype: 'q4f16' })).toMatchObject({ code: 'beyond-maximum', maximum: 144179 });
    expect(checkContextLength(kanana, 131072, { dtype: 'q4f16' })).toBeNull(); // no limits given: only the maximum counts
    expect(checkContextLength(kanana, 0, { dtype: 'q4f16' })?.code).toBe('invalid-length');
    expect(checkContextLength(kanana, 1.5, { dtype: 'q4f16' })?.code).toBe('invalid-length');
  });
});

describe('offered lengths and the default', () => {
  it('offers powers of two from 2K to the YaRN maximum, plus the native window', () => {
    expect(offeredContextLengths(kanana)).toEqual([2048, 4096, 8192, 16384, 32768, 65536, 131072]);
    expect(offeredContextLengths({ ...kanana, max_position_embeddings: 8192 })).toEqual([2048, 4096, 8192, 16384, 32768]); // 36044 max
    expect(offeredContextLengths({ ...kanana, max_position_embeddings: 3000 })).toEqual([2048, 3000, 4096, 8192]); // 13200 max
    // A tiny window starts at itself; a larger factor reaches further.
    const tiny = { ...kanana, max_position_embeddings: 64 };
    expect(offeredContextLengths(tiny)).toEqual([64, 128, 256]); // 281 max
    expect(offeredContextLengths(tiny, 8)).toEqual([64, 128, 256, 512]);
    // A checkpoint that already ships Kanana's recipe: the maximum counts from its original window.
    const shipped = { ...kanana, max_position_embeddings: 144179, rope_scaling: { ...KANANA_YARN_RECIPE } };
    expect(maxContextLength(shipped)).toBe(144179);
    expect(offeredContextLengths(shipped)).toEqual([2048, 4096, 8192, 16384, 32768, 65536, 131072, 144179]);
  });

  it('defaults to the native window capped at 8K, stepping down to what the adapter can run', () => {
    const noLimits = contextLengthChoices(kanana, { dtype: 'q4f16' });
    expect(noLimits.defaultTokens).toBe(8192);
    const at128k = noLimits.options.find((o) => o.tokens === 131072)!;
    expect(at128k).toEqual({ tokens: 131072, kvBytes: 16 * GiB, extended: true, refusal: null });
    expect(noLimits.options.find((o) => o.tokens === 32768)).toMatchObject({ kvBytes: 4 * GiB, extended: false });
    // Full-length prefill on a desktop adapter: q4f16 runs every offered length, q4 all but 128K.
    const desktopChoices = contextLengthChoices(kanana, { dtype: 'q4f16', limits: desktop });
    expect(desktopChoices.defaultTokens).toBe(8192);
    expect(desktopChoices.options.filter((o) => o.refusal)).toEqual([]);
    expect(
      contextLengthChoices(kanana, { dtype: 'q4', limits: desktop })
        .options.filter((o) => o.refusal)
        .map((o) => o.tokens),
    ).toEqual([131072]);
    // WebGPU's default limits: 8K fits (activations 8192 × 8064 × 2 = 126 MiB < 128 MiB), 16K does not.
    const defaults = contextLengthChoices(kanana, { dtype: 'q4f16', limits: webgpuDefaults });
    expect(defaults.defaultTokens).toBe(8192);
    expect(defaults.options.find((o) => o.tokens === 16384)?.refusal).toMatchObject({ buffer: 'mlp-activations' });
    // The plain-attention fallback: 8K is refused (6 GiB of scores), 4K is the default; nothing
    // fits WebGPU's default limits (2K: 384 MiB of scores).
    expect(contextLengthChoices(kanana, { dtype: 'q4f16', limits: desktop, attention: 'plain' }).defaultTokens).toBe(4096);
    expect(contextLengthChoices(kanana, { dtype: 'q4f16', limits: webgpuDefaults, attention: 'plain' }).defaultTokens).toBeNull();
    // A smaller native window is its own default; the cap can be raised but the default stays native.
    expect(contextLengthChoices({ ...kanana, max_position_embeddings: 4096 }, { dtype: 'fp16' }).defaultTokens).toBe(4096);
    expect(contextLengthChoices(kanana, { dtype: 'fp16', cap: 1 << 20 }).defaultTokens).toBe(32768);
  });
});

describe('Llama 3.2 3B (llama3 RoPE, 131,072 positions)', () => {
  it('offers up to its own window and no further, 224 KiB of float32 KV per token, 8K by default', () => {
    expect(maxContextLength(LLAMA32_3B_CONFIG)).toBe(131072);
    expect(offeredContextLengths(LLAMA32_3B_CONFIG)).toEqual([2048, 4096, 8192, 16384, 32768, 65536, 131072]);
    expect(kvBytesPerToken(resolveLlamaShape(LLAMA32_3B_CONFIG), 4)).toBe(2 * 28 * 8 * 128 * 4);
    const choices = contextLengthChoices(LLAMA32_3B_CONFIG, { dtype: 'q4' });
    expect(choices.defaultTokens).toBe(8192);
    expect(choices.options.some((o) => o.extended)).toBe(false);
    expect(checkContextLength(LLAMA32_3B_CONFIG, 262144, { dtype: 'q4' })).toMatchObject({
      code: 'beyond-maximum',
      maximum: 131072,
      message: expect.stringContaining('cannot be extended') as unknown,
    });
  });

  it("refuses 131,072 tokens under WebGPU's default limits (128 MiB binding): one layer's KV cache alone is 512 MiB", () => {
    const limits = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
    expect(checkContextLength(LLAMA32_3B_CONFIG, 131072, { dtype: 'q4', limits, prefillTokens: 512 })).toMatchObject({
      code: 'buffer-too-large',
      buffer: 'present-kv',
      bytes: 8 * 131072 * 128 * 4,
    });
  });
});

describe('on the CPU path (WebAssembly: weights, cache and activations share a 4 GiB heap)', () => {
  const shape = resolveLlamaShape(kanana);
  const weights = (dtype: 'q8' | 'q4') => storedExternalDataBytes(shape, dtype);
  // Weights + float32 cache (2 × 32 × 8 × 128 × 4 bytes a token) + a whole-prompt prefill's MLP activations (tokens × 8064 × 4).
  const heap = (dtype: 'q8' | 'q4', tokens: number) => weights(dtype) + 2 * 32 * 8 * 128 * 4 * tokens + tokens * 8064 * 4;

  it('counts the weights, the cache and the largest activation', () => {
    expect(runtimeMemoryBytes(shape, 'q8', 8192, weights('q8'))).toBe(heap('q8', 8192));
  });

  it('refuses Kanana q8 at 8K tokens (its 2 GiB float32 cache beside 2 GB of int8 weights) and defaults to 4K; q4 keeps 8K', () => {
    expect(heap('q8', 8192)).toBeGreaterThan(WASM_MEMORY_LIMIT);
    expect(heap('q8', 4096)).toBeLessThan(WASM_MEMORY_LIMIT);
    const q8 = contextLengthChoices(kanana, { dtype: 'q8', wasmWeightBytes: weights('q8') });
    expect(q8.options.find((o) => o.tokens === 8192)!.refusal).toMatchObject({ code: 'wasm-memory', bytes: heap('q8', 8192), limitBytes: WASM_MEMORY_LIMIT });
    expect(q8.options.find((o) => o.tokens === 4096)!.refusal).toBeNull();
    expect(q8.defaultTokens).toBe(4096);
    expect(contextLengthChoices(kanana, { dtype: 'q4', wasmWeightBytes: weights('q4') }).defaultTokens).toBe(8192);
    // On a GPU the heap is not the bound.
    expect(contextLengthChoices(kanana, { dtype: 'q8' }).defaultTokens).toBe(8192);
  });
});
