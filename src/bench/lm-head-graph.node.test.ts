/**
 * The bench's one-node lm_head graph computes the head: run in onnxruntime-node for every
 * precision and compared with a plain matmul over the weights it says it computes with, with a
 * vocabulary that is not a multiple of the random block (so the tiling shows).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { toFloat16, float16ToFloat32 } from '../lib/float16.ts';
import { quantizeActivations } from '../model/dynamic-quantization.ts';
import type { GraphDtype } from '../model/graph-format.ts';
import { createRng } from '../model/rng.ts';
import { lmHeadGraph } from './lm-head-graph.ts';

const shape = { hiddenSize: 64, vocabSize: 1000 };
const BLOCK_ROWS = 96;

async function logitsOf(dtype: GraphDtype, hidden: Float32Array) {
  const head = lmHeadGraph(shape, dtype, 3, BLOCK_ROWS);
  const session = await ort.InferenceSession.create(head.model);
  const input =
    head.inputType === 'float16'
      ? new ort.Tensor('float16', toFloat16(hidden), [1, 1, shape.hiddenSize])
      : new ort.Tensor('float32', hidden, [1, 1, shape.hiddenSize]);
  const { logits } = await session.run({ hidden: input });
  await session.release();
  return { head, logits: logits.data as Float32Array, dims: logits.dims };
}

/** logits[v] = Σ x_i · W[v mod rows][i], in float64. */
function referenceLogits(x: Float32Array, block: Float32Array, rows: number): Float64Array {
  const d = shape.hiddenSize;
  return Float64Array.from({ length: shape.vocabSize }, (_, v) => {
    let sum = 0;
    for (let i = 0; i < d; i++) sum += x[i] * block[(v % rows) * d + i];
    return sum;
  });
}

const rng = createRng(11);
const hidden = Float32Array.from({ length: shape.hiddenSize }, () => rng.normal());

describe('lmHeadGraph', () => {
  it.each(['fp32', 'fp16', 'q4', 'q4f16'] as GraphDtype[])('%s: the logits of the weights it computes with', async (dtype) => {
    const { head, logits, dims } = await logitsOf(dtype, hidden);
    expect(dims).toEqual([1, 1, shape.vocabSize]);
    expect(head.rows).toBe(BLOCK_ROWS);
    // Half-precision graphs take a half input and accumulate as the kernel does.
    const x = dtype === 'fp16' || dtype === 'q4f16' ? float16ToFloat32(toFloat16(hidden)) : hidden;
    const expected = referenceLogits(x, head.effectiveBlock(), head.rows);
    const tolerance = dtype === 'fp32' || dtype === 'q4' ? 1e-4 : 0.05;
    for (let v = 0; v < shape.vocabSize; v++) expect(Math.abs(logits[v] - expected[v])).toBeLessThan(tolerance * (1 + Math.abs(expected[v])));
  });

  it('q8: DynamicQuantizeMatMul over the int8 head, with the input quantized as the kernel does', async () => {
    const { head, logits } = await logitsOf('q8', hidden);
    const a = quantizeActivations(hidden);
    const dequantizedInput = Float32Array.from(a.values, (q) => (q - a.zeroPoint) * a.scale);
    const expected = referenceLogits(dequantizedInput, head.effectiveBlock(), head.rows);
    for (let v = 0; v < shape.vocabSize; v++) expect(Math.abs(logits[v] - expected[v])).toBeLessThan(1e-4 * (1 + Math.abs(expected[v])));
  });

  it('stores what one step reads: q4 about an eighth of fp32', () => {
    const fp32 = lmHeadGraph(shape, 'fp32').weightBytes;
    expect(fp32).toBe(shape.hiddenSize * shape.vocabSize * 4);
    // 4 bits per weight and a float32 scale per 32 (symmetric: no zero points).
    expect(lmHeadGraph(shape, 'q4').weightBytes).toBe(shape.vocabSize * (shape.hiddenSize / 2 + (shape.hiddenSize / 32) * 4));
  });
});
