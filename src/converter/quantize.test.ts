import { describe, expect, it } from 'vitest';
import {
  bfloat16ToFloat32,
  dequantizeQ4,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  quantizeQ4,
} from './quantize.ts';

describe('float16', () => {
  it('encodes known values exactly', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up to inf
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000); // below half of it
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('rounds to nearest even at exact halves', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 lies halfway between 1+2^-10 (odd) and 1+2^-9 (even).
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips every finite half value', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      expect(float32ToFloat16Bits(float16BitsToFloat32(bits))).toBe(bits === 0x8000 ? 0x8000 : bits);
    }
  });
});

describe('bfloat16', () => {
  it('decodes as the high half of a float32', () => {
    expect(Array.from(bfloat16ToFloat32(new Uint16Array([0x3f80, 0xc000, 0x3e80])))).toEqual([1, -2, 0.25]);
  });
});

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
