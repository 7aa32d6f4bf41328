/**
 * The customCache adapter against transformers.js itself (in Node, onnxruntime-node) over a
 * fake-indexeddb store holding the tiny-llama fixture: transformers.js finds every file under
 * the keys it builds, generates exactly what it generates from the folder, never fetches a model
 * file, and a chunk corrupted inside IndexedDB fails the load as 'model-corrupt' and is dropped.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS_DIR } from '../testing/fixture-specs.ts';
import { AppDB } from '../db/app-db.ts';
import { ModelStore } from '../db/model-store.ts';
import { graphFiles, OPTIONAL_SHARED_FILES, REQUIRED_SHARED_FILES } from '../model/model-files.ts';
import { AppError } from '../lib/errors.ts';
import { createModelCache, guardFetch, MODEL_HOST, openStoredModel, readModelsFromStore } from './model-cache.ts';

const FIXTURE = join(FIXTURE_MODELS_DIR, 'tiny-llama');
const MODEL_KEY = 'local:tiny-llama';
const CHUNK = 1024 * 1024; // the q4 data file (5 MiB) spans five
const PROMPT = [128000, 9906, 11, 220, 101193, 0];

const db = new AppDB(`cache-test-${crypto.randomUUID()}`);
const store = new ModelStore(db);
const cache = createModelCache(store);
const fetched: string[] = [];

function q4Files(): string[] {
  const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
  return [...REQUIRED_SHARED_FILES, ...OPTIONAL_SHARED_FILES, ...graphFiles(config, 'q4')];
}

async function storeFixture(): Promise<void> {
  for (const path of q4Files()) {
    const bytes = new Uint8Array(readFileSync(join(FIXTURE, path)));
    const writer = await store.openWriter(MODEL_KEY, path, { size: bytes.length }, { chunkSize: CHUNK });
    await writer.write(bytes);
    await writer.finish();
  }
}

/** transformers.js configured as the worker does it, with this test's store behind the cache. */
function useStore(): void {
  readModelsFromStore(cache);
  env.fetch = guardFetch(async (input, init) => {
    fetched.push(String(input));
    return fetch(input, init);
  });
}

async function greedy(modelPath: string, options: Record<string, unknown> = {}): Promise<number[]> {
  const model = await AutoModelForCausalLM.from_pretrained(modelPath, { dtype: 'q4', ...options });
  try {
    const input = new Tensor('int64', BigInt64Array.from(PROMPT.map(BigInt)), [1, PROMPT.length]);
    const output = (await model.generate({ input_ids: input, max_new_tokens: 6, min_new_tokens: 6, do_sample: false })) as Tensor;
    return Array.from(output.data as BigInt64Array, Number).slice(PROMPT.length);
  } finally {
    await model.dispose();
  }
}

beforeAll(async () => {
  await storeFixture();
});

afterAll(async () => {
  await db.delete();
});

