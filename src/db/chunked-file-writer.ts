/**
 * Writes one model file into the store chunk by chunk (ModelStore.openWriter hands these out;
 * nothing else creates one). Each chunk, its SHA-256 and the file's new state commit in one
 * transaction, in order. The whole-file SHA-256 and the chunk's run over the bytes as they are
 * appended (the file's state saved with each chunk, running-hash.ts), so nothing is hashed twice
 * and a reload resumes where the stored bytes end. `append()` lets the next bytes arrive while
 * full chunks are still being committed (at most PIPELINE_DEPTH of them queued); `write()` waits
 * for them. Bytes that come with a Blob already holding them (a download's `response.blob()`, a
 * folder file's slice) are stored as that Blob: the chunk record references it, nothing copies it.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { chunkCount, chunkLength, sameContent, type FileIdentity } from '../lib/chunked-file.ts';
import { gitBlobSha1, sha256Hex } from '../lib/digests.ts';
import { ResumableSha256 } from '../lib/resumable-sha256.ts';
import type { FileVerification, StoredChunkRecord, StoredFileRecord } from './app-db.ts';
import { resumeRunningHash } from './running-hash.ts';
import { StoreError, type FileStatus } from './stored-file.ts';

/** What a writer needs of the store (ModelStore implements it): its reads and its atomic writes. */
export interface WriterStore {
  fileStatus(modelKey: string, path: string): Promise<FileStatus | null>;
  resetFile(modelKey: string, path: string): Promise<void>;
  putFileRecord(file: StoredFileRecord): Promise<void>;
  /** One chunk and the file's new state, atomically. */
  commitChunk(chunk: StoredChunkRecord, file: StoredFileRecord): Promise<void>;
  /** A chunk's stored bytes (a partial one included), unchecked; null when absent. */
  chunkBytes(modelKey: string, path: string, index: number): Promise<Uint8Array | null>;
  /** A chunk's bytes if present and equal to its recorded digest, else null. */
  intactChunkBytes(record: StoredFileRecord, index: number): Promise<Uint8Array | null>;
  /** Drops chunks from `index` on, stores `partial` (if any) in their place and `file`, atomically. */
  truncateChunks(file: StoredFileRecord, index: number, partial: StoredChunkRecord | null): Promise<void>;
  /** A file's chunks concatenated, before it is marked verified. */
  unverifiedBytes(record: StoredFileRecord): Promise<Uint8Array>;
}

/**
 * Full chunks queued behind the one being filled: enough that a transaction taking longer than
 * usual never stalls the network; each holds a chunk-sized Blob until committed.
 */
export const PIPELINE_DEPTH = 2;

/**
 * Writes one file into the store as consecutive chunks, durable chunk by chunk, and resumes
 * where an earlier writer stopped (a reload, a cut network): `offset` is where the next byte
 * goes. `savePartial()` keeps the bytes of an unfinished chunk (on a network error or pause) so
 * they are not fetched again. Chunks lost later (found corrupt) are written back with
 * `repairChunk`, checked against the digest recorded the first time.
 */
export class ChunkedFileWriter {
  /** The chunk being filled, in order: Blobs given with their bytes, and views of `staging` for bytes copied there. */
  private parts: (Blob | Uint8Array<ArrayBuffer>)[] = [];
  /** Where appended bytes without a Blob are copied until their chunk is stored (allocated on first use). */
  private staging: Uint8Array<ArrayBuffer> | null = null;
  private staged = 0;
  /** Bytes of the chunk being filled. */
  private filled = 0;
  /** The chunk being filled; the chunks below it are committed or queued. */
  private next: number;
  /** Commits queued or running, oldest first; each settles (never rejects) once done or failed. */
  private readonly queue: Promise<void>[] = [];
  /** The first commit that failed: no later chunk commits, and every later call throws it. */
  private failure: { error: unknown } | null = null;

  private constructor(
    private readonly store: WriterStore,
    /** The file as committed (queued chunks are not in it yet). */
    private record: StoredFileRecord,
    readonly missing: number[],
    partial: Uint8Array | null,
    /** The whole-file hash over every byte appended; null when the file keeps none (running-hash.ts). */
    private readonly hash: ResumableSha256 | null,
    /** The SHA-256 of the chunk being filled, over its bytes so far. */
    private readonly chunkHash: ResumableSha256,
  ) {
    this.next = record.hashedChunks;
    if (partial) this.take(partial);
  }

