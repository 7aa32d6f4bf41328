/**
 * Stores one planned file (in the store worker, under the file's Web Lock: downloader.ts). Lost
 * chunks are fetched again one by one and must equal the digest recorded the first time; then
 * the file goes on from the first byte not stored, in HTTP Range requests of PIECE_BYTES.
 *
 * Network, hashing and IndexedDB overlap: PIECES_AHEAD requests are in flight while the writer
 * takes the piece before them. Each piece arrives as a Blob (`response.blob()`: the browser moves
 * the body into its blob store without JavaScript reading it, the cost that bounded downloads
 * before); its bytes are read once for the hashes, and the Blob itself is what the chunk record
 * stores. A full chunk is queued for its transaction while the next pieces arrive
 * (ChunkedFileWriter.append; the queue is bounded, so a slow disk holds the network back rather
 * than memory growing). If the network fails past its retries, or the download is paused, the
 * queued chunks still commit and the pieces already taken are saved as a partial chunk: a resume
 * asks only for what is missing, losing at most the pieces that were still in flight. A file
 * whose source changed (ETag, size, a repaired chunk's digest, the final hash) starts over, once.
 */
import { HttpByteSource, HttpSourceError, type HttpOptions } from '../converter/http-source.ts';
import { type ChunkedFileWriter } from '../db/chunked-file-writer.ts';
import { type ModelStore } from '../db/model-store.ts';
import { StoreError } from '../db/stored-file.ts';
import { chunkLength } from '../lib/chunked-file.ts';
import type { PlannedFile } from './download-plan.ts';

/**
 * Bytes asked for in one request as a file streams in. Small enough that a cut connection or a
 * pause loses little (a piece in flight is fetched again whole), large enough that requests stay
 * few (smaller pieces stored slower and larger ones no faster in one-off profile runs: README,
 * "Cold downloads into the store").
 */
export const PIECE_BYTES = 4 * 1024 * 1024;
/** Requests in flight while the writer takes the piece before them: hides each request's round trip. */
export const PIECES_AHEAD = 3;

/** Reads bytes of one file at an offset: HTTP Range requests, or the bytes planning already fetched. */
type ByteSource = Pick<HttpByteSource, 'readInto' | 'readBlob'>;

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    async readInto(offset, target) {
      target.set(bytes.subarray(offset, offset + target.length));
    },
    async readBlob(offset, length) {
      return new Blob([bytes.subarray(offset, offset + length) as Uint8Array<ArrayBuffer>]);
    },
  };
}

/**
 * Appends the file's bytes from `writer.offset` to its end, `pieceBytes` a request (never across
 * a chunk's end), PIECES_AHEAD in flight. A file of one chunk (config, tokenizer, graph) comes in
 * one request: those go several at a time beside a large file, where fewer requests to the Hub
 * matter more than what a cut loses.
 */
async function appendRest(writer: ChunkedFileWriter, source: ByteSource, pieceBytes: number): Promise<void> {
  const { size, chunkSize } = writer.file;
  const pieces: { start: number; end: number }[] = [];
  const step = size <= chunkSize ? size : pieceBytes;
  for (let start = writer.offset; start < size;) {
    const end = Math.min(size, start + step, (Math.floor(start / chunkSize) + 1) * chunkSize);
    pieces.push({ start, end });
    start = end;
  }
  const inFlight: Promise<Blob>[] = [];
  let requested = 0;
  const request = () => {
    const { start, end } = pieces[requested++];
    const blob = source.readBlob(start, end - start);
    blob.catch(() => undefined); // awaited in order below; one failing before its turn is not unhandled
    inFlight.push(blob);
  };
  while (requested < Math.min(pieces.length, PIECES_AHEAD)) request();
  while (inFlight.length > 0) {
    const blob = await inFlight.shift()!;
    if (requested < pieces.length) request();
    await writer.append(new Uint8Array(await blob.arrayBuffer()), blob);
  }
}

/** Stores `file` and verifies it; returns the body bytes fetched and the chunks repaired. `onLoaded` gets the file's bytes received so far. */
export async function downloadFile(
  store: ModelStore,
  modelKey: string,
  file: PlannedFile,
  http: HttpOptions & { chunkSize?: number; pieceBytes?: number },
  onLoaded: (loaded: number) => void,
): Promise<{ bytes: number; repaired: number }> {
  let fetched = 0;
  let repaired = 0;
  for (let attempt = 0; ; attempt++) {
    const writer = await store.openWriter(modelKey, file.path, file, { chunkSize: http.chunkSize });
    // Stops this attempt's requests still in flight when it ends early (a failure, a restart).
    const attemptEnded = new AbortController();
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
            signal: http.signal ? AbortSignal.any([http.signal, attemptEnded.signal]) : attemptEnded.signal,
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
      try {
        await appendRest(writer, source, http.pieceBytes ?? PIECE_BYTES);
      } catch (error) {
        // Keep what arrived: the queued chunks commit, then the unfinished one's pieces are saved.
        attemptEnded.abort();
        await writer.savePartial();
        throw error;
      }
      await writer.finish();
      return { bytes: fetched, repaired };
    } catch (error) {
      const changed =
        (error instanceof StoreError && (error.code === 'source-changed' || error.code === 'verification-failed')) ||
        (error instanceof HttpSourceError && error.code === 'size-changed');
      if (!changed || attempt > 0) throw error;
      await store.resetFile(modelKey, file.path);
    } finally {
      attemptEnded.abort();
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
