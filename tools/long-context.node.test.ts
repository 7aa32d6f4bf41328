/**
 * The long-context patch end to end in Node, on the tiny-llama-ctx64 fixture (native window 64,
 * default RoPE): its converted graphs and config.json are patched at "load" to 512 tokens (YaRN
 * factor 8) by src/model/rope-patch.ts, served to transformers.js from a folder next to the
 * unchanged external data, and greedy-generate exactly the TypeScript reference's tokens under the
 * patched config for a ~170-token Korean+English chat — while the unpatched graphs, which follow
 * the original config (as their own reference shows), give other tokens.
 *
 * q4: compared with the reference run on the weights the q4 graph really computes with
 * (q4EffectiveWeights): an exact, independent check of the patched q4 graph. The float reference
 * is not a fair target for q4 (the fixture's top-1 margins are about the size of the 4-bit error,
 * see synthetic.ts). q8 likewise, against the reference computing as its DynamicQuantizeMatMul
 * does (its RoPE is the same inv_freq form, so the same patch applies).
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../src/converter/convert.ts';
import { q4EffectiveWeights } from '../src/converter/effective-weights.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../src/model/config.ts';
import { ReferenceLlama } from '../src/model/reference.ts';
import { patchConfigJson, patchOnnxRope } from '../src/model/rope-patch.ts';
import { readCheckpointWeights } from '../src/testing/checkpoint-weights.ts';
import { dtypeReference } from '../src/testing/dtype-reference.ts';
import { writeSyntheticCheckpoint } from './lib/checkpoint.ts';
import { CTX64_DTYPES, CTX64_FIXTURE, CTX64_SPEC } from '../src/testing/fixture-specs.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';

const CONTEXT = 512;
const NEW_TOKENS = 24;
const root = mkdtempSync(join(tmpdir(), 'hanmadi-long-context-'));
const checkpointDir = join(root, 'checkpoint');
const modelsDir = join(root, 'models');
const originalDir = join(modelsDir, CTX64_FIXTURE);
const patchedName = `${CTX64_FIXTURE}-${CONTEXT}`;
const patchedDir = join(modelsDir, patchedName);

const chat = [
  { role: 'system', content: 'You are Hanmadi, a helpful bilingual assistant. Answer in the language of the question.' },
  { role: 'user', content: '안녕하세요! 오늘 서울 날씨 어때요? And what should I wear for a walk along the Han river this evening?' },
  { role: 'assistant', content: '서울은 맑고 포근해요. Light layers are perfect today, with a thin jacket for the evening breeze by the river.' },
  { role: 'user', content: '그럼 내일 부산은요? Will it rain there, and should I pack an umbrella for the weekend trip to Haeundae beach?' },
  { role: 'assistant', content: '부산은 내일 오후에 비가 올 수 있어요. Yes, pack a small umbrella and shoes that can get wet.' },
  { role: 'user', content: '고마워요! Last question: which Korean dishes should I try in Busan, and how do I say "thank you" politely?' },
];

let promptIds: number[] = [];
let original: HfLlamaConfig;
let patched: HfLlamaConfig;

beforeAll(async () => {
  writeSyntheticCheckpoint(checkpointDir, CTX64_SPEC);
  await convertCheckpoint(directoryReader(checkpointDir), directoryWriter(originalDir), { dtypes: CTX64_DTYPES });

  // What the worker does at load: patch config.json and the small graphs, reuse everything else.
  const plan = patchConfigJson(readFileSync(join(originalDir, 'config.json')), CONTEXT);
  expect(plan.changed).toBe(true);
  ({ original, patched } = plan);
  mkdirSync(join(patchedDir, 'onnx'), { recursive: true });
  writeFileSync(join(patchedDir, 'config.json'), plan.bytes);
  for (const file of ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(originalDir, file), join(patchedDir, file));
  for (const graph of ['model', 'model_q4', 'model_quantized']) {
    const result = patchOnnxRope(readFileSync(join(originalDir, 'onnx', `${graph}.onnx`)), original, patched);
    expect(result.form).toBe('cos-sin-cache'); // GroupQueryAttention's RoPE tables
    writeFileSync(join(patchedDir, 'onnx', `${graph}.onnx`), result.bytes);
    // A hard link: onnxruntime refuses external data that resolves outside the model folder.
    linkSync(join(originalDir, 'onnx', `${graph}.onnx_data`), join(patchedDir, 'onnx', `${graph}.onnx_data`));
  }

  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelsDir + '/';
  const tokenizer = await AutoTokenizer.from_pretrained(CTX64_FIXTURE);
  promptIds = (tokenizer.apply_chat_template(chat, { add_generation_prompt: true, return_tensor: false }) as unknown as { input_ids: number[] }).input_ids;
});

async function generate(model: string, dtype: 'fp32' | 'q4' | 'q8'): Promise<number[]> {
  const session = await AutoModelForCausalLM.from_pretrained(model, { dtype, device: 'cpu' });
  try {
    const input = new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, promptIds.length]);
    const output = (await session.generate({ input_ids: input, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: false })) as Tensor;
    return Array.from(output.data as BigInt64Array, Number).slice(promptIds.length);
  } finally {
    await session.dispose();
  }
}

/** The unpatched graph's RoPE tables end at its native window: GroupQueryAttention refuses positions past it. */
const expectRefusedPastWindow = (dtype: 'fp32' | 'q4' | 'q8') => expect(generate(CTX64_FIXTURE, dtype)).rejects.toThrow(/cos_cache dimension 0/);

