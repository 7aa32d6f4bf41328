/**
 * The model downloader (runs in the store worker): makes one precision of a model fully stored
 * and verified in IndexedDB, fetching only what is missing.
 *
 * - A complete stored model is answered from the store alone: no request leaves (offline works).
 * - Otherwise the source is planned (download-plan.ts), the quota checked against the bytes still
 *   missing before anything is written, and each file fetched with one HTTP Range request per
 *   chunk (CHUNK_BYTES), every chunk stored as it completes. A cut connection is retried from the
 *   byte it reached (http-source.ts); past the retries, the bytes of the unfinished chunk are kept
 *   too, so the next attempt — after a reload or a tab close — asks only for what is missing.
 * - Chunks lost later (found corrupt when loading) are fetched one by one and must equal the
 *   digest recorded the first time; a changed ETag, size or hash means the file changed at its
 *   source: it starts over (once).
 * - A Web Lock per file keeps two tabs from downloading the same file: the second waits, then
 *   finds it stored.
 */
import { HttpByteSource, HttpSourceError, type HttpOptions } from '../converter/http-source.ts';
import { HfHubError } from '../converter/hf-hub.ts';
import { ConversionError } from '../converter/model-io.ts';
import { SafetensorsError } from '../converter/safetensors.ts';
import { UnsupportedModelError } from '../model/config.ts';
import { chunkLength, sameContent, StoreError, type ChunkedFileWriter, type ModelStore } from '../db/model-store.ts';
import { availableBytes } from '../db/storage-manager.ts';
import { EngineError } from './engine-error.ts';
import { planDownload, type PlannedFile } from './download-plan.ts';
import type { DownloadFileProgress, DownloadProgress, EnsureResult, StoredModelSpec } from './protocol.ts';

