import { describe, expect, it } from 'vitest';
import { dequantizeQ4, quantizeQ4 } from './quantize.ts';

describe('q4 block quantization', () => {
  it('packs nibbles low-first and zero points two per byte', () => {
    const k = 64;
    const w = new Float32Array(k);
    for (let i = 0; i < k; i++) w[i] = i < 32 ? (i - 8) / 8 : 0.5; // block 0 spans [-1, 2.875]; block 1 constant
    const q = quantizeQ4(w, 1, k);
    expect(q.data.length).toBe(2 * 16);
    expect(q.scales.length).toBe(2);
    expect(q.zeroPoints.length).toBe(1);
    // block 0: scale = (2.875 − (−1)) / 15, zp = round(1 / scale) = 4
    expect(q.scales[0]).toBeCloseTo(3.875 / 15, 7);
    expect(q.zeroPoints[0] & 0x0f).toBe(4);
    // element 0 (−1) → 0, element 1 (−0.875) → round(−3.387)+4 = 1: byte 0 = 0x10
    expect(q.data[0]).toBe(0x10);
    // block 1: range [0, 0.5] → scale 0.5/15, zp 0, all values 15
    expect(q.zeroPoints[0] >> 4).toBe(0);
    expect(q.data[16]).toBe(0xff);
  });

  it('reconstructs within half a step per block', () => {
    const n = 5;
    const k = 96;
    const w = new Float32Array(n * k).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    const q = quantizeQ4(w, n, k);
    const back = dequantizeQ4(q);
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < k; col++) {
        const step = q.scales[row * (k / 32) + Math.floor(col / 32)];
        expect(Math.abs(back[row * k + col] - w[row * k + col])).toBeLessThanOrEqual(step / 2 + 1e-6);
      }
    }
  });

  it('refuses in_features that are not a multiple of the block', () => {
    expect(() => quantizeQ4(new Float32Array(40), 1, 40)).toThrow(/multiple of 32/);
  });
});
