/**
 * Stores one planned file (in the store worker, under the file's Web Lock: downloader.ts). Lost
 * chunks are fetched again one by one and must equal the digest recorded the first time; then
 * the file goes on from the first byte not stored, one HTTP Range request per chunk.
 *
 * Network, hashing and IndexedDB overlap: each piece of a response body goes into the writer as
 * it arrives (copied into the chunk buffer and into the whole-file hash), and a full chunk is
 * queued for its digest and transaction while the next request already streams
 * (ChunkedFileWriter.append; the queue is bounded, so a slow disk holds the network back rather
 * than memory growing). If the network fails past its retries, or the download is paused, the
 * queued chunks still commit and the unfinished chunk's bytes are saved: a resume asks only for
 * what is missing. A file whose source changed (ETag, size, a repaired chunk's digest, the final
 * hash) starts over, once.
 */
import { HttpByteSource, HttpSourceError, type BodySink, type HttpOptions } from '../converter/http-source.ts';
import { type ChunkedFileWriter } from '../db/chunked-file-writer.ts';
import { type ModelStore } from '../db/model-store.ts';
import { StoreError } from '../db/stored-file.ts';
import { chunkLength } from '../lib/chunked-file.ts';
import type { PlannedFile } from './download-plan.ts';

/** Reads bytes of one file at an offset: HTTP Range requests, or the bytes planning already fetched. */
type ByteSource = Pick<HttpByteSource, 'readInto' | 'readStream'>;

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    async readInto(offset, target) {
      target.set(bytes.subarray(offset, offset + target.length));
    },
    async readStream(offset, length, sink: BodySink) {
      await sink(bytes.subarray(offset, offset + length), { filled: 0 });
    },
  };
}

/** Stores `file` and verifies it; returns the body bytes fetched and the chunks repaired. `onLoaded` gets the file's bytes received so far. */
export async function downloadFile(
  store: ModelStore,
  modelKey: string,
  file: PlannedFile,
  http: HttpOptions & { chunkSize?: number },
  onLoaded: (loaded: number) => void,
): Promise<{ bytes: number; repaired: number }> {
  let fetched = 0;
  let repaired = 0;
  for (let attempt = 0; ; attempt++) {
    const writer = await store.openWriter(modelKey, file.path, file, { chunkSize: http.chunkSize });
    try {
      if (writer.done) {
        if (!writer.file.verified) await writer.finish();
        return { bytes: fetched, repaired };
      }
      let loaded = writer.file.storedBytes;
      const source: ByteSource = file.bytes
        ? memorySource(file.bytes)
        : await HttpByteSource.open(file.url, {
            ...http,
            size: file.size,
            onBytes: (n) => {
              fetched += n;
              loaded += n;
              onLoaded(Math.min(file.size, loaded));
            },
            onResponse: (response) => checkEtag(writer, file, response),
          });
      for (const index of [...writer.missing]) {
        const bytes = new Uint8Array(chunkLength(writer.file, index));
        await source.readInto(index * writer.file.chunkSize, bytes);
        await writer.repairChunk(index, bytes);
        repaired++;
      }
      while (writer.offset < file.size) {
        const offset = writer.offset;
        const chunkEnd = Math.min(file.size, (Math.floor(offset / writer.file.chunkSize) + 1) * writer.file.chunkSize);
        try {
          await source.readStream(offset, chunkEnd - offset, (piece) => writer.append(piece));
        } catch (error) {
          // Keep what arrived: the queued chunks commit, then the unfinished one's bytes are saved.
          await writer.savePartial();
          throw error;
        }
      }
      await writer.finish();
      return { bytes: fetched, repaired };
    } catch (error) {
      const changed =
        (error instanceof StoreError && (error.code === 'source-changed' || error.code === 'verification-failed')) ||
        (error instanceof HttpSourceError && error.code === 'size-changed');
      if (!changed || attempt > 0) throw error;
      await store.resetFile(modelKey, file.path);
    }
  }
}

/** A response for a file being resumed must be the same file (its ETag), or the file starts over. */
function checkEtag(writer: ChunkedFileWriter, file: PlannedFile, response: Response): void {
  if (!file.checkEtag) return;
  const etag = response.headers.get('ETag') ?? undefined;
  if (!etag) return;
  if (writer.file.etag === undefined) writer.noteEtag(etag);
  else if (writer.file.etag !== etag)
    throw new StoreError('source-changed', `${file.path} changed at its source (ETag ${writer.file.etag} → ${etag}).`, file.path);
}
