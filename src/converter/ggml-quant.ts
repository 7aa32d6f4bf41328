/**
 * ggml's number formats as llama.cpp computes with them: Q4_0 and Q8_0 blocks (bit-exact with
 * `quantize_row_q4_0_ref` / `quantize_row_q8_0_ref` and their `dequantize_row_*`) and F16/F32
 * encoding.
 */
import { float16BitsToFloat32, float32ToFloat16Bits, toFloat16 } from '../lib/float16.ts';
import { GgmlType, GgufError, Q4_0_BLOCK, Q4_0_BLOCK_BYTES, Q8_0_BLOCK, Q8_0_BLOCK_BYTES } from './gguf-container.ts';
import { largestMagnitude } from './quantize.ts';

/**
 * ggml's `quantize_row_q4_0_ref` over rows of a multiple of 32 values: per block of 32,
 * d = (the value of largest magnitude, with its sign) / −8, q = min(15, trunc(x/d + 8.5)); byte j
 * holds element j in its low nibble and element j + 16 in its high nibble. Every step is rounded
 * to float32 where C rounds it, so the bytes are identical to llama.cpp's.
 */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  if (values.length % Q4_0_BLOCK !== 0) throw new GgufError('bad-shape', `Q4_0 needs a multiple of ${Q4_0_BLOCK} values, got ${values.length}.`);
  const blocks = values.length / Q4_0_BLOCK;
  const out = new Uint8Array(blocks * Q4_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  const f = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const start = b * Q4_0_BLOCK;
    const d = f(largestMagnitude(values, start, Q4_0_BLOCK) / -8);
    const id = d ? f(1 / d) : 0;
    const o = b * Q4_0_BLOCK_BYTES;
    view.setUint16(o, float32ToFloat16Bits(d), true);
    for (let j = 0; j < Q4_0_BLOCK / 2; j++) {
      // (int8_t) truncates toward zero; the sums are ≥ 0.5 here, so trunc is floor.
      const lo = Math.min(15, Math.trunc(f(f(values[start + j] * id) + 8.5)));
      const hi = Math.min(15, Math.trunc(f(f(values[start + j + 16] * id) + 8.5)));
      out[o + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

/** ggml's `dequantize_row_q4_0`: the float32 weights llama.cpp computes with. */
export function dequantizeQ4_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / Q4_0_BLOCK; b++) {
    const o = b * Q4_0_BLOCK_BYTES;
    const d = float16BitsToFloat32(view.getUint16(o, true));
    for (let j = 0; j < Q4_0_BLOCK / 2; j++) {
      const byte = bytes[o + 2 + j];
      out[b * Q4_0_BLOCK + j] = ((byte & 0x0f) - 8) * d;
      out[b * Q4_0_BLOCK + j + 16] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}

/**
 * ggml's `quantize_row_q8_0_ref` over rows of a multiple of 32 values: per block of 32,
 * d = max|x| / 127, q = roundf(x / d) (half away from zero), float32 steps as in C.
 */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new GgufError('bad-shape', `Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${values.length}.`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  const f = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const start = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[start + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    const o = b * Q8_0_BLOCK_BYTES;
    view.setUint16(o, float32ToFloat16Bits(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const x = f(values[start + j] * id);
      // C's roundf: halves away from zero (Math.round rounds them up).
      view.setInt8(o + 2 + j, Math.sign(x) * Math.round(Math.abs(x)));
    }
  }
  return out;
}

/** ggml's `dequantize_row_q8_0`. */
export function dequantizeQ8_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / Q8_0_BLOCK; b++) {
    const o = b * Q8_0_BLOCK_BYTES;
    const d = float16BitsToFloat32(view.getUint16(o, true));
    for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = view.getInt8(o + 2 + j) * d;
  }
  return out;
}

/** Raw little-endian bytes of a tensor in `type`. */
export function encodeGgmlTensor(values: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case GgmlType.F16: {
      const half = toFloat16(values);
      return new Uint8Array(half.buffer);
    }
    case GgmlType.Q4_0:
      return quantizeQ4_0(values);
    case GgmlType.Q8_0:
      return quantizeQ8_0(values);
  }
}

/**
 * The float32 values llama.cpp computes with for a tensor stored as `type` (weights only:
 * activations are its own business, e.g. Q4_0 matmuls quantize them to Q8_0 on the CPU).
 */
export function ggmlRoundTrip(values: Float32Array, type: GgmlType): Float32Array {
  switch (type) {
    case GgmlType.F32:
      return values;
    case GgmlType.F16:
      return Float32Array.from(toFloat16(values), float16BitsToFloat32);
    case GgmlType.Q4_0:
      return dequantizeQ4_0(quantizeQ4_0(values), values.length);
    case GgmlType.Q8_0:
      return dequantizeQ8_0(quantizeQ8_0(values), values.length);
  }
}