const lookup = (weights: Map<string, Float32Array>) => (name: string) => {
  const w = weights.get(name);
  if (!w) throw new Error(`tensor ${name} missing`);
  return w;
};

describe(`${CTX64_FIXTURE} patched to ${CONTEXT} tokens, through transformers.js in Node`, () => {
  it('runs a prompt far past the native window, and the patch really changes RoPE', () => {
    expect(original.max_position_embeddings).toBe(64);
    expect(original.rope_scaling ?? null).toBeNull();
    expect(patched.rope_scaling).toEqual({ type: 'yarn', factor: 8, original_max_position_embeddings: 64, beta_fast: 64, beta_slow: 2 });
    expect(promptIds.length).toBeGreaterThan(150);
    expect(promptIds.length + NEW_TOKENS).toBeLessThanOrEqual(CONTEXT);
  });

  it('fp32: the patched graph generates the YaRN reference tokens; the unpatched one refuses positions past its window', async () => {
    const weights = await readCheckpointWeights(checkpointDir);
    const expected = new ReferenceLlama(patched, lookup(weights)).greedy(promptIds, NEW_TOKENS);
    const unpatchedExpected = new ReferenceLlama(original, lookup(weights)).greedy(promptIds, NEW_TOKENS);
    const got = await generate(patchedName, 'fp32');
    console.log(`prompt ${promptIds.length} tokens; patched ${got.join(' ')}; original config ${unpatchedExpected.join(' ')}`);
    expect(got).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(3); // a real continuation, not one repeated token
    expect(unpatchedExpected).not.toEqual(expected);
    await expectRefusedPastWindow('fp32');
  });

  it('q4: the patched graph generates what the YaRN reference gives on its effective (dequantized) weights', async () => {
    const effective = q4EffectiveWeights(resolveLlamaShape(patched), await readCheckpointWeights(checkpointDir));
    // The tied head is a separate q4 copy in the graph, so the reference runs untied.
    const expected = new ReferenceLlama({ ...patched, tie_word_embeddings: false }, lookup(effective)).greedy(promptIds, NEW_TOKENS);
    const got = await generate(patchedName, 'q4');
    expect(got).toEqual(expected);
    await expectRefusedPastWindow('q4');
  });

  it('q8: the patched graph generates what the YaRN reference computing as DynamicQuantizeMatMul gives', async () => {
    const weights = await readCheckpointWeights(checkpointDir);
    const expected = dtypeReference(patched, weights, 'q8').greedy(promptIds, NEW_TOKENS);
    const got = await generate(patchedName, 'q8');
    expect(got).toEqual(expected);
    expect(dtypeReference(original, weights, 'q8').greedy(promptIds, NEW_TOKENS)).not.toEqual(got);
    await expectRefusedPastWindow('q8');
  });
});
