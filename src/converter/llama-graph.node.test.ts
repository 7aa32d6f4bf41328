/**
 * The converter's graph against the independent TypeScript reference, in onnxruntime-node:
 * prefill + KV-cached decode steps, num_logits_to_keep, GQA with head_dim ≠ hidden/heads,
 * tied and untied heads, default and YaRN RoPE; q4 and q8 exactly against the reference run as
 * they compute (q4: its dequantized weights; q8: its int8 weights and DynamicQuantizeMatMul's
 * activation quantization), and by top-1 agreement with full precision. Every KV path (prefill,
 * single-token steps, a multi-token chunk after a cached prefix) for each dtype and both
 * attention forms (GroupQueryAttention and the plain-op fallback).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { argmax, ReferenceLlama } from '../model/reference.ts';
import { syntheticLlamaTensors } from '../model/synthetic.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import { q4EffectiveWeights, q8EffectiveWeights } from './effective-weights.ts';
import { buildLlamaGraph } from './llama-graph.ts';
import { type AttentionKind, type GraphDtype } from '../model/graph-format.ts';
import { compareWithReference, encodeGraph, KV_CHUNKS, KV_CONFIG, KV_IDS, KV_SHAPE, kvGraph, kvReference, kvWeights } from '../testing/kv-paths.ts';
import { encodeModel } from './onnx-proto.ts';
import { SMALL_LLAMA } from '../testing/memory-checkpoint.ts';

const base: HfLlamaConfig = { ...SMALL_LLAMA };

/** Seeded weights, the same generator the fixtures use. */
const randomWeights = (config: HfLlamaConfig, seed: number) =>
  new Map([...syntheticLlamaTensors(config, seed)].map((t): [string, Float32Array] => [t.name, t.values]));

async function session(config: HfLlamaConfig, weights: Map<string, Float32Array>, dtype: GraphDtype, attention?: AttentionKind) {
  const graph = await buildLlamaGraph(
    resolveLlamaShape(config),
    computeRopeParameters(config),
    dtype,
    async (name) => weights.get(name) ?? Promise.reject(new Error(`missing ${name}`)),
    async (name, dataType, dims, bytes) => ({ name, dataType, dims, data: bytes.slice() }),
    { attention },
  );
  if (attention) expect(graph.nodes.some((n) => n.opType === 'GroupQueryAttention')).toBe(attention === 'gqa');
  const model = encodeModel({
    graph,
    opsets: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
  });
  return ort.InferenceSession.create(model);
}

const i64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

/** The feeds `s` declares: graphs whose attention applies RoPE itself take no position_ids. */
const declared = (s: ort.InferenceSession, feeds: Record<string, ort.Tensor>) =>
  Object.fromEntries(Object.entries(feeds).filter(([name]) => s.inputNames.includes(name)));

/** One run of `ids` at positions `position`… after the cache `past`, with an all-ones mask. */
const runGraph = (s: ort.InferenceSession, ids: number[], position: number, past: Record<string, ort.Tensor>, logitsToKeep: number) =>
  s.run(
    declared(s, {
      input_ids: i64(ids, [1, ids.length]),
      attention_mask: i64(new Array(position + ids.length).fill(1), [1, position + ids.length]),
      position_ids: i64(
        ids.map((_, i) => position + i),
        [1, ids.length],
      ),
      num_logits_to_keep: i64([logitsToKeep], []),
      ...past,
    }),
  );

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
    const out = await runGraph(s, ids, position, past, 1);
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
    [
      'untied, YaRN with a tiny original window, past it',
      {
        ...base,
        tie_word_embeddings: false,
        max_position_embeddings: 64,
        rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1 },
      },
    ],
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
      position_ids: i64(
        prompt.map((_, i) => i),
        [1, prompt.length],
      ),
      num_logits_to_keep: i64([0], []),
    };
    for (let l = 0; l < 2; l++)
      for (const kind of ['key', 'value']) feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
    const out = await s.run(declared(s, feeds));
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

