/**
 * The worker's long-context patch over the model store (fake-indexeddb) with transformers.js in
 * Node: tiny-llama-ctx64 (native window 64) stored as the app stores it, opened at 256 tokens with
 * the overrides prepareContext derives, greedy-generates exactly the TypeScript reference under the
 * YaRN-patched config (q4: on the graph's effective weights, untied) — and not what the unpatched
 * model generates — while every stored byte and chunk digest stays as it was.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS_DIR } from '../testing/fixture-specs.ts';
import { readCheckpointWeights } from '../testing/checkpoint-weights.ts';
import { q4EffectiveWeights } from '../converter/effective-weights.ts';
import { AppDB } from '../db/app-db.ts';
import { ModelStore } from '../db/model-store.ts';
import { sha256Hex } from '../lib/digests.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { graphFiles, OPTIONAL_SHARED_FILES, REQUIRED_SHARED_FILES } from '../model/model-files.ts';
import { ReferenceLlama } from '../model/reference.ts';
import { patchConfigForContext } from '../model/yarn.ts';
import { checkDeviceLimits, prepareContext } from './context-patch.ts';
import { AppError } from '../lib/errors.ts';
import { createModelCache, guardFetch, openStoredModel, readModelsFromStore } from './model-cache.ts';

const NAME = 'tiny-llama-ctx64';
const FIXTURE = join(FIXTURE_MODELS_DIR, NAME);
const CHECKPOINT = join(FIXTURE_MODELS_DIR, '..', 'checkpoints', NAME);
const KEY = `local:${NAME}`;
const CONTEXT = 256;
const NEW_TOKENS = 6;

const db = new AppDB(`context-patch-test-${crypto.randomUUID()}`);
const store = new ModelStore(db);
const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as HfLlamaConfig;
const files = [...REQUIRED_SHARED_FILES, ...OPTIONAL_SHARED_FILES, ...graphFiles(config, 'q4')];

const chat = [
  { role: 'system', content: 'You are Hanmadi, a helpful bilingual assistant. Answer in the language of the question.' },
  {
    role: 'user',
    content:
      '안녕하세요! 오늘 서울 날씨 어때요? And what should I wear for a walk along the Han river this evening? 그리고 내일 부산은요? Will it rain there, and should I pack an umbrella for the weekend trip to Haeundae beach? 마지막으로, 부산에서 꼭 먹어 봐야 할 음식은 뭐예요? And how do I say "thank you" politely to the owner of a small restaurant? 감사합니다, 좋은 하루 보내세요!',
  },
];
let promptIds: number[] = [];

/** Every stored chunk of the model: its digest as recorded and of the bytes actually stored. */
async function storedChunks(): Promise<string[]> {
  const chunks = await db.modelChunks.where('[modelKey+path+index]').between([KEY, '', 0], [KEY, '\uffff', Infinity]).toArray();
  return Promise.all(chunks.map(async (c) => `${c.path}#${c.index}:${await sha256Hex(new Uint8Array(await c.data.arrayBuffer()))}`));
}

beforeAll(async () => {
  for (const path of files) {
    const bytes = new Uint8Array(readFileSync(join(FIXTURE, path)));
    const writer = await store.openWriter(KEY, path, { size: bytes.length }, { chunkSize: 4 * 1024 * 1024 });
    await writer.write(bytes);
    await writer.finish();
  }
  readModelsFromStore(createModelCache(store));
  env.fetch = guardFetch(fetch);
  const opened = openStoredModel(KEY);
  try {
    const tokenizer = await AutoTokenizer.from_pretrained(opened.modelPath);
    promptIds = (tokenizer.apply_chat_template(chat as never, { add_generation_prompt: true, return_tensor: false }) as unknown as { input_ids: number[] })
      .input_ids;
  } finally {
    opened.close();
  }
});

afterAll(async () => {
  await db.delete();
});

async function generateFromStore(overrides: Map<string, Uint8Array>): Promise<number[]> {
  const opened = openStoredModel(KEY, { overrides });
  try {
    const model = await AutoModelForCausalLM.from_pretrained(opened.modelPath, { dtype: 'q4' });
    try {
      const input = new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, promptIds.length]);
      const output = (await model.generate({ input_ids: input, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: false })) as Tensor;
      return Array.from(output.data as BigInt64Array, Number).slice(promptIds.length);
    } finally {
      await model.dispose();
    }
  } finally {
    opened.close();
  }
}

async function referenceGreedy(hfConfig: HfLlamaConfig): Promise<number[]> {
  const effective = q4EffectiveWeights(resolveLlamaShape(hfConfig), await readCheckpointWeights(CHECKPOINT));
  // q4 graphs keep a separate quantized copy of a tied head: the reference runs untied.
  const model = new ReferenceLlama({ ...hfConfig, tie_word_embeddings: false }, (name) => effective.get(name)!);
  return model.greedy(promptIds, NEW_TOKENS);
}

