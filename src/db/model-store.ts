/**
 * Model files in IndexedDB (the `storedModels`, `modelFiles` and `modelChunks` tables of AppDB):
 * writing a file chunk by chunk so it can be resumed (openWriter → chunked-file-writer.ts, which
 * reaches the tables only through this class), reading it back for transformers.js, and
 * deleting models without touching files another precision still uses. Plain Dexie: runs in the
 * store worker (downloads, imports), the LLM worker (reads) and the page (listing), and in Node
 * tests over fake-indexeddb.
 *
 * What is verified when:
 * - while a file is written, each chunk's SHA-256 (crypto.subtle) is recorded, and the whole
 *   file's SHA-256 is carried across chunks (and across reloads: the running state is saved
 *   with every chunk) — no byte is hashed twice;
 * - when the last byte arrives, the size and, where the source published one, the whole-file
 *   SHA-256 (our converter's manifest, Hugging Face LFS) or git blob id (small Hub files) must
 *   match, or the file is discarded;
 * - on every read (a model load), the chunk structure is checked before anything is read, and
 *   each chunk's bytes against the digest recorded when it was written, as they stream to
 *   transformers.js (model-cache.ts) — the load reads those bytes anyway, and the native digest
 *   runs beside it, so a corrupt chunk is found without a second pass over gigabytes.
 */
import Dexie from 'dexie';
import { chunkCount, chunkLength, sameContent, type FileIdentity } from '../lib/chunked-file.ts';
import { sha256Hex } from '../lib/digests.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ChunkedFileWriter, type WriterStore } from './chunked-file-writer.ts';
import { StoreError, type FileStatus } from './stored-file.ts';
import { ResumableSha256 } from '../lib/resumable-sha256.ts';
import type { ModelDtype } from '../model/catalog.ts';
import { db as appDb, type AppDB, type StoredChunkRecord, type StoredConversion, type StoredFileRecord, type StoredModelRecord } from './app-db.ts';

/** Chunk size: big enough that a 1.3 GB model is ~40 records, small enough that a lost partial chunk costs little. */
export const CHUNK_BYTES = 32 * 1024 * 1024;

export type StoredModelKey = [modelKey: string, dtype: ModelDtype];

/** A stored chunk's bytes if it is there and matches the digest recorded for it, else null. */
async function intactChunkBytes(record: StoredFileRecord, chunk: StoredChunkRecord | undefined): Promise<Uint8Array | null> {
  if (!chunk) return null;
  const bytes = new Uint8Array(await chunk.data.arrayBuffer());
  return (await sha256Hex(bytes)) === record.chunkSha256[chunk.index] ? bytes : null;
}

const fileRange = (modelKey: string, path: string): [[string, string, number], [string, string, number]] => [
  [modelKey, path, -Infinity],
  [modelKey, path, Infinity],
];

export interface StoredModelSummary extends StoredModelRecord {
  /** Bytes of this precision's files stored so far (shared files count for every precision). */
  storedBytes: number;
}

export class ModelStore implements WriterStore {
  constructor(readonly db: AppDB = appDb) {}

  // ---- reading ----

  getModel(modelKey: string, dtype: ModelDtype): Promise<StoredModelRecord | undefined> {
    return this.db.storedModels.get([modelKey, dtype]);
  }

  /** Every stored model with its stored bytes, most recently used first. */
  async listModels(): Promise<StoredModelSummary[]> {
    return this.db.transaction('r', this.db.storedModels, this.db.modelFiles, async () => {
      const [models, files] = await Promise.all([this.db.storedModels.toArray(), this.db.modelFiles.toArray()]);
      const stored = new Map(files.map((f) => [`${f.modelKey}\n${f.path}`, Math.min(f.storedBytes, f.size)]));
      return models
        .map((m) => ({ ...m, storedBytes: m.files.reduce((sum, path) => sum + (stored.get(`${m.modelKey}\n${path}`) ?? 0), 0) }))
        .sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    });
  }

  async fileStatus(modelKey: string, path: string): Promise<FileStatus | null> {
    return this.db.transaction('r', this.db.modelFiles, this.db.modelChunks, async () => {
      const record = await this.db.modelFiles.get([modelKey, path]);
      if (!record) return null;
      return { record, ...(await this.chunkPresence(record)) };
    });
  }

  /** Reads chunk keys and sizes only (Dexie fetches the rows, but a Blob is a handle: no bytes move). */
  private async chunkPresence(record: StoredFileRecord): Promise<Omit<FileStatus, 'record'>> {
    const present = new Set<number>();
    let partial: FileStatus['partial'] = null;
    await this.db.modelChunks
      .where('[modelKey+path+index]')
      .between(...fileRange(record.modelKey, record.path))
      .each((chunk) => {
        if (chunk.size === chunkLength(record, chunk.index)) present.add(chunk.index);
        else partial = { index: chunk.index, size: chunk.size };
      });
    return { present, partial };
  }