  static async open(store: WriterStore, modelKey: string, path: string, identity: FileIdentity, chunkSize: number): Promise<ChunkedFileWriter> {
    let status = await store.fileStatus(modelKey, path);
    if (status && !sameContent(status.record, identity)) {
      await store.resetFile(modelKey, path);
      status = null;
    }
    if (!status) {
      const record: StoredFileRecord = {
        modelKey,
        path,
        size: identity.size,
        chunkSize,
        ...(identity.url ? { url: identity.url } : {}),
        ...(identity.sha256 ? { sha256: identity.sha256 } : {}),
        ...(identity.gitSha1 ? { gitSha1: identity.gitSha1 } : {}),
        ...(identity.etag ? { etag: identity.etag } : {}),
        chunkSha256: [],
        storedBytes: 0,
        hashedChunks: 0,
        updatedAt: Date.now(),
      };
      await store.putFileRecord(record);
      status = { record, present: new Set(), partial: null };
    }
    const { record, present, partial } = status;
    // Chunks written once and lost since (below the sequential frontier) are repaired one by one.
    const missing: number[] = [];
    for (let i = 0; i < record.hashedChunks; i++) if (!present.has(i)) missing.push(i);
    let partialBytes: Uint8Array | null = null;
    if (partial && partial.index === record.hashedChunks) {
      partialBytes = await store.chunkBytes(modelKey, path, partial.index);
    }
    const hash = await resumeRunningHash(store, record, partialBytes);
    if (hash === 'unusable') {
      // The hash could not be rebuilt from what is stored: only starting over gives a file that can be verified.
      await store.resetFile(modelKey, path);
      return ChunkedFileWriter.open(store, modelKey, path, identity, chunkSize);
    }
    return new ChunkedFileWriter(store, record, missing, partialBytes, hash, await ResumableSha256.create());
  }

  get file(): Readonly<StoredFileRecord> {
    return this.record;
  }

  /** The ETag the first response carried; saved with the next chunk. */
  noteEtag(etag: string): void {
    this.record = { ...this.record, etag };
  }

  /** Where the next sequential byte goes (bytes appended so far, queued chunks included). */
  get offset(): number {
    return Math.min(this.record.size, this.next * this.record.chunkSize + this.filled);
  }

  get done(): boolean {
    return this.offset >= this.record.size && this.missing.length === 0;
  }

  /** Appends bytes at `offset`; every chunk that fills up is stored before this resolves. */
  async write(bytes: Uint8Array): Promise<void> {
    await this.append(bytes);
    await this.drain();
  }

  /**
   * Appends bytes at `offset` and hashes them; a chunk that fills up is queued for its commit,
   * and this resolves once the bytes are taken (waiting only while PIPELINE_DEPTH chunks are
   * queued). `blob`, when given, holds exactly `bytes` and is stored instead of a copy of them.
   * A failed commit is thrown by the next call.
   */
  async append(bytes: Uint8Array, blob?: Blob): Promise<void> {
    this.throwIfFailed();
    if (blob && blob.size !== bytes.length) throw new Error(`A Blob of ${blob.size} bytes given for ${bytes.length} bytes.`);
    let at = 0;
    while (at < bytes.length) {
      const index = this.next;
      if (index >= chunkCount(this.record.size, this.record.chunkSize))
        throw new StoreError('verification-failed', `${this.record.path} got more bytes than its ${this.record.size}.`, this.record.path);
      const end = at + Math.min(chunkLength(this.record, index) - this.filled, bytes.length - at);
      const piece = bytes.subarray(at, end);
      this.take(piece, blob && (end - at === blob.size ? blob : blob.slice(at, end)));
      this.hash?.update(piece);
      at = end;
      if (this.filled === chunkLength(this.record, index)) {
        while (this.queue.length >= PIPELINE_DEPTH) await this.queue[0];
        this.throwIfFailed();
        this.enqueue(index);
      }
    }
  }

