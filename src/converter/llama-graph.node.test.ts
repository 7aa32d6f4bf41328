/**
 * The converter's graph against the independent TypeScript reference, in onnxruntime-node:
 * prefill + KV-cached decode steps, num_logits_to_keep, GQA with head_dim ≠ hidden/heads,
 * tied and untied heads, default and YaRN RoPE; q4 by top-1 agreement.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { argmax, ReferenceLlama } from '../model/reference.ts';
import { syntheticLlamaTensors } from '../model/synthetic.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import { buildLlamaGraph, q4EffectiveWeights, type GraphDtype } from './llama-graph.ts';
import { encodeModel } from './onnx-proto.ts';

const base: HfLlamaConfig = {
  model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, vocab_size: 300,
  rms_norm_eps: 1e-5, rope_theta: 500000, max_position_embeddings: 4096, tie_word_embeddings: true,
};

/** Seeded weights, the same generator the fixtures use. */
const randomWeights = (config: HfLlamaConfig, seed: number) =>
  new Map([...syntheticLlamaTensors(config, seed)].map((t): [string, Float32Array] => [t.name, t.values]));

async function session(config: HfLlamaConfig, weights: Map<string, Float32Array>, dtype: GraphDtype) {
  const graph = await buildLlamaGraph(
    resolveLlamaShape(config),
    computeRopeParameters(config),
    dtype,
    async (name) => weights.get(name) ?? Promise.reject(new Error(`missing ${name}`)),
    async (name, dataType, dims, bytes) => ({ name, dataType, dims, data: bytes.slice() }),
  );
  const model = encodeModel({ graph, opsets: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }] });
  return ort.InferenceSession.create(model);
}

const i64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

