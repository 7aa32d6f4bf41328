/**
 * ChunkedFileWriter beyond model-store.test.ts: the running whole-file hash across reloads (its
 * saved state, or the stored chunks hashed again when the state is of an earlier format or
 * refused — never a verification resting on a state that does not describe the bytes), pieces
 * stored as the Blobs they came in, and the commit pipeline (order, depth, a failed commit
 * stopping every later one).
 */
import 'fake-indexeddb/auto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResumableSha256, SHA256_STATE_FORMAT } from '../lib/resumable-sha256.ts';
import { legacySha256State } from '../testing/legacy-sha256.ts';
import { AppDB, type StoredChunkRecord, type StoredFileRecord } from './app-db.ts';
import { PIPELINE_DEPTH } from './chunked-file-writer.ts';
import { ModelStore } from './model-store.ts';

const CHUNK = 1000;
const content = Uint8Array.from({ length: 4500 }, (_, i) => (i * 7919 + (i >> 8)) & 255);
const identity = { size: content.length, sha256: bytesToHex(sha256(content)) };

let name: string;
let db: AppDB;
let store: ModelStore;
const connections: AppDB[] = [];

/** The store as a new page sees it: another connection to the same database, chunk reads counted. */
function reopened(): { store: ModelStore; chunkReads: number[] } {
  const connection = new AppDB(name);
  connections.push(connection);
  const fresh = new ModelStore(connection);
  const chunkReads: number[] = [];
  const read = fresh.intactChunkBytes.bind(fresh);
  fresh.intactChunkBytes = (record, index) => {
    chunkReads.push(index);
    return read(record, index);
  };
  return { store: fresh, chunkReads };
}

/** Chunks 0 and 1 stored, 700 bytes of chunk 2 saved as a partial chunk: where a cut download stops. */
async function interrupted(): Promise<StoredFileRecord> {
  const writer = await store.openWriter('m', 'f', identity, { chunkSize: CHUNK });
  await writer.write(content.subarray(0, 2700));
  await writer.savePartial();
  return (await db.modelFiles.get(['m', 'f']))!;
}

async function finishFrom(other: ModelStore): Promise<string> {
  const writer = await other.openWriter('m', 'f', identity, { chunkSize: CHUNK });
  await writer.write(content.subarray(writer.offset));
  return writer.finish();
}

beforeEach(() => {
  name = `writer-test-${crypto.randomUUID()}`;
  db = new AppDB(name);
  store = new ModelStore(db);
});

afterEach(async () => {
  // An open connection would block the deletion.
  for (const connection of connections.splice(0)) connection.close();
  await db.delete();
});

