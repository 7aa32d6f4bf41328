/**
 * The context-length setting's choices: lengths with their KV memory (computed here by the formula
 * 2 × layers × kv_heads × head_dim × bytes × tokens, not by kv-memory.ts), the default (native
 * window, never the YaRN maximum), which RoPE types may be stretched, GPU refusals, and the
 * per-model choice remembered in localStorage (malformed data ignored).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CTX64_SPEC, KANANA_NANO_CONFIG } from '../../testing/fixture-specs.ts';
import type { HfLlamaConfig } from '../../model/config.ts';
import { computeContextChoices, effectiveLength, readRememberedLengths, rememberLength } from './context-length.ts';

// The e2e fixture's config: 2 layers, 2 KV heads, head_dim 32, intermediate 128, native window 64.
const ctx64 = CTX64_SPEC.config;

// 2 (K, V) × 2 layers × 2 KV heads × 32 × 4 bytes (q4 keeps a float32 cache) = 1024 bytes per token.
const PER_TOKEN_Q4 = 1024;

describe('computeContextChoices', () => {
  it('offers the native window and powers of two up to native × 4.4, with their KV bytes; the default is the native window', () => {
    const choices = computeContextChoices('m', ctx64, 'q4', undefined);
    expect(choices.kvBytesPerToken).toBe(PER_TOKEN_Q4);
    expect(choices.options.map((o) => [o.tokens, o.kvBytes, o.extended, o.refusal])).toEqual([
      [64, 64 * PER_TOKEN_Q4, false, null],
      [128, 128 * PER_TOKEN_Q4, true, null],
      [256, 256 * PER_TOKEN_Q4, true, null], // 64 × 4.4 = 281: 512 is not offered
    ]);
    expect(choices.defaultTokens).toBe(64);
    expect(choices.limitsChecked).toBe(false);
    // fp16 halves the cache.
    expect(computeContextChoices('m', ctx64, 'fp16', undefined).kvBytesPerToken).toBe(PER_TOKEN_Q4 / 2);
  });

  it('refuses lengths whose buffers exceed the adapter limits, with the buffer named', () => {
    // At 256 tokens the feed-forward activations of a whole-prompt prefill take 256 × 128 × 4 = 128 KiB.
    const limits = { maxBufferSize: 100 * 1024, maxStorageBufferBindingSize: 100 * 1024 };
    const choices = computeContextChoices('m', ctx64, 'q4', limits);
    expect(choices.limitsChecked).toBe(true);
    expect(choices.options.map((o) => o.refusal?.code ?? null)).toEqual([null, null, 'buffer-too-large']);
    expect(choices.options[2].refusal).toMatchObject({ buffer: 'mlp-activations', bytes: 256 * 128 * 4 });
  });

  it('does not stretch RoPE types other than default and YaRN (e.g. llama3)', () => {
    const llama3 = { ...ctx64, rope_scaling: { rope_type: 'llama3', factor: 8 } } as HfLlamaConfig;
    expect(computeContextChoices('m', llama3, 'q4', undefined).options.map((o) => o.tokens)).toEqual([64]);
    const yarn = { ...ctx64, rope_scaling: { type: 'yarn', factor: 2, original_max_position_embeddings: 32 } } as HfLlamaConfig;
    expect(computeContextChoices('m', yarn, 'q4', undefined).options.some((o) => o.extended)).toBe(true);
  });

  it('offers only the native window, memory unknown, for a model that is not Llama-shaped', () => {
    const odd = { max_position_embeddings: 2048 } as HfLlamaConfig;
    expect(computeContextChoices('m', odd, 'q4', undefined)).toMatchObject({
      native: 2048,
      kvBytesPerToken: null,
      defaultTokens: 2048,
      options: [{ tokens: 2048 }],
    });
  });
});

describe('effectiveLength', () => {
  const limits = { maxBufferSize: 100 * 1024, maxStorageBufferBindingSize: 100 * 1024 };
  it('uses the remembered choice when it is offered and allowed, else the default', () => {
    const choices = computeContextChoices('m', ctx64, 'q4', undefined);
    expect(effectiveLength(choices, 256)).toBe(256);
    expect(effectiveLength(choices, undefined)).toBe(64);
    expect(effectiveLength(choices, 100)).toBe(64); // not an offered length
    expect(effectiveLength(computeContextChoices('m', ctx64, 'q4', limits), 256)).toBe(64); // refused by this GPU
  });
});

describe('remembered lengths', () => {
  afterEach(() => vi.unstubAllGlobals());

  function fakeStorage(initial: Record<string, string> = {}) {
    const data = new Map(Object.entries(initial));
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, v),
    });
    return data;
  }

  it('are kept per model and read back', () => {
    const data = fakeStorage();
    let all = rememberLength({}, 'a', 256);
    all = rememberLength(all, 'b', 4096);
    expect(all).toEqual({ a: 256, b: 4096 });
    expect(JSON.parse(data.get('hanmadi.contextLengths')!)).toEqual({ a: 256, b: 4096 });
    expect(readRememberedLengths()).toEqual({ a: 256, b: 4096 });
  });

  it('ignore malformed data and entries', () => {
    fakeStorage({ 'hanmadi.contextLengths': '{"a": 256, "b": -1, "c": "x", "d": 1.5}' });
    expect(readRememberedLengths()).toEqual({ a: 256 });
    fakeStorage({ 'hanmadi.contextLengths': 'not json' });
    expect(readRememberedLengths()).toEqual({});
  });

  it('hold for the session when storage is blocked', () => {
    vi.stubGlobal('localStorage', {
      getItem: () => {
        throw new Error('blocked');
      },
      setItem: () => {
        throw new Error('quota');
      },
    });
    expect(rememberLength({}, 'a', 128)).toEqual({ a: 128 });
    expect(readRememberedLengths()).toEqual({});
  });
});

describe('computeContextChoices on the CPU path', () => {
  it("refuses Kanana q8 lengths that pass WebAssembly's 4 GiB with the weights, so the default is 4K there and 8K on a GPU", () => {
    const cpu = computeContextChoices('kanana', KANANA_NANO_CONFIG, 'q8', undefined, true);
    expect(cpu.defaultTokens).toBe(4096);
    expect(cpu.options.filter((o) => o.refusal?.code === 'wasm-memory').map((o) => o.tokens)[0]).toBe(8192);
    expect(computeContextChoices('kanana', KANANA_NANO_CONFIG, 'q8', undefined, false).defaultTokens).toBe(8192);
  });
});