describe('transformers.js through the store', () => {
  it('loads the tokenizer and the q4 model from the store alone and generates what the folder generates', async () => {
    useStore();
    const opened = openStoredModel(MODEL_KEY);
    const requested: string[] = [];
    const spy = cache.match;
    cache.match = async (key) => {
      requested.push(key);
      return spy(key);
    };
    let fromStore: number[];
    let text: string;
    try {
      const tokenizer = await AutoTokenizer.from_pretrained(opened.modelPath);
      text = tokenizer.decode(PROMPT, { skip_special_tokens: true });
      fromStore = await greedy(opened.modelPath);
    } finally {
      cache.match = spy;
      opened.close();
    }
    expect(fetched.filter((url) => url.startsWith(MODEL_HOST))).toEqual([]);
    expect(text).toContain('Hello');
    // Every file transformers.js asked the cache for, under its remote-URL key, is one we stored.
    const served = new Set(requested.filter((k) => k.startsWith(MODEL_HOST)).map((k) => k.replace(/^.*\/resolve\/[^/]+\//, '')));
    expect([...served].sort()).toEqual(q4Files().sort());

    env.useCustomCache = false;
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.localModelPath = FIXTURE_MODELS_DIR + '/';
    const fromFolder = await greedy('tiny-llama');
    expect(fromStore).toEqual(fromFolder);
    expect(new Set(fromFolder).size).toBeGreaterThan(1);
  });

  it('answers only keys of an open model, serves per-load overrides first, and reports what is missing', async () => {
    useStore();
    const overrides = new Map([['config.json', new TextEncoder().encode('{"patched":true}')]]);
    const opened = openStoredModel(MODEL_KEY, { overrides });
    const key = (path: string) => `${MODEL_HOST}${opened.modelPath}/resolve/main/${path}`;
    try {
      expect(await cache.match(`/models/${opened.modelPath}/config.json`)).toBeUndefined(); // the local-path key
      expect(await cache.match('https://huggingface.co/x/y/resolve/main/config.json')).toBeUndefined();
      expect(await cache.match(`${MODEL_HOST}hanmadi/m-unknown/resolve/main/config.json`)).toBeUndefined();
      expect(await (await cache.match(key('config.json')))!.json()).toEqual({ patched: true });

      const tokenizer = (await cache.match(key('tokenizer.json')))!;
      expect(tokenizer.headers.get('content-length')).toBe(String(readFileSync(join(FIXTURE, 'tokenizer.json')).length));
      // Buffer.equals: toEqual walks 9 MB element by element.
      expect(Buffer.from(await tokenizer.arrayBuffer()).equals(readFileSync(join(FIXTURE, 'tokenizer.json')))).toBe(true);

      expect(await cache.match(key('onnx/model_fp16.onnx'))).toBeUndefined();
      const refused = await env.fetch(key('onnx/model_fp16.onnx'));
      expect(refused.status).toBe(404);
      const explained = opened.explain(new Error('Could not locate file'));
      expect(explained).toBeInstanceOf(AppError);
      expect((explained as AppError).toValue()).toMatchObject({ code: 'model-files-missing', params: { file: 'onnx/model_fp16.onnx' } });
    } finally {
      opened.close();
    }
    expect(await cache.match(key('tokenizer.json'))).toBeUndefined(); // closed: no longer served
  });

  it('put stores a file for the open model and delete removes it', async () => {
    const opened = openStoredModel('other');
    const key = `${MODEL_HOST}${opened.modelPath}/resolve/main/extra.json`;
    try {
      await cache.put(key, new Response('{"a":1}'));
      expect(await (await cache.match(key))!.json()).toEqual({ a: 1 });
      expect(await cache.delete(key)).toBe(true);
      expect(await cache.match(key)).toBeUndefined();
      await cache.put('https://example.invalid/ort.wasm', new Response('wasm')); // not ours: ignored
      expect(await db.modelFiles.where('[modelKey+path]').between(['other', ''], ['other', '\uffff']).count()).toBe(0);
    } finally {
      opened.close();
    }
  });

  it('a chunk changed inside IndexedDB fails the load as model-corrupt and is dropped', async () => {
    useStore();
    const data = 'onnx/model_q4.onnx_data';
    const chunk = (await db.modelChunks.get([MODEL_KEY, data, 3]))!;
    const bytes = new Uint8Array(await chunk.data.arrayBuffer());
    bytes[1234] ^= 0xff;
    await db.modelChunks.put({ ...chunk, data: new Blob([bytes]) });

    const opened = openStoredModel(MODEL_KEY);
    let error: unknown;
    try {
      // As the engine does: transformers.js never settles a load whose external data fails to read.
      await Promise.race([greedy(opened.modelPath), opened.failure]);
    } catch (e) {
      error = opened.explain(e);
    } finally {
      opened.close();
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).toValue()).toMatchObject({ code: 'model-corrupt', params: { file: data } });
    expect(await db.modelChunks.get([MODEL_KEY, data, 3])).toBeUndefined();
    expect(await db.modelChunks.get([MODEL_KEY, data, 2])).toBeDefined();
  });
});