describe('prepareContext over the model store', () => {
  it('within the native window serves the stored files as they are', async () => {
    for (const length of [undefined, 32, 64]) {
      const patch = (await prepareContext(store, KEY, 'q4', length))!;
      expect([patch.overrides.size, patch.window, patch.nativeContext, patch.extension]).toEqual([0, length ?? 64, 64, undefined]);
    }
  });

  it('past it, transformers.js generates the YaRN reference (the unpatched graph refuses such positions), and the stored bytes stay untouched', async () => {
    const before = await storedChunks();
    const patch = (await prepareContext(store, KEY, 'q4', CONTEXT))!;
    expect([...patch.overrides.keys()].sort()).toEqual(['config.json', 'onnx/model_q4.onnx']);
    expect(patch).toMatchObject({ window: CONTEXT, nativeContext: 64, extension: { factor: 4, form: 'cos-sin-cache' } });
    const served = JSON.parse(new TextDecoder().decode(patch.overrides.get('config.json'))) as HfLlamaConfig;
    expect(served).toEqual(patchConfigForContext(config, CONTEXT));
    expect(promptIds.length).toBeGreaterThan(2 * 64);
    expect(promptIds.length + NEW_TOKENS).toBeLessThanOrEqual(CONTEXT);

    const got = await generateFromStore(patch.overrides);
    expect(got).toEqual(await referenceGreedy(served));
    expect(got).not.toEqual(await referenceGreedy(config));
    // Its RoPE tables end at the native window: GroupQueryAttention refuses the positions past it.
    await expect(generateFromStore(new Map())).rejects.toThrow(/cos_cache dimension 0/);

    // The originals: same bytes as the fixture, same chunks with the same digests.
    for (const path of ['config.json', 'onnx/model_q4.onnx']) {
      expect(Buffer.from(await store.readFileBytes(KEY, path)).equals(readFileSync(join(FIXTURE, path)))).toBe(true);
    }
    expect(await storedChunks()).toEqual(before);
    const record = await db.modelFiles.get([KEY, 'onnx/model_q4.onnx']);
    expect(record?.chunkSha256).toEqual([await sha256Hex(new Uint8Array(readFileSync(join(FIXTURE, 'onnx/model_q4.onnx'))))]);
  });

  it('refuses, with a typed error, a graph whose RoPE constants do not match its config', async () => {
    const otherKey = 'local:other-theta';
    for (const path of files) {
      let bytes = new Uint8Array(readFileSync(join(FIXTURE, path)));
      // Stored with another rope_theta: the graph's RoPE tables no longer match the config.
      if (path === 'config.json') bytes = new TextEncoder().encode(JSON.stringify({ ...config, rope_theta: 10000 }));
      const writer = await store.openWriter(otherKey, path, { size: bytes.length });
      await writer.write(bytes);
      await writer.finish();
    }
    const error = await prepareContext(store, otherKey, 'q4', CONTEXT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).toValue()).toMatchObject({
      code: 'context-unsupported',
      params: { native: 64, requested: CONTEXT, reason: 'unrecognised-rope' },
    });
    // A config that names no window loads unpatched at its native length, and refuses a longer one.
    const windowless = 'local:no-window';
    const { max_position_embeddings: _window, ...configWithoutWindow } = config;
    const bytes = new TextEncoder().encode(JSON.stringify(configWithoutWindow));
    const writer = await store.openWriter(windowless, 'config.json', { size: bytes.length });
    await writer.write(bytes);
    await writer.finish();
    expect(await prepareContext(store, windowless, 'q4')).toBeNull();
    expect(((await prepareContext(store, windowless, 'q4', CONTEXT).catch((e: unknown) => e)) as AppError).code).toBe('load-failed');
    // A model that is not stored is missing, not unsupported.
    expect(((await prepareContext(store, 'local:nothing', 'q4', CONTEXT).catch((e: unknown) => e)) as AppError).code).toBe('model-files-missing');
  });
});

describe('checkDeviceLimits', () => {
  it('refuses a window whose largest buffer exceeds the device limit, and names it', () => {
    const limits = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 100 * 1024 };
    expect(() => checkDeviceLimits(config, 128, 'q4', limits)).not.toThrow();
    let error: unknown;
    try {
      // 256 tokens × intermediate 128 × 4 bytes = 128 KiB of MLP activations for a whole-prompt prefill.
      checkDeviceLimits(config, 256, 'q4', limits);
    } catch (e) {
      error = e;
    }
    expect((error as AppError).toValue()).toMatchObject({
      code: 'context-too-large',
      params: { tokens: 256, bytes: 128 * 1024, limit: 'maxStorageBufferBindingSize', limitBytes: 100 * 1024, buffer: 'mlp-activations' },
    });
    // Not Llama-shaped: not sized here (ONNX Runtime's own allocation error speaks).
    expect(() => checkDeviceLimits({ ...config, model_type: 'exaone' }, 1 << 20, 'q4', limits)).not.toThrow();
  });
});
