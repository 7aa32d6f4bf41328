/**
 * Each matmul form the microbenchmark times computes the product it claims: A times the form's
 * dequantized weight, in onnxruntime-web's WASM build (what the bench and the app's CPU path run)
 * and in onnxruntime-node. Forms that quantize the activations to 8 bits (DynamicQuantizeLinear,
 * or accuracy_level 4 where a kernel exists) are within 2 % of the output's largest magnitude;
 * forms that keep them in float32 within 1e-4.
 */
import { createRequire } from 'node:module';
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { activations, MATMUL_FORMS, matmulModel, matmulWeights, type MatmulForm } from './matmul-forms.ts';

const ortWeb = createRequire(import.meta.url)('onnxruntime-web') as typeof ortNode;
ortWeb.env.wasm.numThreads = 1;

const M = 3;
const K = 96;
const N = 40;

/** Activations quantized to 8 bits by the form (accuracy_level 4 may, where MLAS has the kernel). */
const quantizesActivations = (form: MatmulForm) => form === 'q8-integer' || form === 'q8-dqmm' || form.endsWith('acc4');

function product(a: Float32Array, w: Float32Array): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) y[m * N + n] += a[m * K + k] * w[k * N + n];
  return y;
}

describe.each([
  ['onnxruntime-web (WASM)', ortWeb],
  ['onnxruntime-node', ortNode],
] as const)('matmul forms in %s', (_, ort) => {
  it.each(MATMUL_FORMS)('%s equals A times its dequantized weight', async (form) => {
    const weights = matmulWeights(form, K, N, 3);
    const a = activations(M, K);
    const session = await ort.InferenceSession.create(matmulModel(weights), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    const y = (await session.run({ A: new ort.Tensor('float32', a, [M, K]) })).Y;
    await session.release();
    expect(y.dims).toEqual([M, N]);
    const expected = product(a, weights.dequantized());
    const scale = Math.max(...expected.map(Math.abs));
    const worst = Math.max(...Array.from(y.data as Float32Array, (v, i) => Math.abs(v - expected[i])));
    expect(worst / scale).toBeLessThan(quantizesActivations(form) ? 0.02 : 1e-4);
    // The forms really differ from a constant or zero output.
    expect(scale).toBeGreaterThan(0.1);
  });
});
