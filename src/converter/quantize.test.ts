import { describe, expect, it } from 'vitest';
import { dequantizeQ4, quantizeQ4 } from './quantize.ts';
import { quantizeQ4_0 } from './ggml-quant.ts';

describe('q4 block quantization (symmetric, MatMulNBits without zero points)', () => {
  it('packs nibbles low-first around the implicit zero point 8, the largest magnitude exact', () => {
    const k = 64;
    const w = new Float32Array(k);
    for (let i = 0; i < k; i++) w[i] = i < 32 ? (i - 8) / 8 : 0; // block 0 spans [-1, 2.875]; block 1 all zero
    const q = quantizeQ4(w, 1, k);
    expect(q.data.length).toBe(2 * 16);
    expect(Array.from(q.scales)).toEqual([2.875 / -8, -0]); // 0 / −8, as ggml stores it
    // element 0: −1 / −0.359375 = 2.78 → trunc(2.78 + 8.5) = 11; element 1: −0.875 → trunc(2.43 + 8.5) = 10
    expect(q.data[0]).toBe(11 | (10 << 4));
    // element 31 (2.875, the largest magnitude) → q 0 (high nibble of byte 15), back to 2.875 exactly
    expect(q.data[15] >> 4).toBe(0);
    expect(dequantizeQ4(q)[31]).toBe(2.875);
    // an all-zero block: scale −0, every q 8, zeros come back exactly
    expect(Array.from(q.data.subarray(16))).toEqual(new Array(16).fill(0x88));
    expect(Array.from(dequantizeQ4(q).subarray(32), (v) => v === 0)).toEqual(new Array(32).fill(true));
  });

  it('chooses the same 4-bit values as ggml’s Q4_0 (llama.cpp’s quantize_row_q4_0_ref)', () => {
    const w = new Float32Array(4 * 96).map((_, i) => Math.sin(i * 0.91) * (1 + (i % 5)) - 0.3);
    const ours = quantizeQ4(w, 4, 96);
    const ggml = quantizeQ4_0(w);
    for (let block = 0; block < w.length / 32; block++) {
      for (let j = 0; j < 32; j++) {
        const mine = ours.data[block * 16 + (j >> 1)] >> (j & 1 ? 4 : 0);
        const theirs = ggml[block * 18 + 2 + (j % 16)] >> (j < 16 ? 0 : 4);
        expect(mine & 0x0f).toBe(theirs & 0x0f);
      }
    }
  });

  it('reconstructs within half a step, and within one step at the clamped end', () => {
    const n = 5;
    const k = 96;
    const w = new Float32Array(n * k).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    const q = quantizeQ4(w, n, k);
    const back = dequantizeQ4(q);
    for (let i = 0; i < w.length; i++) {
      const step = Math.abs(q.scales[Math.floor(i / 32)]);
      // q − 8 spans [−8, 7]: the side opposite the largest magnitude reaches only 7 steps.
      const clamped = Math.abs(w[i]) > 7.5 * step && Math.sign(w[i]) !== Math.sign(-q.scales[Math.floor(i / 32)]);
      expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual((clamped ? step : step / 2) + 1e-6);
    }
  });

  it('refuses in_features that are not a multiple of the block', () => {
    expect(() => quantizeQ4(new Float32Array(40), 1, 40)).toThrow(/multiple of 32/);
  });
});
