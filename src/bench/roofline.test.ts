import { describe, expect, it } from 'vitest';
import { decodeStepBytes, roofline } from './roofline.ts';
import { ratioOfMedians, summarize } from './stats.ts';

const shape = { vocabSize: 1000, hiddenSize: 64, numLayers: 2, numKvHeads: 2, headDim: 16, tieWordEmbeddings: false };

describe('decodeStepBytes', () => {
  it('reads every weight but the embedding table (one row of it) plus the whole KV cache', () => {
    // q4's table: 2 blocks of 32 a row, each 16 bytes of nibbles and a float32 scale.
    const table = 1000 * 2 * (16 + 4);
    const bytes = decodeStepBytes(shape, 'q4', table + 500_000, 100);
    expect(bytes.weights).toBe(500_000 + 2 * (16 + 4));
    // K and V, per layer, per KV head, per head dim, float32, per token.
    expect(bytes.kv).toBe(2 * 2 * 2 * 16 * 4 * 100);
    expect(bytes.total).toBe(bytes.weights + bytes.kv);
  });

  it('reads the whole table when a tied head multiplies with it (q4, q4f16, q8), not when a float head is a copy', () => {
    const tied = { ...shape, tieWordEmbeddings: true };
    expect(decodeStepBytes(tied, 'q4', 1000 * 2 * 20 + 500_000, 0).weights).toBe(1000 * 2 * 20 + 500_000);
    expect(decodeStepBytes(tied, 'q8', 1000 * (64 + 4) + 10, 0).weights).toBe(1000 * (64 + 4) + 10);
    expect(decodeStepBytes(tied, 'fp16', 1000 * 64 * 2 * 2 + 10, 0).weights).toBe(1000 * 64 * 2 + 10 + 64 * 2);
  });

  it('sizes the q4f16 table with half-precision scales and refuses a graph smaller than its table', () => {
    expect(decodeStepBytes(shape, 'q4f16', 1000 * 2 * (16 + 2) + 10, 0).weights).toBe(10 + 2 * (16 + 2));
    expect(() => decodeStepBytes(shape, 'fp32', 1000, 0)).toThrow(/smaller than its embedding table/);
  });
});

describe('roofline and summaries', () => {
  it('bounds tokens/s by bandwidth ÷ bytes per step', () => {
    const r = roofline(1e9, 1e7, 25);
    expect(r.boundTokensPerSecond).toBe(100);
    expect(r.fractionOfBound).toBe(0.25);
  });

  it('summarizes min / median / max of finite samples', () => {
    expect(summarize([3, 1, Number.NaN, 2, 10])).toEqual({ n: 4, min: 1, median: 2.5, max: 10 });
    expect(summarize([])).toBeNull();
    expect(ratioOfMedians(summarize([2]), summarize([4]))).toBe(0.5);
    expect(ratioOfMedians(summarize([2]), null)).toBeNull();
  });
});