  /** Adds a piece to the chunk being filled: as the Blob holding it, or copied into `staging`. */
  private take(piece: Uint8Array, blob?: Blob): void {
    if (blob) {
      this.parts.push(blob);
    } else {
      this.staging ??= new Uint8Array(Math.max(1, Math.min(this.record.chunkSize, this.record.size)));
      this.staging.set(piece, this.staged);
      // Pieces copied one after another are one view (a Blob of thousands of small parts costs more to build).
      const last = this.parts.at(-1);
      let start = this.staged;
      if (last instanceof Uint8Array && last.byteOffset + last.length === this.staged) {
        start = last.byteOffset;
        this.parts.pop();
      }
      this.staged += piece.length;
      this.parts.push(this.staging.subarray(start, this.staged));
    }
    this.chunkHash.update(piece);
    this.filled += piece.length;
  }

  /** The chunk being filled as one Blob (its copied bytes copied once more, its Blobs referenced). */
  private filledBlob(): Blob {
    return new Blob(this.parts);
  }

  /** Empties the chunk being filled (its bytes are in a queued commit, or dropped). */
  private clearFilled(): void {
    this.parts = [];
    this.staged = 0;
    this.filled = 0;
    this.chunkHash.reset();
  }

  /** Waits until every queued chunk is committed; throws the first commit that failed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0) await this.queue[0];
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /**
   * Queues chunk `index` (the chunk just filled) behind the commits before it. Its Blob copies
   * the staged bytes now (the Blob constructor is specified to), so staging takes the next
   * chunk's bytes at once; its digest and the file's hash state are taken now too, at exactly
   * this chunk's end.
   */
  private enqueue(index: number): void {
    const data = this.filledBlob();
    const chunkSha256 = bytesToHex(this.chunkHash.digest());
    const hashState = this.hash?.exportState();
    const size = this.filled;
    this.next = index + 1;
    this.clearFilled();
    const previous = this.queue.at(-1) ?? Promise.resolve();
    const commit = previous
      .then(async () => {
        if (this.failure) return;
        const advance = (file: StoredFileRecord): StoredFileRecord => ({
          ...file,
          chunkSha256: [...file.chunkSha256.slice(0, index), chunkSha256],
          hashedChunks: index + 1,
          storedBytes: Math.min(file.size, (index + 1) * file.chunkSize),
          ...(hashState ? { hashState } : {}),
          updatedAt: Date.now(),
        });
        await this.store.commitChunk({ modelKey: this.record.modelKey, path: this.record.path, index, data, size }, advance(this.record));
        // Applied to the record as it is now: an ETag noted while this chunk was committed stays.
        this.record = advance(this.record);
      })
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.queue.splice(this.queue.indexOf(commit), 1);
      });
    this.queue.push(commit);
  }

  /**
   * Commits every queued chunk, then stores the unfinished chunk's bytes (as a short chunk record,
   * with the hash state that covers them) so a resume neither fetches nor hashes them again.
   */
  async savePartial(): Promise<void> {
    await this.drain();
    if (this.filled === 0) return;
    const { record, chunk } = this.partialRecords();
    await this.store.commitChunk(chunk!, record);
    this.adopt(record);
  }

  /**
   * Drops everything past `offset` (a converter output resumed from its last saved state, which
   * may have written further before it stopped): later chunks go, and the chunk holding `offset`
   * keeps its first bytes as a partial chunk. Only for files without an expected whole-file hash
   * (the running hash cannot be rewound).
   */
  async truncate(offset: number): Promise<void> {
    await this.drain();
    const { record } = this;
    if (record.sha256) throw new Error(`${record.path} has an expected SHA-256 and cannot be truncated.`);
    if (offset > this.offset || this.missing.length > 0) {
      throw new StoreError(
        'file-missing',
        `${record.path} holds ${this.missing.length ? 'lost chunks below' : `${this.offset} bytes, fewer than`} ${offset}.`,
        record.path,
      );
    }
    if (offset === this.offset) return;
    const index = Math.floor(offset / record.chunkSize);
    const keep = offset - index * record.chunkSize;
    let prefix = new Uint8Array(0);
    if (keep > 0 && index === record.hashedChunks) {
      prefix = new Uint8Array(await this.filledBlob().slice(0, keep).arrayBuffer());
    } else if (keep > 0) {
      const bytes = await this.store.intactChunkBytes(record, index);
      if (!bytes || bytes.length < keep) {
        throw new StoreError('file-missing', `Chunk ${index} of ${record.path} is missing or damaged.`, record.path, index);
      }
      prefix = bytes.slice(0, keep);
    }
    const truncated: StoredFileRecord = {
      ...record,
      chunkSha256: record.chunkSha256.slice(0, index),
      hashedChunks: index,
      storedBytes: offset,
      updatedAt: Date.now(),
    };
    const partial = prefix.length ? { modelKey: record.modelKey, path: record.path, index, data: new Blob([prefix]), size: prefix.length } : null;
    await this.store.truncateChunks(truncated, index, partial);
    this.record = truncated;
    this.next = index;
    this.clearFilled();
    if (prefix.length) this.take(prefix);
  }

  /** What savePartial would write, as records for a caller's own transaction (ModelStore.saveConversion); then adopt(). */
  partialRecords(): { record: StoredFileRecord; chunk: StoredChunkRecord | null } {
    if (this.queue.length > 0) throw new Error(`${this.record.path}: chunks are still being committed (drain() first).`);
    this.throwIfFailed();
    const index = this.record.hashedChunks;
    const record = {
      ...this.record,
      storedBytes: Math.min(this.record.size, index * this.record.chunkSize + this.filled),
      ...(this.hash ? { hashState: this.hash.exportState() } : {}),
      updatedAt: Date.now(),
    };
    const chunk = this.filled > 0 ? { modelKey: record.modelKey, path: record.path, index, data: this.filledBlob(), size: this.filled } : null;
    return { record, chunk };
  }

  /** Takes the record committed by the caller of partialRecords(). */
  adopt(record: StoredFileRecord): void {
    this.record = record;
  }

  /** Writes back a chunk that was lost; it must equal what was stored the first time. */
  async repairChunk(index: number, bytes: Uint8Array): Promise<void> {
    await this.drain();
    const expected = this.record.chunkSha256[index];
    if (bytes.length !== chunkLength(this.record, index) || (await sha256Hex(bytes)) !== expected) {
      throw new StoreError(
        'source-changed',
        `Chunk ${index} of ${this.record.path} differs from the one stored before: the file changed at its source.`,
        this.record.path,
        index,
      );
    }
    const record = { ...this.record, storedBytes: this.record.storedBytes + bytes.length, updatedAt: Date.now() };
    await this.store.commitChunk(
      { modelKey: record.modelKey, path: record.path, index, data: new Blob([bytes as Uint8Array<ArrayBuffer>]), size: bytes.length },
      record,
    );
    this.record = record;
    this.missing.splice(this.missing.indexOf(index), 1);
  }

  /**
   * After the last byte: the whole file must have its expected size and hash. A mismatch drops
   * the file (its bytes cannot be trusted) and throws `verification-failed`.
   */
  async finish(): Promise<FileVerification> {
    await this.drain();
    const { record } = this;
    if (this.offset !== record.size) throw new StoreError('verification-failed', `${record.path}: ${this.offset} of ${record.size} bytes stored.`, record.path);
    if (record.verified) return record.verified;
    let verified: FileVerification = 'size';
    let actual: string | undefined;
    let expected: string | undefined;
    if (record.sha256) {
      verified = 'sha256';
      expected = record.sha256;
      // One chunk: its digest is the file's. Otherwise the running hash over every byte appended.
      actual = this.hash ? bytesToHex(this.hash.digest()) : (record.chunkSha256[0] ?? (await sha256Hex(new Uint8Array(0))));
    } else if (record.gitSha1) {
      // Hub files outside LFS are small (the Hub moves anything over 10 MB to LFS): read back once.
      verified = 'git-sha1';
      expected = record.gitSha1;
      actual = gitBlobSha1(await this.store.unverifiedBytes(record));
    }
    if (expected !== undefined && actual !== expected.toLowerCase()) {
      await this.store.resetFile(record.modelKey, record.path);
      throw new StoreError('verification-failed', `${record.path} does not match its published hash (${verified} ${expected}, got ${actual}).`, record.path);
    }
    const { hashState: _done, ...rest } = record;
    this.record = { ...rest, verified, updatedAt: Date.now() };
    await this.store.putFileRecord(this.record);
    return verified;
  }
}