/** The slice of the Web Locks API the downloader uses (navigator.locks; an in-process stand-in elsewhere). */
export interface Locks {
  request<T>(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

/** In-process exclusive locks with the Web Locks call shape, for Node tests. */
export function memoryLocks(): Locks {
  const tails = new Map<string, Promise<unknown>>();
  return {
    async request(name, options, callback) {
      const previous = tails.get(name);
      if (previous && options.ifAvailable) return callback(null);
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const tail = (previous ?? Promise.resolve()).then(() => mine);
      tails.set(name, tail);
      try {
        await previous;
        options.signal?.throwIfAborted();
        return await callback({ name });
      } finally {
        release();
        if (tails.get(name) === tail) tails.delete(name);
      }
    },
  };
}

export interface DownloaderDeps {
  store: ModelStore;
  fetch?: typeof fetch;
  locks?: Locks;
  /** navigator.storage.estimate, or null where there is none. */
  estimate?: () => Promise<{ usage?: number; quota?: number } | null>;
  hubHost?: string;
  /** Retry policy for transient network failures (http-source.ts defaults otherwise). */
  retry?: Pick<HttpOptions, 'maxAttempts' | 'retryDelayMs'>;
  chunkSize?: number;
  /** The least time between byte-progress events (file starts and ends are always reported). */
  progressIntervalMs?: number;
}

export interface EnsureOptions {
  /** Aborted with reason 'pause' or 'cancel' (anything else counts as cancel). */
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

export const fileLockName = (modelKey: string, path: string) => `hanmadi:file:${modelKey}\n${path}`;

const PROGRESS_INTERVAL_MS = 100;

function isQuotaError(error: unknown): boolean {
  for (let e = error as { name?: string; inner?: unknown } | undefined; e; e = e.inner as typeof e) {
    if (e.name === 'QuotaExceededError') return true;
  }
  return false;
}

/** Any failure of a download as the protocol's typed error. */
export function toDownloadError(error: unknown, path?: string): EngineError {
  if (error instanceof EngineError) return error;
  const file = path ?? (error instanceof StoreError ? error.path : undefined);
  const params = file ? { file } : undefined;
  if (isQuotaError(error)) return new EngineError('quota-exceeded', `The browser refused to store more (${(error as Error).message}).`, params);
  if (error instanceof StoreError) {
    return new EngineError(error.code === 'verification-failed' ? 'verification-failed' : error.code === 'source-changed' ? 'source-changed' : 'model-corrupt', error.message, params);
  }
  if (error instanceof HttpSourceError) {
    if (error.code === 'range-unsupported') return new EngineError('range-unsupported', error.message, params);
    if (error.code === 'size-changed') return new EngineError('source-changed', error.message, params);
    if (error.code === 'http-status' && [401, 403, 404, 410].includes(error.status ?? 0)) return new EngineError('model-files-missing', error.message, params);
    return new EngineError('download-failed', error.message, params);
  }
  if (error instanceof HfHubError) {
    const code = ({ network: 'download-failed', gated: 'repo-gated', 'not-found': 'repo-not-found', 'invalid-repo-id': 'repo-not-found', 'missing-file': 'model-files-missing', 'unsupported-architecture': 'unsupported-architecture', 'no-safetensors': 'no-safetensors', 'bad-response': 'load-failed' } as const)[error.code];
    return new EngineError(code, error.message, params);
  }
  if (error instanceof UnsupportedModelError) return new EngineError('unsupported-architecture', error.message, params);
  if (error instanceof ConversionError || error instanceof SafetensorsError) return new EngineError('conversion-failed', error.message, params);
  if (error instanceof TypeError) return new EngineError('download-failed', error.message, params);
  return new EngineError('unknown', error instanceof Error ? `${error.name}: ${error.message}` : String(error), params);
}

/** Reads bytes of one file at an offset (HTTP Range, or bytes planning already fetched). */
interface ByteReader {
  readInto(offset: number, target: Uint8Array, progress: { filled: number }): Promise<void>;
}

function memoryReader(bytes: Uint8Array): ByteReader {
  return {
    async readInto(offset, target, progress) {
      target.set(bytes.subarray(offset + progress.filled, offset + target.length), progress.filled);
      progress.filled = target.length;
    },
  };
}

/** Whether two stored models come from the same source (same kind, location and revision). */
export const sameModelSource = (a: StoredModelSpec['source'], b: StoredModelSpec['source']) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The space the storage estimate leaves, after refusing (before anything is written, so what is
 * stored stays) when `needed` bytes do not fit. Null where the browser gives no estimate.
 */
export async function checkQuota(deps: Pick<DownloaderDeps, 'estimate'>, needed: number): Promise<number | null> {
  const available = availableBytes(await (deps.estimate?.() ?? Promise.resolve(null)).catch(() => null));
  if (available !== null && needed > available) {
    throw new EngineError('quota-insufficient', `${needed} bytes must be stored, ${available} are available.`, { needed, available });
  }
  return available;
}

/** Calls `send` at most once per progress interval; `emit(true)` always sends (file or tensor boundaries). */
export function progressThrottle(deps: Pick<DownloaderDeps, 'progressIntervalMs'>, send: () => void): (force?: boolean) => void {
  const interval = deps.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
  let lastEmit = 0;
  return (force = false) => {
    const now = performance.now();
    if (!force && now - lastEmit < interval) return;
    lastEmit = now;
    send();
  };
}

export async function ensureStored(spec: StoredModelSpec, deps: DownloaderDeps, options: EnsureOptions = {}): Promise<EnsureResult> {
  const { store } = deps;
  const { signal } = options;
  const base = { modelKey: spec.modelKey, dtype: spec.dtype };
  const stopped = (): EnsureResult | null => {
    if (!signal?.aborted) return null;
    return { ...base, outcome: signal.reason === 'pause' ? 'paused' : 'cancelled', downloadedBytes: 0, repairedChunks: 0, completedNow: false };
  };

  const existing = await store.getModel(spec.modelKey, spec.dtype);
  const sameSource = existing && sameModelSource(existing.source, spec.source);
  if (existing && sameSource && (await store.markCompleteIfStored(spec.modelKey, spec.dtype))) {
    return { ...base, outcome: 'complete', downloadedBytes: 0, repairedChunks: 0, completedNow: false };
  }

  // 'no-store': the bytes go to IndexedDB; the HTTP cache must neither keep a second copy nor serve parts of a range.
  const http: HttpOptions = { fetch: deps.fetch, signal, cache: 'no-store', ...deps.retry };
  const emitPlanning = () =>
    options.onProgress?.({ ...base, phase: 'planning', files: [], loaded: 0, total: existing?.totalBytes ?? 0, neededBytes: 0, availableBytes: null });
  emitPlanning();
  let plan;
  try {
    plan = await planDownload(
      spec.source,
      spec.dtype,
      { ...http, hubHost: deps.hubHost, storedFile: (path, identity) => store.bytesIfStored(spec.modelKey, path, identity) },
      sameSource ? existing?.revision : undefined,
    );
  } catch (error) {
    if (signal?.aborted) return stopped()!;
    throw toDownloadError(error);
  }

  // What is already stored of each file (bytes kept only if the file is the same one).
  const files: DownloadFileProgress[] = [];
  let needed = 0;
  for (const file of plan.files) {
    const status = await store.fileStatus(spec.modelKey, file.path);
    const kept = status && sameContent(status.record, file) ? Math.min(status.record.storedBytes, file.size) : 0;
    files.push({ path: file.path, loaded: kept, total: file.size, state: kept === file.size && store.isComplete(status) ? 'done' : 'queued' });
    needed += file.size - kept;
  }
  const total = plan.files.reduce((sum, f) => sum + f.size, 0);
  const available = await checkQuota(deps, needed);

  const progressOf = (phase: DownloadProgress['phase']): DownloadProgress => ({
    ...base,
    phase,
    files: files.map((f) => ({ ...f })),
    loaded: files.reduce((sum, f) => sum + f.loaded, 0),
    total,
    neededBytes: needed,
    availableBytes: available,
  });
  const emit = progressThrottle(deps, () => options.onProgress?.(progressOf('downloading')));

  try {
    await store.putModel({ ...base, label: spec.label, source: spec.source, ...(plan.revision ? { revision: plan.revision } : {}), files: plan.files.map((f) => f.path), totalBytes: total });
  } catch (error) {
    throw toDownloadError(error);
  }
  emit(true);

  let downloadedBytes = 0;
  let repairedChunks = 0;
  const locks = deps.locks ?? memoryLocks();
  for (const [i, file] of plan.files.entries()) {
    if (files[i].state === 'done') continue;
    const fileProgress = files[i];
    try {
      const fetched = await withFileLock(locks, spec.modelKey, file.path, signal, () => {
        fileProgress.state = 'waiting';
        emit(true);
      }, async () => {
        fileProgress.state = 'downloading';
        emit(true);
        return downloadFile(store, spec.modelKey, file, { ...http, chunkSize: deps.chunkSize }, (loaded) => {
          fileProgress.loaded = loaded;
          emit();
        });
      });
      downloadedBytes += fetched.bytes;
      repairedChunks += fetched.repaired;
      fileProgress.loaded = file.size;
      fileProgress.state = 'done';
      emit(true);
    } catch (error) {
      const stop = stopped();
      if (stop) {
        if (stop.outcome === 'cancelled') await store.deleteModel(spec.modelKey, spec.dtype);
        return { ...stop, downloadedBytes, repairedChunks };
      }
      throw toDownloadError(error, file.path);
    }
  }

  const complete = await store.markCompleteIfStored(spec.modelKey, spec.dtype);
  if (!complete) throw new EngineError('model-files-missing', 'The model is not complete after downloading every file (another tab may have deleted it).');
  options.onProgress?.(progressOf('done'));
  return { ...base, outcome: 'complete', downloadedBytes, repairedChunks, completedNow: existing?.status !== 'complete' };
}

/** Runs `task` holding the file's lock; `onWait` tells the UI when another tab holds it. */
async function withFileLock<T>(locks: Locks, modelKey: string, path: string, signal: AbortSignal | undefined, onWait: () => void, task: () => Promise<T>): Promise<T> {
  const name = fileLockName(modelKey, path);
  const NOT_HELD = Symbol('not held');
  const first = await locks.request(name, { ifAvailable: true }, async (lock) => (lock ? task() : NOT_HELD));
  if (first !== NOT_HELD) return first as T;
  onWait();
  return locks.request(name, { signal }, task);
}

/**
 * Stores one file: repairs lost chunks, then goes on from the first byte not stored, one Range
 * request per chunk, and verifies it at the end. A file whose source changed (ETag, size, a
 * repaired chunk's digest, the final hash) is started over once. Returns the bytes fetched.
 */
async function downloadFile(
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
      let inFlight = 0;
      const reader: ByteReader = file.bytes
        ? memoryReader(file.bytes)
        : await HttpByteSource.open(file.url, {
            ...http,
            size: file.size,
            onBytes: (n) => {
              fetched += n;
              inFlight += n;
              onLoaded(Math.min(file.size, writer.file.storedBytes + inFlight));
            },
            onResponse: (response) => checkEtag(writer, file, response),
          });
      for (const index of [...writer.missing]) {
        const bytes = new Uint8Array(chunkLength(writer.file, index));
        await reader.readInto(index * writer.file.chunkSize, bytes, { filled: 0 });
        await writer.repairChunk(index, bytes);
        inFlight = 0;
        repaired++;
      }
      while (writer.offset < file.size) {
        const offset = writer.offset;
        const chunkEnd = Math.min(file.size, (Math.floor(offset / writer.file.chunkSize) + 1) * writer.file.chunkSize);
        const target = new Uint8Array(chunkEnd - offset);
        const progress = { filled: 0 };
        try {
          await reader.readInto(offset, target, progress);
        } catch (error) {
          // Keep what arrived of this chunk: a resume asks only for the bytes after it.
          if (progress.filled > 0) {
            await writer.write(target.subarray(0, progress.filled));
            await writer.savePartial();
          }
          throw error;
        }
        await writer.write(target);
        inFlight = 0;
        onLoaded(writer.offset);
      }
      await writer.finish();
      return { bytes: fetched, repaired };
    } catch (error) {
      const changed = (error instanceof StoreError && (error.code === 'source-changed' || error.code === 'verification-failed')) || (error instanceof HttpSourceError && error.code === 'size-changed');
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
  else if (writer.file.etag !== etag) throw new StoreError('source-changed', `${file.path} changed at its source (ETag ${writer.file.etag} → ${etag}).`, file.path);
}
