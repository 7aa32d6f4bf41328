/**
 * Weight quantization: 4-bit block-wise in the layout of onnxruntime's com.microsoft MatMulNBits
 * (bits 4, block 32, asymmetric uint8 zero points), and int8 per output channel for
 * DynamicQuantizeMatMul (q8). Pure math, no I/O.
 */
import { roundHalfToEven, type Int8Weight } from '../model/dynamic-quantization.ts';

export const Q4_BLOCK_SIZE = 32;

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

/**
 * Symmetric int8 quantization of a Hugging Face Linear weight (row-major [N = out, K = in]), one
 * float32 scale per row (= per output channel of DynamicQuantizeMatMul): scale = max|w| / 127,
 * q = round(w / scale) in [−127, 127] (ties to even, as ONNX rounds). Rows are independent, so a
 * block of rows quantizes alone.
 */
export function quantizeQ8(weight: Float32Array, n: number, k: number): Int8Weight {
  const values = new Int8Array(n * k);
  const scales = new Float32Array(n);
  for (let row = 0; row < n; row++) {
    let maxAbs = 0;
    for (let i = row * k; i < (row + 1) * k; i++) maxAbs = Math.max(maxAbs, Math.abs(weight[i]));
    const scale = Math.fround(maxAbs / 127) || 1;
    scales[row] = scale;
    for (let i = row * k; i < (row + 1) * k; i++) values[i] = Math.max(-127, Math.min(127, roundHalfToEven(weight[i] / scale)));
  }
  return { values, scales };
}

/** The float weight [N, K] a q8 graph's table holds after Cast and Mul: q · scale in float32. */
export function dequantizeQ8(q: Int8Weight): Float32Array {
  const k = q.values.length / q.scales.length;
  return Float32Array.from(q.values, (v, i) => v * q.scales[Math.floor(i / k)]);
}
