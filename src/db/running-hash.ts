/**
 * The whole-file SHA-256 a ChunkedFileWriter goes on from when it opens a file already partly
 * stored. Normally the state saved with the last chunk (or with the unfinished chunk's bytes);
 * when that state cannot be used — saved by the earlier pure-JS implementation, refused by this
 * build of hash-wasm, or not covering exactly the bytes stored — the stored chunks are hashed
 * once more, each checked against its recorded digest first, so a verification never rests on a
 * state that may not describe the bytes it will vouch for.
 */
import { chunkCount } from '../lib/chunked-file.ts';
import { ResumableSha256, Sha256StateError } from '../lib/resumable-sha256.ts';
import type { StoredFileRecord } from './app-db.ts';

/** What resuming the hash reads from the store. */
export interface HashSource {
  intactChunkBytes(record: StoredFileRecord, index: number): Promise<Uint8Array | null>;
}

/** Whether a file keeps a running hash: it has an expected SHA-256 and more than one chunk (one chunk's digest is the file's). */
export const keepsRunningHash = (record: Pick<StoredFileRecord, 'sha256' | 'size' | 'chunkSize'>): boolean =>
  Boolean(record.sha256) && chunkCount(record.size, record.chunkSize) > 1;

/**
 * The running hash over the file's stored sequential bytes (`partial`: the unfinished chunk's
 * bytes), ready for the next byte; null when the file keeps none; 'unusable' when a chunk it
 * would have to hash again is missing or damaged (the caller starts the file over).
 */
export async function resumeRunningHash(store: HashSource, record: StoredFileRecord, partial: Uint8Array | null): Promise<ResumableSha256 | null | 'unusable'> {
  if (!keepsRunningHash(record) || record.verified) return null;
  const whole = Math.min(record.size, record.hashedChunks * record.chunkSize);
  const partialBytes = partial?.length ?? 0;
  if (whole === 0 && partialBytes === 0) return ResumableSha256.create();
  if (record.hashState) {
    const saved = await ResumableSha256.create(record.hashState).catch((error: unknown) => {
      if (error instanceof Sha256StateError) return null;
      throw error;
    });
    if (saved?.length === whole + partialBytes) return saved;
    if (saved?.length === whole) return partial ? saved.update(partial) : saved;
  }
  const hash = await ResumableSha256.create();
  for (let index = 0; index < record.hashedChunks; index++) {
    const bytes = await store.intactChunkBytes(record, index);
    if (!bytes) return 'unusable';
    hash.update(bytes);
  }
  return partial ? hash.update(partial) : hash;
}