  /** Whether a file is verified and has every chunk (no bytes read). */
  isComplete(status: FileStatus | null): boolean {
    if (!status?.record.verified) return false;
    const n = chunkCount(status.record.size, status.record.chunkSize);
    for (let i = 0; i < n; i++) if (!status.present.has(i)) return false;
    return true;
  }

  /**
   * A complete file's chunks in order, for reading: throws `file-missing` when it is absent,
   * unverified or a chunk is gone (a structure check: no bytes are read here).
   */
  async readableFile(modelKey: string, path: string): Promise<{ record: StoredFileRecord; chunks: StoredChunkRecord[] }> {
    return this.db.transaction('r', this.db.modelFiles, this.db.modelChunks, async () => {
      const record = await this.db.modelFiles.get([modelKey, path]);
      if (!record?.verified) throw new StoreError('file-missing', `${path} is not stored${record ? ' completely' : ''}.`, path);
      const chunks = await this.db.modelChunks
        .where('[modelKey+path+index]')
        .between(...fileRange(modelKey, path))
        .toArray();
      const n = chunkCount(record.size, record.chunkSize);
      if (chunks.length !== n || chunks.some((c, i) => c.index !== i || c.size !== chunkLength(record, i) || c.data.size !== c.size)) {
        throw new StoreError('file-missing', `${path} has missing or cut chunks.`, path);
      }
      return { record, chunks };
    });
  }

  /** A whole stored file as bytes (small files: configs; and tests). Checks chunk digests. */
  async readFileBytes(modelKey: string, path: string): Promise<Uint8Array> {
    const { record, chunks } = await this.readableFile(modelKey, path);
    const out = new Uint8Array(record.size);
    for (const chunk of chunks) {
      const bytes = await intactChunkBytes(record, chunk);
      if (!bytes) {
        await this.dropChunk(modelKey, path, chunk.index);
        throw new StoreError('chunk-corrupt', `Chunk ${chunk.index} of ${path} does not match its digest.`, path, chunk.index);
      }
      out.set(bytes, chunk.index * record.chunkSize);
    }
    return out;
  }

  /** A whole stored file's bytes if it is stored completely with this identity, else null. */
  async bytesIfStored(modelKey: string, path: string, identity: FileIdentity): Promise<Uint8Array | null> {
    const status = await this.fileStatus(modelKey, path);
    if (!status || !this.isComplete(status) || !sameContent(status.record, identity)) return null;
    // A known hash must have been checked for this copy (not only "not contradicted").
    if ((identity.sha256 && status.record.sha256 !== identity.sha256) || (identity.gitSha1 && status.record.gitSha1 !== identity.gitSha1)) return null;
    return this.readFileBytes(modelKey, path).catch(() => null);
  }

  // ---- models ----

  /** Creates or refreshes the record of a model precision (its file list and total). */
  async putModel(
    model: Omit<StoredModelRecord, 'createdAt' | 'lastUsedAt' | 'status'> & Partial<Pick<StoredModelRecord, 'status'>>,
  ): Promise<StoredModelRecord> {
    return this.db.transaction('rw', this.db.storedModels, async () => {
      const existing = await this.db.storedModels.get([model.modelKey, model.dtype]);
      const now = Date.now();
      const record: StoredModelRecord = {
        ...existing,
        ...model,
        status: model.status ?? existing?.status ?? 'partial',
        createdAt: existing?.createdAt ?? now,
        lastUsedAt: existing?.lastUsedAt ?? now,
      };
      await this.db.storedModels.put(record);
      return record;
    });
  }

  /** Marks a precision complete when every one of its files is (re-checked here, in one transaction). */
  async markCompleteIfStored(modelKey: string, dtype: ModelDtype): Promise<boolean> {
    return this.db.transaction('rw', this.db.storedModels, this.db.modelFiles, this.db.modelChunks, async () => {
      const model = await this.db.storedModels.get([modelKey, dtype]);
      if (!model) return false;
      for (const path of model.files) if (!this.isComplete(await this.fileStatus(modelKey, path))) return false;
      if (model.status !== 'complete') await this.db.storedModels.update([modelKey, dtype], { status: 'complete', completedAt: Date.now() });
      return true;
    });
  }

  async touchModel(modelKey: string, dtype: ModelDtype): Promise<void> {
    await this.db.storedModels.update([modelKey, dtype], { lastUsedAt: Date.now() });
  }

