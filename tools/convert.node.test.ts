/**
 * End to end in Node: a synthetic Hugging Face checkpoint (bf16, real Llama-3 tokenizer, GQA,
 * head_dim ≠ hidden/heads) → the converter CLI's core → transformers.js `from_pretrained` with
 * local files → greedy generation equal, token for token, to the TypeScript reference (fp32), and
 * for q8 (transformers.js's `model_quantized.onnx`, on the CPU) to the reference computing as its
 * DynamicQuantizeMatMul does.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../src/converter/convert.ts';
import { eosTokenIds, resolveLlamaShape } from '../src/model/config.ts';
import { writeSyntheticCheckpoint } from './lib/checkpoint.ts';
import { FIXTURES } from '../src/testing/fixture-specs.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';
import { loadReferenceModel } from './lib/reference-loader.ts';

/**
 * The q8 file against the reference that computes as DynamicQuantizeMatMul does (the same int8
 * weights and per-run activation quantization): what is left is float32 summation order, and the
 * rare activation whose quantization rounds the other way after it.
 */
const Q8_LOGIT_TOLERANCE = 1e-3;

const root = mkdtempSync(join(tmpdir(), 'hanmadi-convert-'));
const messages = [
  { role: 'system', content: 'You are Hanmadi, a helpful bilingual assistant.' },
  { role: 'user', content: '안녕하세요! 오늘 서울 날씨 어때요? And what should I wear?' },
];

