/**
 * In-browser conversion as the store worker runs it, in Node: the mock Hub (request log with byte
 * ranges, injected cuts) serves the synthetic checkpoints in Hugging Face layout, and the result
 * goes into IndexedDB (fake-indexeddb). Checked: the stored files equal the Node CLI's output for
 * the precision byte for byte; a network cut, and a worker that dies in the middle of a tensor
 * after storing bytes past its last checkpoint, both resume without fetching a finished tensor
 * again; gated, missing, unsupported and PyTorch-only repos and a short quota fail with their
 * codes before anything is stored; pause keeps the work, cancel deletes it; a second precision
 * shares config.json.
 */
import 'fake-indexeddb/auto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkpointTensors, weightReads } from '../testing/checkpoint-reads.ts';
import { startMockHub, type HubRequest, type MockHub } from '../testing/mock-hub.ts';
import { FIXTURES } from '../testing/fixture-specs.ts';
import { directoryReader } from '../converter/node-io.ts';
import { convertCheckpoint, type ConvertDtype } from '../converter/convert.ts';
import { MemoryModelWriter } from '../converter/memory-io.ts';
import { AppDB } from '../db/app-db.ts';
import { ModelStore } from '../db/model-store.ts';
import { memoryLocks } from './downloader.ts';
import { AppError } from '../lib/errors.ts';
import { ensureConverted, type ConversionDeps } from './hf-conversion.ts';
import type { DownloadProgress, StoredModelSpec } from './protocol.ts';

const CHECKPOINTS = join(import.meta.dirname, '..', '..', 'fixtures', 'checkpoints');
const DIRS = { tiny: join(CHECKPOINTS, 'tiny-llama'), yarn: join(CHECKPOINTS, 'tiny-llama-yarn') };
const CHUNK = 256 * 1024;
const RETRY = { maxAttempts: 2, retryDelayMs: 5 };
/** Row blocks of 16 KiB float32: an MLP weight of the tiny models takes two, the embedding ~2000. */
const BLOCK = 16 * 1024;

let hub: MockHub;
let db: AppDB;
let store: ModelStore;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'hanmadi-hfconv-'));
  const mistral = join(root, 'mistral');
  const pytorch = join(root, 'pytorch');
  for (const [dir, config] of [
    [mistral, { ...FIXTURES['tiny-llama'].config, model_type: 'mistral', architectures: ['MistralForCausalLM'] }],
    [pytorch, FIXTURES['tiny-llama'].config],
  ] as const) {
    cpSync(DIRS.tiny, dir, { recursive: true, filter: (src) => !src.endsWith('.safetensors') });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  }
  writeFileSync(join(pytorch, 'pytorch_model.bin'), new Uint8Array(1024));
  hub = await startMockHub({
    repos: {
      'hanmadi/tiny-llama': { dir: DIRS.tiny },
      'hanmadi/tiny-llama-yarn': { dir: DIRS.yarn },
      'gated/tiny-llama': { dir: DIRS.tiny, gated: 'manual' },
      'other/tiny-mistral': { dir: mistral },
      'other/pytorch-only': { dir: pytorch },
    },
    redirectLfs: true,
  });
});
afterAll(() => hub?.close());

beforeEach(() => {
  db = new AppDB(`hfconv-test-${crypto.randomUUID()}`);
  store = new ModelStore(db);
  hub.log.length = 0;
  hub.setNetworkDown(false);
});
afterEach(async () => {
  await db.delete();
});

const deps = (extra: Partial<ConversionDeps> = {}): ConversionDeps => ({
  store,
  hubHost: hub.url,
  locks: memoryLocks(),
  chunkSize: CHUNK,
  retry: RETRY,
  ...extra,
});
const spec = (repo: string, dtype: ConvertDtype = 'q4'): StoredModelSpec => ({
  modelKey: `user:${repo}@main`,
  label: repo,
  source: { kind: 'hf-safetensors', repo, revision: 'main' },
  dtype,
});

const cli = new Map<string, Promise<Map<string, Uint8Array>>>();
/** The Node CLI's conversion of a checkpoint folder to one precision. */
function cliOutput(dir: string, dtype: ConvertDtype): Promise<Map<string, Uint8Array>> {
  const key = `${dir}:${dtype}`;
  if (!cli.has(key)) {
    const writer = new MemoryModelWriter();
    cli.set(
      key,
      convertCheckpoint(directoryReader(dir), writer, { dtypes: [dtype] }).then(() => new Map(writer.paths().map((p) => [p, writer.get(p)!]))),
    );
  }
  return cli.get(key)!;
}