  /**
   * Deletes a precision and the files no other stored precision of the same model lists, with
   * their chunks, in one transaction (a failure deletes nothing). Returns the bytes freed.
   */
  async deleteModel(modelKey: string, dtype: ModelDtype): Promise<number> {
    return this.db.transaction('rw', this.db.storedModels, this.db.modelFiles, this.db.modelChunks, async () => {
      const model = await this.db.storedModels.get([modelKey, dtype]);
      if (!model) return 0;
      const others = (await this.db.storedModels.where('[modelKey+dtype]').between([modelKey, Dexie.minKey], [modelKey, Dexie.maxKey]).toArray()).filter(
        (m) => m.dtype !== dtype,
      );
      const stillUsed = new Set(others.flatMap((m) => m.files));
      let freed = 0;
      for (const path of model.files) {
        if (!stillUsed.has(path)) freed += await this.deleteFileInTransaction(modelKey, path);
      }
      await this.db.storedModels.delete([modelKey, dtype]);
      return freed;
    });
  }

  /** Deletes every stored model, file and chunk. */
  async deleteAll(): Promise<number> {
    return this.db.transaction('rw', this.db.storedModels, this.db.modelFiles, this.db.modelChunks, async () => {
      const files = await this.db.modelFiles.toArray();
      await Promise.all([this.db.storedModels.clear(), this.db.modelFiles.clear(), this.db.modelChunks.clear()]);
      return files.reduce((sum, f) => sum + f.storedBytes, 0);
    });
  }

  /** Deletes files (and chunks) no stored model lists, e.g. left by a model deleted mid-download. */
  async deleteOrphans(): Promise<number> {
    return this.db.transaction('rw', this.db.storedModels, this.db.modelFiles, this.db.modelChunks, async () => {
      const used = new Set((await this.db.storedModels.toArray()).flatMap((m) => m.files.map((p) => `${m.modelKey}\n${p}`)));
      let freed = 0;
      for (const file of await this.db.modelFiles.toArray()) {
        if (!used.has(`${file.modelKey}\n${file.path}`)) freed += await this.deleteFileInTransaction(file.modelKey, file.path);
      }
      return freed;
    });
  }

  // ---- files ----

  async deleteFile(modelKey: string, path: string): Promise<number> {
    return this.db.transaction('rw', this.db.storedModels, this.db.modelFiles, this.db.modelChunks, () => this.deleteFileInTransaction(modelKey, path));
  }

  private async deleteFileInTransaction(modelKey: string, path: string): Promise<number> {
    const record = await this.db.modelFiles.get([modelKey, path]);
    await this.db.modelChunks
      .where('[modelKey+path+index]')
      .between(...fileRange(modelKey, path))
      .delete();
    await this.db.modelFiles.delete([modelKey, path]);
    await this.demoteModelsUsing(modelKey, path);
    return record?.storedBytes ?? 0;
  }

  /**
   * Removes a chunk found corrupt or unreadable, so the file reads as incomplete and the next
   * download fetches exactly that chunk again (its recorded digest stays, to check the refetch).
   */
  async dropChunk(modelKey: string, path: string, index: number): Promise<void> {
    await this.db.transaction('rw', this.db.storedModels, this.db.modelFiles, this.db.modelChunks, async () => {
      const chunk = await this.db.modelChunks.get([modelKey, path, index]);
      if (!chunk) return;
      await this.db.modelChunks.delete([modelKey, path, index]);
      await this.db.modelFiles
        .where('[modelKey+path]')
        .equals([modelKey, path])
        .modify((f) => {
          f.storedBytes -= chunk.size;
          f.updatedAt = Date.now();
        });
      await this.demoteModelsUsing(modelKey, path);
    });
  }

  private async demoteModelsUsing(modelKey: string, path: string): Promise<void> {
    await this.db.storedModels
      .where('[modelKey+dtype]')
      .between([modelKey, Dexie.minKey], [modelKey, Dexie.maxKey])
      .filter((m) => m.status === 'complete' && m.files.includes(path))
      .modify({ status: 'partial' });
  }

  /** Opens a file for sequential writing (or resuming); see ChunkedFileWriter. */
  openWriter(modelKey: string, path: string, identity: FileIdentity, options: { chunkSize?: number } = {}): Promise<ChunkedFileWriter> {
    return ChunkedFileWriter.open(this, modelKey, path, identity, options.chunkSize ?? CHUNK_BYTES);
  }

