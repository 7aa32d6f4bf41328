/**
 * The arithmetic of com.microsoft DynamicQuantizeMatMul as onnxruntime's CPU kernel does it
 * (contrib_ops/cpu/quantization/dynamic_quantize_matmul.cc, GetQuantizationParameter in
 * core/util/qmath.h, MlasQuantizeLinear), so the reference can compute what a q8 graph computes:
 * - A (float32) is quantized as ONE tensor by ONNX DynamicQuantizeLinear: its range widened to
 *   include 0, scale = (max − min) / 255, zero point = round(−min / scale) clamped to [0, 255],
 *   a = clamp(round(x / scale) + zero point, 0, 255), in float32 arithmetic, rounding half to
 *   even. Every position of a run shares that scale, so a q8 graph's numbers depend on how a
 *   sequence is split into runs (a prompt prefilled at once, then one token per step).
 * - B is int8, symmetric (no zero point), one float32 scale per output.
 * - y = float32(Σ (a − zero point) · b) × float32(a_scale × b_scale): the sum is exact (int32).
 * Pure.
 */

/** An int8 Linear weight as a q8 graph stores it, in Hugging Face's orientation: values [out, in], one scale per output (w ≈ value × scale). */
export interface Int8Weight {
  values: Int8Array;
  scales: Float32Array;
}

/** A DynamicQuantizeLinear result: uint8 values of the whole tensor, its scale and zero point. */
export interface QuantizedActivations {
  values: Uint8Array;
  scale: number;
  zeroPoint: number;
}

const f32 = Math.fround;

/** Round to nearest, ties to even (ONNX's rounding; Math.round rounds ties up). */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** ONNX DynamicQuantizeLinear (uint8) of a float32 tensor, with onnxruntime's float32 steps. */
export function quantizeActivations(x: Float32Array): QuantizedActivations {
  let min = 0;
  let max = 0;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = max === min ? 1 : f32(f32(max - min) / 255);
  const zeroPoint = roundHalfToEven(Math.max(0, Math.min(255, -f32(min / scale))));
  const values = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) values[i] = Math.max(0, Math.min(255, roundHalfToEven(f32(x[i] / scale)) + zeroPoint));
  return { values, scale, zeroPoint };
}

/**
 * y_m = W x_m for every row x_m of one run (the rows are quantized together, as the graph's one
 * DynamicQuantizeMatMul call quantizes its whole input).
 */
export function dynamicQuantizedLinear(weight: Int8Weight, rows: readonly Float32Array[]): Float32Array[] {
  const inFeatures = rows[0].length;
  const outFeatures = weight.scales.length;
  const joined = new Float32Array(rows.length * inFeatures);
  rows.forEach((row, m) => joined.set(row, m * inFeatures));
  const a = quantizeActivations(joined);
  const multipliers = weight.scales.map((s) => f32(a.scale * s));
  const centered = new Int32Array(inFeatures);
  return rows.map((_, m) => {
    for (let k = 0; k < inFeatures; k++) centered[k] = a.values[m * inFeatures + k] - a.zeroPoint;
    const out = new Float32Array(outFeatures);
    for (let n = 0; n < outFeatures; n++) {
      let acc = 0;
      const at = n * inFeatures;
      for (let k = 0; k < inFeatures; k++) acc += centered[k] * weight.values[at + k];
      out[n] = f32(acc) * multipliers[n];
    }
    return out;
  });
}
