/**
 * Weight quantization: 4-bit block-wise in the layout of onnxruntime's com.microsoft MatMulNBits
 * (bits 4, block 32, symmetric: no zero_points input, so the op's default 8), and int8 per output
 * channel for DynamicQuantizeMatMul (q8). Pure math, no I/O.
 */
import { roundHalfToEven, type Int8Weight } from '../model/dynamic-quantization.ts';

export const Q4_BLOCK_SIZE = 32;
/** MatMulNBits' zero point when it has no zero_points input (2^(bits − 1)). */
const Q4_ZERO_POINT = 8;

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
}

/** The value of largest magnitude among values[start … start + count), with its sign (the first such one). */
export function largestMagnitude(values: Float32Array, start: number, count: number): number {
  let amax = 0;
  let max = 0;
  for (let i = start; i < start + count; i++) {
    if (amax < Math.abs(values[i])) {
      amax = Math.abs(values[i]);
      max = values[i];
    }
  }
  return max;
}

/**
 * Quantizes a Hugging Face Linear weight (row-major [N = out, K = in]) block-wise along K,
 * symmetrically with ggml's Q4_0 rounding (ggml-quant.ts): scale = (the value of largest
 * magnitude, with its sign) / −8, q = min(15, trunc(w/scale + 8.5)), so w ≈ (q − 8) · scale and
 * that value is exact. No zero points: onnxruntime's WebGPU EP fuses an RMSNorm with the q/k/v or
 * gate/up MatMulNBits that read it only when they have none (one dispatch instead of four).
 */
export function quantizeQ4(weight: Float32Array, n: number, k: number): Q4Weight {
  if (k % Q4_BLOCK_SIZE !== 0) throw new Error(`in_features ${k} is not a multiple of ${Q4_BLOCK_SIZE}.`);
  const blocksPerRow = k / Q4_BLOCK_SIZE;
  const data = new Uint8Array(n * blocksPerRow * (Q4_BLOCK_SIZE / 2));
  const scales = new Float32Array(n * blocksPerRow);
  const f = Math.fround;
  for (let blockIndex = 0; blockIndex < n * blocksPerRow; blockIndex++) {
    const start = blockIndex * Q4_BLOCK_SIZE;
    const scale = f(largestMagnitude(weight, start, Q4_BLOCK_SIZE) / -Q4_ZERO_POINT);
    const inverse = scale ? f(1 / scale) : 0;
    scales[blockIndex] = scale;
    const quantized = (v: number) => Math.min(15, Math.trunc(f(f(v * inverse) + Q4_ZERO_POINT + 0.5)));
    const out = blockIndex * (Q4_BLOCK_SIZE / 2);
    for (let i = 0; i < Q4_BLOCK_SIZE; i += 2) data[out + i / 2] = quantized(weight[start + i]) | (quantized(weight[start + i + 1]) << 4);
  }
  return { n, k, data, scales };
}

/** The float weight [N, K] that MatMulNBits computes with: (q − 8) · scale. */
export function dequantizeQ4(q: Q4Weight): Float32Array {
  const out = new Float32Array(q.n * q.k);
  for (let i = 0; i < out.length; i++) {
    const byte = q.data[i >> 1];
    const nibble = i & 1 ? byte >> 4 : byte & 0x0f;
    out[i] = (nibble - Q4_ZERO_POINT) * q.scales[Math.floor(i / Q4_BLOCK_SIZE)];
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