  /** Used by ChunkedFileWriter: one chunk and the file's new state, atomically. */
  async commitChunk(chunk: StoredChunkRecord, file: StoredFileRecord): Promise<void> {
    await this.db.transaction('rw', this.db.modelFiles, this.db.modelChunks, async () => {
      await this.db.modelChunks.put(chunk);
      await this.db.modelFiles.put(file);
    });
  }

  /**
   * Saves where an in-browser conversion stands (or clears it: null) together with the unfinished
   * chunk of each output it is writing, in one transaction: the saved state never counts a byte
   * the store could lose, and bytes past it are dropped on resume (ChunkedFileWriter.truncate).
   */
  async saveConversion(modelKey: string, dtype: ModelDtype, conversion: StoredConversion | null, writers: readonly ChunkedFileWriter[] = []): Promise<void> {
    const pending = writers.map((w) => w.partialRecords());
    await this.db.transaction('rw', this.db.storedModels, this.db.modelFiles, this.db.modelChunks, async () => {
      const model = await this.db.storedModels.get([modelKey, dtype]);
      if (!model) throw new StoreError('file-missing', `${modelKey} (${dtype}) was deleted while it was being converted.`);
      for (const { record, chunk } of pending) {
        if (chunk) await this.db.modelChunks.put(chunk);
        await this.db.modelFiles.put(record);
      }
      const { conversion: _old, ...rest } = model;
      await this.db.storedModels.put(conversion ? { ...rest, conversion } : rest);
    });
    writers.forEach((w, i) => w.adopt(pending[i].record));
  }

  /**
   * Checks a file written without a known hash (a converter output, whose SHA-256 is known only
   * once written) against `sha256`, reading it back chunk by chunk (each against its own digest
   * too), and marks it verified. A mismatch drops the file.
   */
  async verifyWrittenFile(modelKey: string, path: string, sha256: string): Promise<void> {
    const record = await this.db.modelFiles.get([modelKey, path]);
    if (!record) throw new StoreError('file-missing', `${path} is not stored.`, path);
    if (record.verified === 'sha256' && record.sha256 === sha256) return;
    const n = chunkCount(record.size, record.chunkSize);
    if (record.hashedChunks !== n) throw new StoreError('file-missing', `${path}: ${record.hashedChunks} of ${n} chunks stored.`, path);
    const hash = await ResumableSha256.create();
    for (let index = 0; index < n; index++) {
      const bytes = await this.intactChunkBytes(record, index);
      if (!bytes || bytes.length !== chunkLength(record, index)) {
        await this.resetFile(modelKey, path);
        throw new StoreError('verification-failed', `${path}: chunk ${index} is missing or does not match its digest.`, path, index);
      }
      hash.update(bytes);
    }
    const actual = bytesToHex(hash.digest());
    if (actual !== sha256) {
      await this.resetFile(modelKey, path);
      throw new StoreError('verification-failed', `${path} does not match what the converter wrote (sha256 ${sha256}, stored ${actual}).`, path);
    }
    await this.db.modelFiles.update([modelKey, path], { sha256, verified: 'sha256', updatedAt: Date.now() });
  }

  async chunkBytes(modelKey: string, path: string, index: number): Promise<Uint8Array | null> {
    const chunk = await this.db.modelChunks.get([modelKey, path, index]);
    return chunk ? new Uint8Array(await chunk.data.arrayBuffer()) : null;
  }

  async intactChunkBytes(record: StoredFileRecord, index: number): Promise<Uint8Array | null> {
    return intactChunkBytes(record, await this.db.modelChunks.get([record.modelKey, record.path, index]));
  }

  async truncateChunks(file: StoredFileRecord, index: number, partial: StoredChunkRecord | null): Promise<void> {
    await this.db.transaction('rw', this.db.modelFiles, this.db.modelChunks, async () => {
      await this.db.modelChunks.where('[modelKey+path+index]').between([file.modelKey, file.path, index], [file.modelKey, file.path, Infinity]).delete();
      if (partial) await this.db.modelChunks.put(partial);
      await this.db.modelFiles.put(file);
    });
  }

  async unverifiedBytes(record: StoredFileRecord): Promise<Uint8Array> {
    const chunks = await this.db.modelChunks
      .where('[modelKey+path+index]')
      .between(...fileRange(record.modelKey, record.path))
      .toArray();
    return new Uint8Array(await new Blob(chunks.map((c) => c.data)).arrayBuffer());
  }

  async putFileRecord(file: StoredFileRecord): Promise<void> {
    await this.db.modelFiles.put(file);
  }

  /** Drops a file's bytes and record (content changed at the source, or failed verification). */
  async resetFile(modelKey: string, path: string): Promise<void> {
    await this.deleteFile(modelKey, path);
  }
}

export const modelStore = new ModelStore();