describe('Llama graph (q8, DynamicQuantizeMatMul)', () => {
  const cases: [string, HfLlamaConfig][] = [
    ['tied, default RoPE', base],
    [
      'untied, YaRN with a tiny original window, past it',
      {
        ...base,
        tie_word_embeddings: false,
        max_position_embeddings: 64,
        rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1 },
      },
    ],
  ];
  const q8Reference = (config: HfLlamaConfig, weights: Map<string, Float32Array>) => {
    const q8 = q8EffectiveWeights(resolveLlamaShape(config), weights);
    return new ReferenceLlama(config, lookup(q8.weights), { int8: (name) => q8.int8.get(name)! });
  };

  for (const [label, config] of cases) {
    it(`${label}: greedy decoding (prompt at once, then cached steps) gives the emulating reference's tokens`, async () => {
      const weights = randomWeights(config, 3);
      const s = await session(config, weights, 'q8');
      const longPrompt = [...prompt, ...prompt]; // 20 tokens: past the 16-token original window
      const steps = 12;
      const graphLogits = await graphGreedy(s, config, longPrompt, steps);
      const reference = q8Reference(config, weights);
      let logits = reference.forward(longPrompt);
      let worst = 0;
      for (let step = 0; step <= steps; step++) {
        const got = graphLogits[step];
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - logits[i]));
        expect(argmax(got), `step ${step}`).toBe(argmax(logits));
        logits = reference.step(argmax(logits));
      }
      console.log(`q8 ${label}: max |logit − emulating reference| over ${steps + 1} steps ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-2);
    });
  }

  it('one pass over a sequence equals the emulating reference at every position, and agrees with full precision at most', async () => {
    const weights = randomWeights(base, 9);
    const sequence = Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % base.vocab_size);
    const graphTop1 = await teacherForcedTop1(await session(base, weights, 'q8'), base, sequence, false);
    expect(graphTop1).toEqual(q8Reference(base, weights).teacherForcedArgmax(sequence));
    const expected = new ReferenceLlama(base, lookup(weights)).teacherForcedArgmax(sequence);
    const agree = expected.filter((id, t) => graphTop1[t] === id).length;
    console.log(`q8 vs fp32 reference top-1 agreement: ${agree}/${expected.length}`);
    expect(agree / expected.length).toBeGreaterThanOrEqual(0.7); // 41/48 here (q4: 19/48)
  });

  it('is int8 DynamicQuantizeMatMul throughout, with q|k|v and gate|up fused and one table for a tied model', async () => {
    const graph = await buildLlamaGraph(
      resolveLlamaShape(base),
      computeRopeParameters(base),
      'q8',
      async (name) => randomWeights(base, 1).get(name)!,
      async (name, dataType, dims, bytes) => ({ name, dataType, dims, data: bytes.slice() }),
    );
    const ops = graph.nodes.map((n) => n.opType);
    expect(ops.filter((op) => op === 'DynamicQuantizeMatMul')).toHaveLength(4 * base.num_hidden_layers + 1); // qkv, o, gate|up, down; head
    expect(ops).not.toContain('MatMul');
    expect(ops).not.toContain('MatMulNBits');
    const int8 = graph.initializers.filter((t) => t.dataType === 3).map((t) => `${t.name} [${t.dims.join(', ')}]`);
    expect(int8).toEqual([
      'model.embed_tokens.weight.q8 [64, 300]',
      ...[0, 1].flatMap((l) => [
        `model.layers.${l}.self_attn.qkv_proj.weight.q8 [64, 256]`,
        `model.layers.${l}.self_attn.o_proj.weight.q8 [128, 64]`,
        `model.layers.${l}.mlp.gate_up_proj.weight.q8 [64, 256]`,
        `model.layers.${l}.mlp.down_proj.weight.q8 [128, 64]`,
      ]),
    ]);
  });
});

/** Top-1 token after every position of one full-sequence pass (num_logits_to_keep = 0). */
async function teacherForcedTop1(s: ort.InferenceSession, config: HfLlamaConfig, sequence: number[], half: boolean): Promise<number[]> {
  const { numKvHeads: kv, headDim: hd, vocabSize: v } = resolveLlamaShape(config);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(sequence, [1, sequence.length]),
    attention_mask: i64(new Array(sequence.length).fill(1), [1, sequence.length]),
    position_ids: i64(
      sequence.map((_, i) => i),
      [1, sequence.length],
    ),
    num_logits_to_keep: i64([0], []),
  };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kind}`] = half
        ? new ort.Tensor('float16', new Uint16Array(0), [1, kv, 0, hd])
        : new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
    }
  }
  const out = await s.run(declared(s, feeds));
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

/**
 * Feeds `chunks` one after another through the graph, each after the cache the previous ones left
 * (present → past), with every position's logits kept: the shapes transformers.js produces for a
 * prefill, single-token decode steps and a multi-token prompt after a cached prefix (KV reuse
 * across chat turns).
 */