/** Runs prompt then greedy single-token steps through the graph, feeding present → past. */
async function graphGreedy(s: ort.InferenceSession, config: HfLlamaConfig, prompt: number[], steps: number) {
  const { numKvHeads: kv, headDim: hd } = resolveLlamaShape(config);
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
  }
  const lastLogits: Float32Array[] = [];
  let ids = prompt;
  let position = 0;
  for (let step = 0; step <= steps; step++) {
    const total = position + ids.length;
    const out = await s.run({
      input_ids: i64(ids, [1, ids.length]),
      attention_mask: i64(new Array(total).fill(1), [1, total]),
      position_ids: i64(ids.map((_, i) => position + i), [1, ids.length]),
      num_logits_to_keep: i64([1], []),
      ...past,
    });
    expect(out.logits.dims).toEqual([1, 1, config.vocab_size]);
    const logits = out.logits.data as Float32Array;
    lastLogits.push(logits);
    past = {};
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`];
    }
    position = total;
    ids = [argmax(logits)];
  }
  return lastLogits;
}

const prompt = [5, 77, 123, 9, 250, 31, 31, 8, 199, 42];
const lookup = (weights: Map<string, Float32Array>) => (name: string) => weights.get(name)!;

describe('Llama graph (fp32) equals the TypeScript reference', () => {
  const cases: [string, HfLlamaConfig][] = [
    ['tied, default RoPE', base],
    ['untied, YaRN with a tiny original window, past it', {
      ...base, tie_word_embeddings: false, max_position_embeddings: 64,
      rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1 },
    }],
  ];
  for (const [label, config] of cases) {
    it(label, async () => {
      const weights = randomWeights(config, 3);
      const s = await session(config, weights, 'fp32');
      const reference = new ReferenceLlama(config, lookup(weights));
      const longPrompt = [...prompt, ...prompt]; // 20 tokens: past the 16-token original window
      const steps = 12;
      const graphLogits = await graphGreedy(s, config, longPrompt, steps);
      let logits = reference.forward(longPrompt);
      for (let step = 0; step <= steps; step++) {
        const got = graphLogits[step];
        let maxError = 0;
        for (let i = 0; i < got.length; i++) maxError = Math.max(maxError, Math.abs(got[i] - logits[i]));
        // float32 graph vs float64-accumulating reference: differences are rounding only.
        expect(maxError).toBeLessThan(1e-3);
        expect(argmax(got)).toBe(argmax(logits));
        logits = reference.step(argmax(logits));
      }
    });
  }

  it('num_logits_to_keep = 0 returns every position, matching teacher forcing', async () => {
    const weights = randomWeights(base, 5);
    const s = await session(base, weights, 'fp32');
    const { numKvHeads: kv, headDim: hd } = resolveLlamaShape(base);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(prompt, [1, prompt.length]),
      attention_mask: i64(new Array(prompt.length).fill(1), [1, prompt.length]),
      position_ids: i64(prompt.map((_, i) => i), [1, prompt.length]),
      num_logits_to_keep: i64([0], []),
    };
    for (let l = 0; l < 2; l++) for (const kind of ['key', 'value']) feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
    const out = await s.run(feeds);
    expect(out.logits.dims).toEqual([1, prompt.length, base.vocab_size]);
    const all = out.logits.data as Float32Array;
    const expected = new ReferenceLlama(base, lookup(weights)).teacherForcedArgmax(prompt);
    expect(prompt.map((_, t) => argmax(all.subarray(t * base.vocab_size, (t + 1) * base.vocab_size)))).toEqual(expected);
  });
});

describe('Llama graph (q4, MatMulNBits)', () => {
  it('equals the reference run on the dequantized weights, and mostly agrees with full precision', async () => {
    const weights = randomWeights(base, 9);
    const sequence = Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % base.vocab_size);
    const graphTop1 = await teacherForcedTop1(await session(base, weights, 'q4'), base, sequence, false);
    // Exact check: the graph computes what the reference computes on the effective q4 weights.
    const effective = q4EffectiveWeights(resolveLlamaShape(base), weights); // tied: adds the q4 copy of the table as lm_head
    const dequantized = new ReferenceLlama({ ...base, tie_word_embeddings: false }, lookup(effective)).teacherForcedArgmax(sequence);
    expect(graphTop1).toEqual(dequantized);
    // Against full precision: 4-bit weights flip near-ties, so only a rate is meaningful.
    const expected = new ReferenceLlama(base, lookup(weights)).teacherForcedArgmax(sequence);
    const agree = expected.filter((id, t) => graphTop1[t] === id).length;
    console.log(`q4 vs fp32 reference top-1 agreement: ${agree}/${expected.length}`);
    expect(agree / expected.length).toBeGreaterThanOrEqual(0.3);
  });
});


/** Top-1 token after every position of one full-sequence pass (num_logits_to_keep = 0). */
async function teacherForcedTop1(s: ort.InferenceSession, config: HfLlamaConfig, sequence: number[], half: boolean): Promise<number[]> {
  const { numKvHeads: kv, headDim: hd, vocabSize: v } = resolveLlamaShape(config);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(sequence, [1, sequence.length]),
    attention_mask: i64(new Array(sequence.length).fill(1), [1, sequence.length]),
    position_ids: i64(sequence.map((_, i) => i), [1, sequence.length]),
    num_logits_to_keep: i64([0], []),
  };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kind}`] = half
        ? new ort.Tensor('float16', new Uint16Array(0), [1, kv, 0, hd])
        : new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
    }
  }
  const out = await s.run(feeds);
  expect(out.logits.type).toBe('float32');
  if (half) expect(out['present.0.key'].type).toBe('float16');
  const all = out.logits.data as Float32Array;
  return sequence.map((_, t) => argmax(all.subarray(t * v, (t + 1) * v)));
}

describe('Llama graph in half precision (fp16, q4f16)', () => {
  const sequence = Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % base.vocab_size);
  const weights = randomWeights(base, 9);

  it('fp16 agrees with the fp32 reference at nearly every teacher-forced position', async () => {
    const top1 = await teacherForcedTop1(await session(base, weights, 'fp16'), base, sequence, true);
    const expected = new ReferenceLlama(base, lookup(weights)).teacherForcedArgmax(sequence);
    const agree = expected.filter((id, t) => top1[t] === id).length;
    console.log(`fp16 vs fp32 reference top-1 agreement: ${agree}/${expected.length}`);
    // fp16 rounding (≈1e-3 relative) only flips exact near-ties.
    expect(agree / expected.length).toBeGreaterThanOrEqual(0.9);
  });

  it('q4f16 agrees with q4 (same 4-bit weights) at nearly every position', async () => {
    const q4 = await teacherForcedTop1(await session(base, weights, 'q4'), base, sequence, false);
    const q4f16 = await teacherForcedTop1(await session(base, weights, 'q4f16'), base, sequence, true);
    const agree = q4.filter((id, t) => q4f16[t] === id).length;
    console.log(`q4f16 vs q4 top-1 agreement: ${agree}/${q4.length}`);
    // Same quantized weights; only fp16 activations and scales differ.
    expect(agree / q4.length).toBeGreaterThanOrEqual(0.9);
  });
});
