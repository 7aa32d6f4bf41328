import 'fake-indexeddb/auto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversionState } from '../converter/convert.ts';
import { AppDB } from './app-db.ts';
import { ModelStore } from './model-store.ts';
import { StoreError } from './stored-file.ts';
import { gitBlobSha1 } from '../lib/digests.ts';

const CHUNK = 1000;

function bytes(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const hex = (b: Uint8Array) => bytesToHex(sha256(b));

let db: AppDB;
let store: ModelStore;

beforeEach(() => {
  db = new AppDB(`store-test-${crypto.randomUUID()}`);
  store = new ModelStore(db);
});

afterEach(async () => {
  await db.delete();
});

async function writeWhole(modelKey: string, path: string, content: Uint8Array, identity: { sha256?: string; gitSha1?: string } = {}) {
  const writer = await store.openWriter(modelKey, path, { size: content.length, ...identity }, { chunkSize: CHUNK });
  await writer.write(content);
  return writer.finish();
}

describe('ChunkedFileWriter', () => {
  it('stores a file as chunks of the chunk size, verifies its SHA-256 and reads it back', async () => {
    const content = bytes(3500);
    expect(await writeWhole('m', 'onnx/model_q4.onnx_data', content, { sha256: hex(content) })).toBe('sha256');
    const chunks = await db.modelChunks.toArray();
    expect(chunks.map((c) => [c.index, c.size, c.data.size])).toEqual([
      [0, 1000, 1000],
      [1, 1000, 1000],
      [2, 1000, 1000],
      [3, 500, 500],
    ]);
    const file = (await db.modelFiles.get(['m', 'onnx/model_q4.onnx_data']))!;
    expect(file.chunkSha256).toEqual([0, 1, 2, 3].map((i) => hex(content.subarray(i * CHUNK, Math.min(3500, (i + 1) * CHUNK)))));
    expect(file.storedBytes).toBe(3500);
    expect(file.hashState).toBeUndefined();
    expect(await store.readFileBytes('m', 'onnx/model_q4.onnx_data')).toEqual(content);
  });

  it('checks git blob ids (Hugging Face files outside LFS) and plain sizes', async () => {
    const small = new TextEncoder().encode('{"model_type":"llama"}');
    expect(await writeWhole('m', 'config.json', small, { gitSha1: gitBlobSha1(small) })).toBe('git-sha1');
    expect(await writeWhole('m', 'tokenizer.json', bytes(10))).toBe('size');
    // git's own id for "hello\n" (git hash-object): an independent check of the blob-id formula.
    expect(gitBlobSha1(new TextEncoder().encode('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('discards a file whose hash does not match and says so', async () => {
    const content = bytes(2500);
    const error = await writeWhole('m', 'f', content, { sha256: hex(bytes(2500, 2)) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('verification-failed');
    expect(await db.modelFiles.count()).toBe(0);
    expect(await db.modelChunks.count()).toBe(0);
  });

  it('keeps the bytes of an unfinished chunk and resumes after them, with the whole-file hash carried over', async () => {
    const content = bytes(3500, 7);
    const first = await store.openWriter('m', 'f', { size: content.length, sha256: hex(content) }, { chunkSize: CHUNK });
    await first.write(content.subarray(0, 1700)); // chunk 0 stored, 700 bytes of chunk 1 in memory
    await first.savePartial(); // as on a network error: nothing received is lost
    expect(first.offset).toBe(1700);

    // A new writer (after a reload) goes on at the same byte; the saved hash state covers chunk 0.
    const second = await store.openWriter('m', 'f', { size: content.length, sha256: hex(content) }, { chunkSize: CHUNK });
    expect(second.offset).toBe(1700);
    expect((await db.modelFiles.get(['m', 'f']))!.hashedChunks).toBe(1);
    await second.write(content.subarray(1700));
    expect(await second.finish()).toBe('sha256');
    expect(await store.readFileBytes('m', 'f')).toEqual(content);
    expect(await db.modelChunks.count()).toBe(4);
  });

  it('restarts a file whose identity changed (size, hash or ETag)', async () => {
    const content = bytes(1500);
    const writer = await store.openWriter('m', 'f', { size: 1500, etag: '"a"' }, { chunkSize: CHUNK });
    await writer.write(content.subarray(0, 1200));
    await writer.savePartial();
    expect((await store.openWriter('m', 'f', { size: 1500, etag: '"a"' })).offset).toBe(1200);
    expect((await store.openWriter('m', 'f', { size: 1500, etag: '"b"' })).offset).toBe(0);
    expect(await db.modelChunks.count()).toBe(0);
  });

  it('finds a dropped chunk, refuses different bytes for it, and takes the original back', async () => {
    const content = bytes(3500, 3);
    await writeWhole('m', 'f', content, { sha256: hex(content) });
    await store.putModel({ modelKey: 'm', dtype: 'q4', label: 'M', source: { kind: 'url', baseUrl: 'http://x/' }, files: ['f'], totalBytes: 3500 });
    expect(await store.markCompleteIfStored('m', 'q4')).toBe(true);

    await store.dropChunk('m', 'f', 2);
    expect((await store.getModel('m', 'q4'))!.status).toBe('partial');
    await expect(store.readableFile('m', 'f')).rejects.toMatchObject({ code: 'file-missing' });

    const writer = await store.openWriter('m', 'f', { size: 3500, sha256: hex(content) }, { chunkSize: CHUNK });
    expect(writer.missing).toEqual([2]);
    expect(writer.done).toBe(false);
    await expect(writer.repairChunk(2, bytes(1000, 99))).rejects.toMatchObject({ code: 'source-changed' });
    await writer.repairChunk(2, content.slice(2000, 3000));
    expect(writer.done).toBe(true);
    expect(await store.markCompleteIfStored('m', 'q4')).toBe(true);
    expect(await store.readFileBytes('m', 'f')).toEqual(content);
  });

  it('a converter output is cut back to a saved offset, from stored chunks or the unfinished one in memory, then completes', async () => {
    const content = bytes(4200, 13);
    const writer = await store.openWriter('m', 'out', { size: content.length }, { chunkSize: CHUNK });
    await writer.write(content.subarray(0, 3300)); // chunks 0-2 stored, 300 bytes in memory
    // Past a saved state at 1500: chunk 2 and the tail go, chunk 1 keeps its first 500 bytes.
    await writer.truncate(1500);
    expect(writer.offset).toBe(1500);
    const file = (await db.modelFiles.get(['m', 'out']))!;
    expect([file.hashedChunks, file.storedBytes, file.chunkSha256.length]).toEqual([1, 1500, 1]);
    expect((await db.modelChunks.toArray()).map((c) => [c.index, c.size])).toEqual([
      [0, 1000],
      [1, 500],
    ]);
    // Within the unfinished chunk, from memory.
    await writer.write(content.subarray(1500, 1900));
    await writer.truncate(1700);
    expect(writer.offset).toBe(1700);
    // A reload: a new writer picks up the partial chunk; beyond what is stored cannot be reached.
    const again = await store.openWriter('m', 'out', { size: content.length }, { chunkSize: CHUNK });
    expect(again.offset).toBe(1700);
    await expect(again.truncate(1800)).rejects.toMatchObject({ code: 'file-missing' });
    await again.write(content.subarray(1700));
    await store.verifyWrittenFile('m', 'out', hex(content));
    expect((await db.modelFiles.get(['m', 'out']))!.verified).toBe('sha256');
    expect(await store.readFileBytes('m', 'out')).toEqual(content);
  });

  it('a written file that does not hash as expected is dropped', async () => {
    const content = bytes(2100, 17);
    const writer = await store.openWriter('m', 'out', { size: content.length }, { chunkSize: CHUNK });
    await writer.write(content);
    await expect(store.verifyWrittenFile('m', 'out', hex(bytes(2100, 18)))).rejects.toMatchObject({ code: 'verification-failed' });
    expect(await db.modelFiles.count()).toBe(0);
    expect(await db.modelChunks.count()).toBe(0);
  });

  it('saveConversion stores the state with the unfinished chunks in one transaction, or nothing', async () => {
    await store.putModel({
      modelKey: 'm',
      dtype: 'q4',
      label: 'M',
      source: { kind: 'hf-safetensors', repo: 'a/b', revision: 'main' },
      files: ['out'],
      totalBytes: 2500,
    });
    const writer = await store.openWriter('m', 'out', { size: 2500 }, { chunkSize: CHUNK });
    await writer.write(bytes(1300, 19));
    const state: ConversionState = { format: 1, planId: 'p', done: 3, total: 9, files: [], external: {} };
    // A failing write rolls back the state too.
    const put = db.modelChunks.put.bind(db.modelChunks);
    db.modelChunks.put = (() => Promise.reject(new DOMException('Quota exceeded', 'QuotaExceededError'))) as unknown as typeof db.modelChunks.put;
    await expect(store.saveConversion('m', 'q4', { sourceId: 'a/b@1', state, updatedAt: 1 }, [writer])).rejects.toMatchObject({ name: 'QuotaExceededError' });
    db.modelChunks.put = put;
    expect((await store.getModel('m', 'q4'))!.conversion).toBeUndefined();
    expect((await db.modelFiles.get(['m', 'out']))!.storedBytes).toBe(1000);

    await store.saveConversion('m', 'q4', { sourceId: 'a/b@1', state, updatedAt: 1 }, [writer]);
    expect((await store.getModel('m', 'q4'))!.conversion?.state.done).toBe(3);
    expect((await store.openWriter('m', 'out', { size: 2500 }, { chunkSize: CHUNK })).offset).toBe(1300);
    await store.saveConversion('m', 'q4', null);
    expect((await store.getModel('m', 'q4'))!.conversion).toBeUndefined();
  });

  it('finds a chunk whose bytes changed inside IndexedDB and drops it', async () => {
    const content = bytes(2500, 5);
    await writeWhole('m', 'f', content);
    const chunk = (await db.modelChunks.get(['m', 'f', 1]))!;
    await db.modelChunks.put({ ...chunk, data: new Blob([bytes(1000, 42)]) });
    await expect(store.readFileBytes('m', 'f')).rejects.toMatchObject({ code: 'chunk-corrupt', chunk: 1 });
    expect(await db.modelChunks.get(['m', 'f', 1])).toBeUndefined();
  });
});

describe('stored models', () => {
  async function storeModel(modelKey: string, dtype: 'q4' | 'fp32', files: Record<string, Uint8Array>) {
    for (const [path, content] of Object.entries(files)) {
      if (!(await db.modelFiles.get([modelKey, path]))) await writeWhole(modelKey, path, content);
    }
    await store.putModel({ modelKey, dtype, label: modelKey, source: { kind: 'url', baseUrl: 'http://x/' }, files: Object.keys(files), totalBytes: 0 });
    await store.markCompleteIfStored(modelKey, dtype);
  }

  it('deleting a precision keeps the files another precision uses, and deleting the last frees everything', async () => {
    const shared = { 'config.json': bytes(100), 'tokenizer.json': bytes(2100) };
    await storeModel('a', 'q4', { ...shared, 'onnx/model_q4.onnx': bytes(1500) });
    await storeModel('a', 'fp32', { ...shared, 'onnx/model.onnx': bytes(2500) });
    await storeModel('b', 'q4', { 'config.json': bytes(50) });
    expect((await store.listModels()).map((m) => [m.modelKey, m.dtype, m.storedBytes, m.status]).sort()).toEqual([
      ['a', 'fp32', 4700, 'complete'],
      ['a', 'q4', 3700, 'complete'],
      ['b', 'q4', 50, 'complete'],
    ]);

    expect(await store.deleteModel('a', 'q4')).toBe(1500);
    expect((await db.modelFiles.toArray()).map((f) => `${f.modelKey}/${f.path}`).sort()).toEqual([
      'a/config.json',
      'a/onnx/model.onnx',
      'a/tokenizer.json',
      'b/config.json',
    ]);
    expect(await store.markCompleteIfStored('a', 'fp32')).toBe(true);

    expect(await store.deleteModel('a', 'fp32')).toBe(4700);
    expect(await db.modelChunks.where('[modelKey+path+index]').between(['a', '', -Infinity], ['a', '\uffff', Infinity]).count()).toBe(0);
    expect(await store.readFileBytes('b', 'config.json')).toEqual(bytes(50));
  });

  it('a write the browser refuses (QuotaExceededError) changes nothing stored', async () => {
    await storeModel('keep', 'q4', { 'config.json': bytes(300, 11) });
    const writer = await store.openWriter('new', 'big', { size: 2500 }, { chunkSize: CHUNK });
    await writer.write(bytes(1000)); // chunk 0 fits
    const put = db.modelChunks.put.bind(db.modelChunks);
    db.modelChunks.put = (() => Promise.reject(new DOMException('Quota exceeded', 'QuotaExceededError'))) as unknown as typeof db.modelChunks.put;
    await expect(writer.write(bytes(1000, 2))).rejects.toMatchObject({ name: 'QuotaExceededError' });
    db.modelChunks.put = put;
    // The refused chunk's transaction rolled back whole: the file still records one chunk.
    const file = (await db.modelFiles.get(['new', 'big']))!;
    expect([
      file.hashedChunks,
      file.storedBytes,
      await db.modelChunks.where('[modelKey+path+index]').between(['new', 'big', -Infinity], ['new', 'big', Infinity]).count(),
    ]).toEqual([1, 1000, 1]);
    expect(await store.readFileBytes('keep', 'config.json')).toEqual(bytes(300, 11));
    expect((await store.getModel('keep', 'q4'))!.status).toBe('complete');
  });

  it('deleteOrphans removes files no model lists', async () => {
    await storeModel('a', 'q4', { 'config.json': bytes(10) });
    await writeWhole('gone', 'x', bytes(1200));
    expect(await store.deleteOrphans()).toBe(1200);
    expect((await db.modelFiles.toArray()).map((f) => f.modelKey)).toEqual(['a']);
    expect(await db.modelChunks.count()).toBe(1);
  });
});