async function runChunks(s: ort.InferenceSession, config: HfLlamaConfig, chunks: number[][], half: boolean) {
  const { numKvHeads: kv, headDim: hd, vocabSize: v, numLayers } = resolveLlamaShape(config);
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < numLayers; l++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${l}.${kind}`] = half
        ? new ort.Tensor('float16', new Uint16Array(0), [1, kv, 0, hd])
        : new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
    }
  }
  const logits: Float32Array[] = [];
  let position = 0;
  for (const ids of chunks) {
    const total = position + ids.length;
    const out = await runGraph(s, ids, position, past, 0);
    expect(out.logits.dims).toEqual([1, ids.length, v]);
    const all = out.logits.data as Float32Array;
    for (let t = 0; t < ids.length; t++) logits.push(all.slice(t * v, (t + 1) * v));
    past = {};
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value']) {
        const present = out[`present.${l}.${kind}`];
        expect(present.dims).toEqual([1, kv, total, hd]);
        expect(present.type).toBe(half ? 'float16' : 'float32');
        past[`past_key_values.${l}.${kind}`] = present;
      }
    }
    position = total;
  }
  return { logits, presents: past };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
};

describe.each(['gqa', 'plain'] as const)('KV cache paths (%s attention) against the reference', (attention) => {
  const weights = kvWeights();
  const kvSession = async (dtype: GraphDtype) => {
    const graph = await kvGraph(weights, dtype, attention);
    expect(graph.nodes.some((n) => n.opType === 'GroupQueryAttention')).toBe(attention === 'gqa');
    return ort.InferenceSession.create(encodeGraph(graph));
  };

  it('fp32: every position equals the reference, and present holds the reference cache', async () => {
    const { logits, presents } = await runChunks(await kvSession('fp32'), KV_CONFIG, KV_CHUNKS, false);
    const reference = kvReference(weights, 'fp32');
    const { worst, mismatches } = compareWithReference(logits, reference);
    console.log(`${attention} fp32 max |logit − reference| over ${KV_IDS.length} positions: ${worst.toExponential(2)}`);
    expect(mismatches).toEqual([]);
    expect(worst).toBeLessThan(1e-3); // float32 vs the float64-accumulating reference: rounding only
    // present.l.key/value [1, kv, T, hd] = the reference's cache (keys after RoPE), position by position.
    const { numLayers, numKvHeads, headDim } = KV_SHAPE;
    for (let l = 0; l < numLayers; l++) {
      const cache = reference.cacheOf(l);
      for (const [kind, rows] of [
        ['key', cache.keys],
        ['value', cache.values],
      ] as const) {
        const data = presents[`past_key_values.${l}.${kind}`].data as Float32Array;
        let error = 0;
        rows.forEach((row, t) => {
          for (let h = 0; h < numKvHeads; h++) {
            const at = (h * KV_IDS.length + t) * headDim;
            error = Math.max(error, maxAbsDiff(data.subarray(at, at + headDim), row.subarray(h * headDim, (h + 1) * headDim)));
          }
        });
        expect(error, `present.${l}.${kind}`).toBeLessThan(1e-4);
      }
    }
  });

  it('q4: every position equals the reference on the effective 4-bit weights', async () => {
    const { logits } = await runChunks(await kvSession('q4'), KV_CONFIG, KV_CHUNKS, false);
    const { worst, mismatches } = compareWithReference(logits, kvReference(weights, 'q4'));
    console.log(`${attention} q4 max |logit − effective-weight reference|: ${worst.toExponential(2)}`);
    expect(mismatches).toEqual([]);
    expect(worst).toBeLessThan(1e-3);
  });

  it('q8: every position equals the reference computing as DynamicQuantizeMatMul does, on the same chunks', async () => {
    const { logits } = await runChunks(await kvSession('q8'), KV_CONFIG, KV_CHUNKS, false);
    const { worst, mismatches } = compareWithReference(logits, kvReference(weights, 'q8'));
    const { agree } = compareWithReference(logits, kvReference(weights, 'fp32'));
    console.log(`${attention} q8 max |logit − emulating reference|: ${worst.toExponential(2)}; top-1 agreement with full precision ${agree}/${KV_IDS.length}`);
    expect(mismatches).toEqual([]);
    // Not bit for bit: the graph's float ops (GroupQueryAttention's above all) round differently
    // from the reference's by ~1e-7, and now and then that moves an activation across a rounding
    // boundary of its quantization (or the min / max that sets a run's scale): one step of one
    // activation moves a logit by up to a_scale · max |w| ≈ 0.1 here. Tokens stay the same.
    expect(worst).toBeLessThan(1);
  });

  it.each(['fp16', 'q4f16'] as const)('%s: top-1 agrees with its reference at nearly every position', async (dtype) => {
    const { logits } = await runChunks(await kvSession(dtype), KV_CONFIG, KV_CHUNKS, true);
    const { agree, worst } = compareWithReference(logits, kvReference(weights, dtype));
    console.log(`${attention} ${dtype} top-1 agreement over the KV paths: ${agree}/${KV_IDS.length}, max |logit error| ${worst.toExponential(2)}`);
    // fp16 activations and cache (≈1e-3 relative) only flip exact near-ties.
    expect(agree / KV_IDS.length).toBeGreaterThanOrEqual(0.9);
  });
});