describe('the running whole-file hash', () => {
  it('resumes across a reload from the state saved with the unfinished chunk: no stored byte is read or hashed again', async () => {
    const saved = await interrupted();
    expect(saved.hashState).toMatchObject({ format: SHA256_STATE_FORMAT, length: 2700 });
    const { store: after, chunkReads } = reopened();
    expect((await after.openWriter('m', 'f', identity, { chunkSize: CHUNK })).offset).toBe(2700);
    expect(await finishFrom(after)).toBe('sha256');
    expect(chunkReads).toEqual([]);
    expect(await store.readFileBytes('m', 'f')).toEqual(content);
  });

  it('hashes the stored chunks again, once, when the state was saved by the pure-JS implementation', async () => {
    const saved = await interrupted();
    // Before hash-wasm, the state covered whole chunks only, and the partial chunk was hashed when it filled.
    await db.modelFiles.put({ ...saved, hashState: legacySha256State(content.subarray(0, 2000)) });
    const { store: after, chunkReads } = reopened();
    expect(await finishFrom(after)).toBe('sha256');
    expect(chunkReads).toEqual([0, 1]);
    expect(await store.readFileBytes('m', 'f')).toEqual(content);
  });

  it('hashes the stored chunks again when hash-wasm refuses the state or it covers other bytes than those stored', async () => {
    const saved = await interrupted();
    const state = saved.hashState as { state: string };
    const foreign = { ...saved.hashState, state: `ff${state.state.slice(2)}` };
    const short = (await ResumableSha256.create()).update(content.subarray(0, 1000)).exportState();
    for (const hashState of [foreign, short]) {
      await db.modelFiles.put({ ...saved, hashState } as StoredFileRecord);
      const { store: after, chunkReads } = reopened();
      const writer = await after.openWriter('m', 'f', identity, { chunkSize: CHUNK });
      expect([writer.offset, chunkReads]).toEqual([2700, [0, 1]]);
    }
    expect(await finishFrom(store)).toBe('sha256');
  });

  it('starts the file over when a chunk it must hash again is damaged', async () => {
    const saved = await interrupted();
    await db.modelFiles.put({ ...saved, hashState: legacySha256State(content.subarray(0, 2000)) });
    const chunk = (await db.modelChunks.get(['m', 'f', 1]))!;
    await db.modelChunks.put({ ...chunk, data: new Blob([new Uint8Array(CHUNK)]) });
    const writer = await store.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    expect([writer.offset, await db.modelChunks.count()]).toEqual([0, 0]);
    await writer.write(content);
    expect(await writer.finish()).toBe('sha256');
  });

  it('a state that hashed other bytes never verifies the file: it is dropped', async () => {
    const saved = await interrupted();
    const other = content.slice(0, 2700);
    other[5] ^= 1;
    await db.modelFiles.put({ ...saved, hashState: (await ResumableSha256.create()).update(other).exportState() });
    const writer = await store.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    await writer.write(content.subarray(writer.offset));
    await expect(writer.finish()).rejects.toMatchObject({ code: 'verification-failed' });
    expect(await db.modelFiles.count()).toBe(0);
  });

  it('keeps no running hash for a file of one chunk: its chunk digest is the file hash', async () => {
    const small = content.subarray(0, 800);
    const writer = await store.openWriter('m', 'small', { size: 800, sha256: bytesToHex(sha256(small)) }, { chunkSize: CHUNK });
    await writer.write(small.subarray(0, 300));
    await writer.savePartial();
    expect((await db.modelFiles.get(['m', 'small']))!.hashState).toBeUndefined();
    const again = await store.openWriter('m', 'small', { size: 800, sha256: bytesToHex(sha256(small)) }, { chunkSize: CHUNK });
    await again.write(small.subarray(300));
    expect(await again.finish()).toBe('sha256');
    const wrong = await store.openWriter('m', 'wrong', { size: 800, sha256: bytesToHex(sha256(content.subarray(1, 801))) }, { chunkSize: CHUNK });
    await wrong.write(small);
    await expect(wrong.finish()).rejects.toMatchObject({ code: 'verification-failed' });
  });
});

describe('pieces given with their Blob', () => {
  /** `content` from `start` to `end` as the Blob a download's response.blob() gives, with its bytes. */
  const piece = (start: number, end: number) => [content.slice(start, end), new Blob([content.slice(start, end)])] as const;

  it('stores the Blobs, mixed with copied bytes and across chunk ends, with the same chunk digests and file hash as bytes alone', async () => {
    const writer = await store.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    // A Blob inside chunk 0, copied bytes finishing it, one Blob across chunks 1-3, then bytes to the end.
    await writer.append(...piece(0, 600));
    await writer.append(content.slice(600, 1000));
    await writer.append(...piece(1000, 3300));
    await writer.append(content.slice(3300));
    expect(await writer.finish()).toBe('sha256');
    const record = (await db.modelFiles.get(['m', 'f']))!;
    const expected = [0, 1, 2, 3, 4].map((i) => bytesToHex(sha256(content.subarray(i * CHUNK, (i + 1) * CHUNK))));
    expect(record.chunkSha256).toEqual(expected);
    expect(await store.unverifiedBytes(record)).toEqual(content);
  });

  it('saves the pieces of an unfinished chunk as a partial chunk, and a reload goes on from its last byte', async () => {
    const writer = await store.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    await writer.append(...piece(0, 1000));
    await writer.append(...piece(1000, 1400));
    await writer.append(...piece(1400, 1750));
    await writer.savePartial();
    const kept = (await db.modelFiles.get(['m', 'f']))!;
    expect([kept.hashedChunks, kept.storedBytes, kept.hashState?.length]).toEqual([1, 1750, 1750]);
    expect(await store.chunkBytes('m', 'f', 1)).toEqual(content.slice(1000, 1750));

    const { store: fresh, chunkReads } = reopened();
    const again = await fresh.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    expect(again.offset).toBe(1750);
    await again.append(...piece(1750, content.length));
    expect(await again.finish()).toBe('sha256');
    expect(chunkReads).toEqual([]); // the saved state covered the partial chunk: nothing hashed again
  });

  it('refuses a Blob that does not hold the bytes given with it', async () => {
    const writer = await store.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    await expect(writer.append(content.slice(0, 10), new Blob([content.slice(0, 9)]))).rejects.toThrow(/9 bytes given for 10/);
  });
});