/** Every file stored under a model key, read back through the store (chunk digests checked). */
async function storedFiles(modelKey: string): Promise<Map<string, Uint8Array>> {
  const records = await db.modelFiles.where('[modelKey+path]').between([modelKey, ''], [modelKey, '\uffff']).toArray();
  return new Map(await Promise.all(records.map(async (r) => [r.path, await store.readFileBytes(modelKey, r.path)] as const)));
}

async function expectSameAsCli(modelKey: string, dir: string, dtype: ConvertDtype): Promise<void> {
  const stored = await storedFiles(modelKey);
  const expected = await cliOutput(dir, dtype);
  // Everything the CLI writes but its manifest (the store keeps hashes per file) and special tokens (unused).
  expect([...stored.keys()].sort()).toEqual([...expected.keys()].filter((p) => p !== 'hanmadi-manifest.json' && p !== 'special_tokens_map.json').sort());
  for (const [path, bytes] of stored) expect(Buffer.from(bytes).equals(Buffer.from(expected.get(path)!)), path).toBe(true);
}

const overlapping = (requests: HubRequest[], t: { file: string; begin: number; end: number }) =>
  requests.filter((r) => r.file === t.file && r.range!.start < t.end && r.range!.end >= t.begin);

describe('converting a Hub safetensors repo into the store', () => {
  it('stores what the Node CLI writes, byte for byte, each tensor fetched once; later answered from the store alone', async () => {
    const events: DownloadProgress[] = [];
    const result = await ensureConverted(spec('hanmadi/tiny-llama'), deps(), { onProgress: (p) => events.push(p) });
    expect(result).toMatchObject({ outcome: 'complete', completedNow: true });
    await expectSameAsCli('user:hanmadi/tiny-llama@main', DIRS.tiny, 'q4');

    const model = (await store.getModel('user:hanmadi/tiny-llama@main', 'q4'))!;
    expect(model).toMatchObject({ status: 'complete', revision: hub.shaOf('hanmadi/tiny-llama') });
    expect(model.conversion).toBeUndefined();
    expect(model.files).toEqual([
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/model_q4.onnx',
      'onnx/model_q4.onnx_data',
    ]);
    expect((await db.modelFiles.toArray()).map((f) => f.verified)).toEqual(model.files.map(() => 'sha256'));
    // Pinned: every file read at the commit the revision resolved to.
    expect(hub.log.filter((r) => r.path.includes('/resolve/')).every((r) => r.path.includes(`/resolve/${model.revision}/`))).toBe(true);
    const { ranges } = await checkpointTensors(DIRS.tiny, 'q4');
    for (const [name, t] of ranges)
      expect(
        overlapping(weightReads(hub.log), t).reduce((n, r) => n + r.bytesSent, 0),
        name,
      ).toBe(t.end - t.begin);

    // Progress: the estimate up front, tensors counted, fetched bytes up to the download size.
    const converting = events.filter((e) => e.conversion);
    const first = converting[0].conversion!;
    expect(first.tensorsDone).toBe(0);
    expect(first.storedBytes).toBeGreaterThanOrEqual(model.totalBytes);
    expect(first.storedBytes - model.totalBytes).toBeLessThan(4096);
    const lastEvent = converting.at(-1)!;
    const last = lastEvent.conversion!;
    expect([last.tensorsDone, lastEvent.loaded > 0.99 * lastEvent.total]).toEqual([last.tensorsTotal, true]);

    const mark = hub.log.length;
    expect(await ensureConverted(spec('hanmadi/tiny-llama'), deps())).toMatchObject({ outcome: 'complete', completedNow: false });
    expect(hub.log.length).toBe(mark);
  });

  it('a source that keeps arriving with a flipped byte is refetched once, then fails with verification-failed and keeps nothing', async () => {
    const { ranges } = await checkpointTensors(DIRS.tiny, 'q4');
    const target = ranges.get('model.layers.1.mlp.up_proj.weight')!;
    const flipAt = target.begin + Math.floor((target.end - target.begin) / 2);
    // Every Range answer carrying that byte carries it inverted (a path that damages it each time).
    const flipping: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const range = /^bytes=(\d+)-(\d+)$/.exec(new Headers(init?.headers).get('Range') ?? '');
      if (!range || response.status !== 206 || Number(range[1]) > flipAt || Number(range[2]) < flipAt) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      bytes[flipAt - Number(range[1])] ^= 0xff;
      return new Response(bytes, { status: 206, headers: response.headers });
    };
    const mark = hub.log.length;
    const failed = await ensureConverted(spec('hanmadi/tiny-llama'), deps({ fetch: flipping })).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AppError);
    expect((failed as AppError).code).toBe('verification-failed');
    expect(await store.getModel('user:hanmadi/tiny-llama@main', 'q4')).toBeUndefined();
    // Converted twice from the first byte: the first attempt, then the refetch.
    expect(hub.log.slice(mark).filter((r) => r.status === 206 && r.range?.start === 0 && r.file === 'model.safetensors').length).toBe(2);
  });

  it('a network cut keeps every finished tensor: after it, only unfinished tensors are fetched', async () => {
    const { ranges, order } = await checkpointTensors(DIRS.tiny, 'q4');
    // In the second row block of an MLP weight after the first layer's attention: its first block
    // is written when the network goes.
    const index = order.findIndex((name, i) => i >= 8 && /mlp\.(gate|up|down)_proj/.test(name));
    const cutTensor = ranges.get(order[index])!;
    hub.cutFileAt('model.safetensors', cutTensor.begin + Math.floor(0.75 * (cutTensor.end - cutTensor.begin)));
    const failed = await ensureConverted(spec('hanmadi/tiny-llama'), deps({ blockBytes: BLOCK })).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AppError);
    expect((failed as AppError).code).toBe('download-failed');
    const saved = (await store.getModel('user:hanmadi/tiny-llama@main', 'q4'))!.conversion!;
    // The default interval saved only the first checkpoint while all went well; the failure saved the rest.
    expect(saved.state.done).toBe(index);

    hub.setNetworkDown(false);
    const mark = hub.log.length;
    expect(await ensureConverted(spec('hanmadi/tiny-llama'), deps({ blockBytes: BLOCK }))).toMatchObject({ outcome: 'complete' });
    const resumed = weightReads(hub.log.slice(mark));
    for (const name of order.slice(0, index)) expect(overlapping(resumed, ranges.get(name)!), name).toEqual([]);
    expect(overlapping(resumed, cutTensor).length).toBeGreaterThan(0);
    expect(hub.log.slice(mark).some((r) => r.file === 'tokenizer.json')).toBe(false);
    await expectSameAsCli('user:hanmadi/tiny-llama@main', DIRS.tiny, 'q4');
  });

  it('a file that reads back wrong after the last tensor is converted again, once, rather than leaving the model stuck', async () => {
    const verify = store.verifyWrittenFile.bind(store);
    let corrupted = 0;
    vi.spyOn(store, 'verifyWrittenFile').mockImplementation(async (modelKey, path, sha256) => {
      if (corrupted++ === 0) {
        // The first read-back meets a chunk whose bytes changed after they were written.
        const chunk = (await db.modelChunks.get([modelKey, path, 0]))!;
        const bytes = new Uint8Array(await chunk.data.arrayBuffer());
        bytes[0] ^= 0xff;
        await db.modelChunks.put({ ...chunk, data: new Blob([bytes]) });
      }
      return verify(modelKey, path, sha256);
    });
    expect(await ensureConverted(spec('hanmadi/tiny-llama'), deps())).toMatchObject({ outcome: 'complete', completedNow: true });
    expect((await store.getModel('user:hanmadi/tiny-llama@main', 'q4'))!.conversion).toBeUndefined();
    await expectSameAsCli('user:hanmadi/tiny-llama@main', DIRS.tiny, 'q4');
  });

  it('a worker that dies mid-tensor, with chunks stored past its last checkpoint, resumes from that checkpoint', async () => {
    const { ranges, order } = await checkpointTensors(DIRS.yarn, 'q4');
    const head = ranges.get('lm_head.weight')!;
    expect(order.at(-1)).toBe('lm_head.weight');
    let died!: () => void;
    const dead = new Promise<void>((resolve) => (died = resolve));
    // The 40th row block of the head (the last tensor) never arrives: the "tab" is gone.
    const dying: typeof fetch = (input, init) => {
      const range = /bytes=(\d+)-/.exec(new Headers(init?.headers).get('Range') ?? '');
      if (String(input).endsWith(head.file) && range && Number(range[1]) >= head.begin + 40 * 256 * 64 * 2) {
        died();
        return new Promise<Response>(() => undefined);
      }
      return fetch(input, init);
    };
    const key = 'user:hanmadi/tiny-llama-yarn@main';
    void ensureConverted(spec('hanmadi/tiny-llama-yarn'), deps({ fetch: dying, blockBytes: 64 * 1024, chunkSize: 64 * 1024, checkpointIntervalMs: 0 }));
    await dead;
    const saved = (await store.getModel(key, 'q4'))!.conversion!.state;
    expect(saved.done).toBe(order.length - 1);
    const open = saved.external.q4!.open!;
    // The store holds more of the data file than the checkpoint counts (the head's first blocks).
    expect((await db.modelFiles.get([key, open.path]))!.hashedChunks * 64 * 1024).toBeGreaterThan(open.size);

    const mark = hub.log.length;
    expect(await ensureConverted(spec('hanmadi/tiny-llama-yarn'), deps({ blockBytes: 64 * 1024, chunkSize: 64 * 1024 }))).toMatchObject({
      outcome: 'complete',
    });
    const resumed = weightReads(hub.log.slice(mark));
    for (const name of order.slice(0, -1)) expect(overlapping(resumed, ranges.get(name)!), name).toEqual([]);
    await expectSameAsCli(key, DIRS.yarn, 'q4');
  });

  it('pause keeps the work and goes on from it; cancel deletes everything', async () => {
    const controller = new AbortController();
    const paused = await ensureConverted(spec('hanmadi/tiny-llama'), deps({ blockBytes: BLOCK }), {
      signal: controller.signal,
      onProgress: (p) => {
        if ((p.conversion?.tensorsDone ?? 0) >= 5) controller.abort('pause');
      },
    });
    expect(paused.outcome).toBe('paused');
    const done = (await store.getModel('user:hanmadi/tiny-llama@main', 'q4'))!.conversion!.state.done;
    expect(done).toBeGreaterThanOrEqual(5);
    expect(await ensureConverted(spec('hanmadi/tiny-llama'), deps())).toMatchObject({ outcome: 'complete' });
    await expectSameAsCli('user:hanmadi/tiny-llama@main', DIRS.tiny, 'q4');

    const cancel = new AbortController();
    const cancelled = await ensureConverted(spec('hanmadi/tiny-llama', 'q4f16'), deps({ blockBytes: BLOCK }), {
      signal: cancel.signal,
      onProgress: (p) => {
        if ((p.conversion?.tensorsDone ?? 0) >= 3) cancel.abort('cancel');
      },
    });
    expect(cancelled.outcome).toBe('cancelled');
    expect(await store.getModel('user:hanmadi/tiny-llama@main', 'q4f16')).toBeUndefined();
    expect(
      await db.modelFiles
        .where('[modelKey+path]')
        .between(['user:hanmadi/tiny-llama@main', 'onnx/model_q4f16'], ['user:hanmadi/tiny-llama@main', 'onnx/model_q4f16\uffff'])
        .count(),
    ).toBe(0);
    expect(await store.markCompleteIfStored('user:hanmadi/tiny-llama@main', 'q4')).toBe(true);
  });

  it('a second precision shares config.json, which lists both graphs', async () => {
    await ensureConverted(spec('hanmadi/tiny-llama', 'q4'), deps());
    await ensureConverted(spec('hanmadi/tiny-llama', 'q4f16'), deps());
    const config = JSON.parse(new TextDecoder().decode(await store.readFileBytes('user:hanmadi/tiny-llama@main', 'config.json'))) as {
      'transformers.js_config': { use_external_data_format: unknown };
    };
    expect(config['transformers.js_config'].use_external_data_format).toEqual({ 'model_q4.onnx': 1, 'model_q4f16.onnx': 1 });
    for (const dtype of ['q4', 'q4f16'] as const) expect(await store.markCompleteIfStored('user:hanmadi/tiny-llama@main', dtype)).toBe(true);
    const q4f16 = await cliOutput(DIRS.tiny, 'q4f16');
    for (const path of ['onnx/model_q4f16.onnx', 'onnx/model_q4f16.onnx_data']) {
      expect(Buffer.from(await store.readFileBytes('user:hanmadi/tiny-llama@main', path)).equals(Buffer.from(q4f16.get(path)!)), path).toBe(true);
    }
  });

  it.each([
    ['gated/tiny-llama', 'repo-gated'],
    ['hanmadi/no-such-model', 'repo-not-found'],
    ['other/tiny-mistral', 'unsupported-architecture'],
    ['other/pytorch-only', 'no-safetensors'],
  ])('%s fails with %s before anything is stored', async (repo, code) => {
    const error = await ensureConverted(spec(repo), deps()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(code);
    expect(weightReads(hub.log)).toEqual([]);
    expect([await db.storedModels.count(), await db.modelFiles.count()]).toEqual([0, 0]);
  });

  it('a quota too small for the estimate is refused before anything is fetched or stored, with the numbers', async () => {
    const error = await ensureConverted(spec('hanmadi/tiny-llama'), deps({ estimate: async () => ({ usage: 1000, quota: 10_000_000 }) })).catch(
      (e: unknown) => e,
    );
    expect((error as AppError).code).toBe('quota-insufficient');
    const { needed, available } = (error as AppError).params as { needed: number; available: number };
    expect(available).toBe(9_999_000);
    expect(needed).toBeGreaterThan(5_000_000); // the q4 graph's external data alone
    expect(weightReads(hub.log)).toEqual([]);
    expect([await db.storedModels.count(), await db.modelFiles.count()]).toEqual([0, 0]);
  });
});
