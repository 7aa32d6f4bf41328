/**
 * Number formats of the converter: bf16/f16 decoding, float32→float16 rounding, and 4-bit
 * block-wise weight quantization in the layout of onnxruntime's com.microsoft MatMulNBits
 * (bits 4, block 32, asymmetric uint8 zero points). Pure math, no I/O.
 */

export const Q4_BLOCK_SIZE = 32;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, round to nearest even, with subnormals, ±inf and NaN. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let rounded = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && (rounded & 1))) rounded++;
    return sign | rounded;
  }
  let rounded = mantissa >> 13;
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (rounded & 1))) {
    rounded++;
    if (rounded === 0x400) {
      rounded = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | rounded;
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

/** bfloat16 is the top half of a float32: decoding is exact. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16BitsToFloat32(bits[i]);
  return out;
}

/** A Linear weight quantized for MatMulNBits. */
export interface Q4Weight {
  /** out_features */
  n: number;
  /** in_features (a multiple of the block size) */
  k: number;
  /** uint8 [N, K/32, 16]: element 2j of a block in the low nibble of byte j. */
  data: Uint8Array;
  /** [N · K/32] per-block scales. */
  scales: Float32Array;
  /** uint8 [N · ceil((K/32)/2)]: two 4-bit zero points per byte, low nibble first. */
  zeroPoints: Uint8Array;
}

/**
 * Quantizes a Hugging Face Linear weight (row-major [N = out, K = in]) block-wise along K.
 * Asymmetric: each block's range always includes 0 so zeros stay exact; q = round(w/scale) + zp.
 */
export function quantizeQ4(weight: Float32Array, n: number, k: number): Q4Weight {
  if (k % Q4_BLOCK_SIZE !== 0) throw new Error(`in_features ${k} is not a multiple of ${Q4_BLOCK_SIZE}.`);
  const blocksPerRow = k / Q4_BLOCK_SIZE;
  const zpBytesPerRow = Math.ceil(blocksPerRow / 2);
  const data = new Uint8Array(n * blocksPerRow * (Q4_BLOCK_SIZE / 2));
  const scales = new Float32Array(n * blocksPerRow);
  const zeroPoints = new Uint8Array(n * zpBytesPerRow);
  for (let row = 0; row < n; row++) {
    for (let block = 0; block < blocksPerRow; block++) {
      const start = row * k + block * Q4_BLOCK_SIZE;
      let min = 0;
      let max = 0;
      for (let i = 0; i < Q4_BLOCK_SIZE; i++) {
        const v = weight[start + i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const scale = (max - min) / 15 || 1;
      const zeroPoint = Math.min(15, Math.max(0, Math.round(-min / scale)));
      const blockIndex = row * blocksPerRow + block;
      scales[blockIndex] = scale;
      const zpByte = row * zpBytesPerRow + (block >> 1);
      zeroPoints[zpByte] |= block & 1 ? zeroPoint << 4 : zeroPoint;
      const out = blockIndex * (Q4_BLOCK_SIZE / 2);
      for (let i = 0; i < Q4_BLOCK_SIZE; i += 2) {
        const q0 = Math.min(15, Math.max(0, Math.round(weight[start + i] / scale) + zeroPoint));
        const q1 = Math.min(15, Math.max(0, Math.round(weight[start + i + 1] / scale) + zeroPoint));
        data[out + i / 2] = q0 | (q1 << 4);
      }
    }
  }
  return { n, k, data, scales, zeroPoints };
}

/** The float weight [N, K] that MatMulNBits computes with: (q − zp) · scale. */
export function dequantizeQ4(q: Q4Weight): Float32Array {
  const blocksPerRow = q.k / Q4_BLOCK_SIZE;
  const zpBytesPerRow = Math.ceil(blocksPerRow / 2);
  const out = new Float32Array(q.n * q.k);
  for (let row = 0; row < q.n; row++) {
    for (let block = 0; block < blocksPerRow; block++) {
      const blockIndex = row * blocksPerRow + block;
      const zpByte = q.zeroPoints[row * zpBytesPerRow + (block >> 1)];
      const zeroPoint = block & 1 ? zpByte >> 4 : zpByte & 0x0f;
      const scale = q.scales[blockIndex];
      for (let i = 0; i < Q4_BLOCK_SIZE; i++) {
        const byte = q.data[blockIndex * (Q4_BLOCK_SIZE / 2) + (i >> 1)];
        const nibble = i & 1 ? byte >> 4 : byte & 0x0f;
        out[row * q.k + block * Q4_BLOCK_SIZE + i] = (nibble - zeroPoint) * scale;
      }
    }
  }
  return out;
}