describe.each(Object.keys(FIXTURES))('%s through transformers.js in Node', (name) => {
  const spec = FIXTURES[name];
  const checkpointDir = join(root, 'checkpoints', name);
  const modelDir = join(root, 'models', name);

  beforeAll(async () => {
    writeSyntheticCheckpoint(checkpointDir, spec);
    await convertCheckpoint(directoryReader(checkpointDir), directoryWriter(modelDir), { dtypes: ['fp32', 'fp16', 'q4', 'q4f16', 'q8'] });
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = join(root, 'models') + '/';
  });

  /** A Korean+English chat prompt's ids (past the 64-token original window of the yarn fixture). */
  async function chatPromptIds(): Promise<number[]> {
    const tokenizer = await AutoTokenizer.from_pretrained(name);
    // The yarn fixture's original window is 64 tokens: give it a prompt that runs past it.
    const chat = spec.config.rope_scaling
      ? [
          ...messages,
          { role: 'assistant', content: '서울은 맑고 포근해요. Light layers are perfect today.' },
          { role: 'user', content: '그럼 내일 부산은요? Will it rain there, and should I pack an umbrella for the weekend trip?' },
        ]
      : messages;
    const encoded = tokenizer.apply_chat_template(chat, { add_generation_prompt: true, return_tensor: false }) as unknown as { input_ids: number[] };
    const promptIds = encoded.input_ids;
    expect(promptIds.slice(0, 2)).toEqual([128000, 128006]); // <|begin_of_text|><|start_header_id|>
    if (spec.config.rope_scaling) expect(promptIds.length).toBeGreaterThan(64);
    return promptIds;
  }

  async function greedyTokens(dtype: 'fp32' | 'q8', promptIds: number[]): Promise<number[]> {
    const model = await AutoModelForCausalLM.from_pretrained(name, { dtype, device: 'cpu' });
    const input = new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, promptIds.length]);
    const output = (await model.generate({ input_ids: input, max_new_tokens: 24, min_new_tokens: 24, do_sample: false })) as Tensor;
    await model.dispose();
    return Array.from(output.data as BigInt64Array, Number).slice(promptIds.length);
  }

  it('fp32 greedy tokens equal the reference for 24 new tokens on a Korean+English chat prompt', async () => {
    const promptIds = await chatPromptIds();
    const generated = await greedyTokens('fp32', promptIds);
    const expected = (await loadReferenceModel(checkpointDir, spec.config)).greedy(promptIds, 24, []);
    expect(generated).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(3); // a real continuation, not one repeated token
    expect(eosTokenIds(spec.config)).toContain(128009);
    if (spec.config.rope_scaling?.rope_type === 'llama3') {
      // The prompt runs where the llama3 scaling matters: default RoPE would continue otherwise.
      const plain = await loadReferenceModel(checkpointDir, { ...spec.config, rope_scaling: null });
      expect(plain.greedy(promptIds, 24, [])).not.toEqual(expected);
    }
  });

  it('q8 greedy tokens equal the reference computing as DynamicQuantizeMatMul does, for 24 new tokens', async () => {
    const promptIds = await chatPromptIds();
    const generated = await greedyTokens('q8', promptIds);
    const expected = (await loadReferenceModel(checkpointDir, spec.config, 'q8')).greedy(promptIds, 24, []);
    const float = (await loadReferenceModel(checkpointDir, spec.config)).greedy(promptIds, 24, []);
    const leading = float.findIndex((id, i) => id !== generated[i]);
    console.log(`${name} q8: ${generated.join(' ')}; the float reference agrees on the first ${leading === -1 ? float.length : leading} of 24`);
    expect(generated).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(3);
  });

  it(`q8's logits at every prompt position, from the written file in onnxruntime-node, are within ${Q8_LOGIT_TOLERANCE} of the emulating reference`, async () => {
    const promptIds = await chatPromptIds();
    const session = await ort.InferenceSession.create(join(modelDir, 'onnx', 'model_quantized.onnx'), { intraOpNumThreads: 1 });
    const { numLayers, numKvHeads, headDim, vocabSize } = resolveLlamaShape(spec.config);
    const i64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(promptIds, [1, promptIds.length]),
      attention_mask: i64(new Array(promptIds.length).fill(1), [1, promptIds.length]),
      position_ids: i64(
        promptIds.map((_, i) => i),
        [1, promptIds.length],
      ),
      num_logits_to_keep: i64([promptIds.length], []),
    };
    for (let l = 0; l < numLayers; l++)
      for (const kind of ['key', 'value']) feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
    const logits = (await session.run(Object.fromEntries(Object.entries(feeds).filter(([n]) => session.inputNames.includes(n))))).logits.data as Float32Array;
    await session.release();
    const expected = (await loadReferenceModel(checkpointDir, spec.config, 'q8')).run(promptIds, promptIds.length);
    expect(logits.length).toBe(promptIds.length * vocabSize);
    let worst = 0;
    expected.forEach((row, position) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - logits[position * vocabSize + i])))));
    console.log(`${name} q8: max |logit − emulating reference| over ${promptIds.length} positions × ${vocabSize}: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(Q8_LOGIT_TOLERANCE);
  });

  it.each(['fp16', 'q4', 'q4f16'] as const)('%s loads through transformers.js and generates', async (dtype) => {
    const model = await AutoModelForCausalLM.from_pretrained(name, { dtype });
    const ids = [128000, 9906, 11, 220, 101193, 0];
    const input = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const output = (await model.generate({ input_ids: input, max_new_tokens: 8, min_new_tokens: 8, do_sample: false })) as Tensor;
    expect(output.dims).toEqual([1, ids.length + 8]);
    await model.dispose();
  });

  it('writes a manifest that lists every file with its size', () => {
    const manifest = JSON.parse(readFileSync(join(modelDir, 'hanmadi-manifest.json'), 'utf8')) as { files: { path: string; size: number }[] };
    const paths = manifest.files.map((f) => f.path).sort();
    const graphs = ['model', 'model_fp16', 'model_q4', 'model_q4f16', 'model_quantized'].flatMap((g) => [`onnx/${g}.onnx`, `onnx/${g}.onnx_data`]);
    expect(paths).toEqual(['config.json', 'generation_config.json', ...graphs, 'tokenizer.json', 'tokenizer_config.json'].sort());
    for (const f of manifest.files) expect(readFileSync(join(modelDir, f.path)).length).toBe(f.size);
  });
});