describe('the commit pipeline', () => {
  /** A store whose chunk commits wait until released, one by one, in the order they were asked. */
  function gatedStore(): { store: ModelStore; asked: number[]; release: (error?: Error) => void; askedFor: (n: number) => Promise<void> } {
    const gated = new ModelStore(db);
    const asked: number[] = [];
    const gates: { open: () => void; fail: (e: Error) => void }[] = [];
    const releases: (() => void)[] = [];
    const watchers: { n: number; wake: () => void }[] = [];
    const commit = gated.commitChunk.bind(gated);
    gated.commitChunk = async (chunk: StoredChunkRecord, file: StoredFileRecord) => {
      asked.push(chunk.index);
      await new Promise<void>((open, fail) => {
        gates.push({ open, fail });
        releases.shift()?.();
        for (const w of watchers.filter((w) => asked.length >= w.n)) w.wake();
      });
      return commit(chunk, file);
    };
    const release = (error?: Error) => {
      const next = () => {
        const gate = gates.shift()!;
        if (error) gate.fail(error);
        else gate.open();
      };
      if (gates.length) next();
      else releases.push(next);
    };
    const askedFor = (n: number) => new Promise<void>((wake) => (asked.length >= n ? wake() : watchers.push({ n, wake })));
    return { store: gated, asked, release, askedFor };
  }

  it('takes bytes while chunks commit, at most PIPELINE_DEPTH queued, in order, each with the hash state at its end', async () => {
    const { store: gated, asked, release, askedFor } = gatedStore();
    const writer = await gated.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    // Two full chunks queue without waiting for a commit; a third must wait for room.
    await writer.append(content.subarray(0, PIPELINE_DEPTH * CHUNK + 10));
    expect(writer.offset).toBe(PIPELINE_DEPTH * CHUNK + 10);
    expect(writer.file.hashedChunks).toBe(0);
    let third = false;
    const appending = writer.append(content.subarray(PIPELINE_DEPTH * CHUNK + 10, 3500)).then(() => (third = true));
    await askedFor(1);
    expect(third).toBe(false);
    release();
    await appending;
    for (let i = 0; i < 2; i++) release();
    await writer.drain();
    expect(asked).toEqual([0, 1, 2]);
    const file = (await db.modelFiles.get(['m', 'f']))!;
    expect([file.hashedChunks, file.storedBytes, file.hashState]).toEqual([3, 3000, expect.objectContaining({ length: 3000 })]);
    expect(file.chunkSha256).toEqual([0, 1, 2].map((i) => bytesToHex(sha256(content.subarray(i * CHUNK, (i + 1) * CHUNK)))));
  });

  it('a failed commit stops every later chunk and is thrown; what committed before it stays, and the file resumes there', async () => {
    const { store: gated, asked, release } = gatedStore();
    const writer = await gated.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    await writer.append(content.subarray(0, 2500));
    release();
    release(new DOMException('Quota exceeded', 'QuotaExceededError'));
    await expect(writer.drain()).rejects.toMatchObject({ name: 'QuotaExceededError' });
    await expect(writer.append(content.subarray(2500, 2600))).rejects.toMatchObject({ name: 'QuotaExceededError' });
    await expect(writer.savePartial()).rejects.toMatchObject({ name: 'QuotaExceededError' });
    expect(asked).toEqual([0, 1]);
    const file = (await db.modelFiles.get(['m', 'f']))!;
    expect([file.hashedChunks, file.storedBytes, await db.modelChunks.count()]).toEqual([1, 1000, 1]);
    const resumed = await store.openWriter('m', 'f', identity, { chunkSize: CHUNK });
    expect(resumed.offset).toBe(1000);
    await resumed.write(content.subarray(1000));
    expect(await resumed.finish()).toBe('sha256');
  });
});
