/**
 * The model downloader (runs in the store worker): makes one precision of a model fully stored
 * and verified in IndexedDB, fetching only what is missing.
 *
 * - A complete stored model is answered from the store alone: no request leaves (offline works).
 * - Otherwise the source is planned (download-plan.ts), the quota checked against the bytes still
 *   missing before anything is written, and each file fetched in HTTP Range requests of a few MiB
 *   taken as Blobs, network, hashing and IndexedDB overlapping (download-file.ts). A cut request
 *   is retried (http-source.ts); past the retries, the pieces of the unfinished chunk already
 *   taken are kept too, so the next attempt — after a reload or a tab close — asks only for what
 *   is missing.
 * - Chunks lost later (found corrupt when loading) are fetched one by one and must equal the
 *   digest recorded the first time; a changed ETag, size or hash means the file changed at its
 *   source: it starts over (once).
 * - Large files are stored one after another in plan order; the small files listed before each
 *   (one request each: config, tokenizer, graph) go beside it, SMALL_FILES_AT_ONCE at a time, so
 *   their round trips and transactions hide behind its stream. The first failure stops the
 *   others (keeping their bytes) and is the one reported.
 * - A Web Lock per file keeps two tabs from downloading the same file: the second waits, then
 *   finds it stored.
 */
import { type HttpOptions } from '../converter/http-source.ts';
import { CHUNK_BYTES, type ModelStore } from '../db/model-store.ts';
import { sameContent } from '../lib/chunked-file.ts';
import { availableBytes } from '../db/storage-manager.ts';
import { AppError, storageErrorOf } from '../lib/errors.ts';
import { downloadFile } from './download-file.ts';
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
  /** Bytes a request asks for while a file streams in (download-file.ts's PIECE_BYTES otherwise). */
  pieceBytes?: number;
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

/** Small files stored at the same time: enough to hide their round trips, few enough not to crowd a Hub's rate limits. */
export const SMALL_FILES_AT_ONCE = 3;

/**
 * The files to store as groups, one group after another: each large file with the small files
 * (at most one chunk: one request) listed before it since the previous large one, and the small
 * files after the last. Within a group the large file streams while the small ones go
 * SMALL_FILES_AT_ONCE at a time beside it; nothing listed after a large file starts before it
 * is stored.
 */
function fileGroups(indices: readonly number[], isSmall: (index: number) => boolean): { large: number | null; small: number[] }[] {
  const groups: { large: number | null; small: number[] }[] = [{ large: null, small: [] }];
  for (const index of indices) {
    if (isSmall(index)) groups.at(-1)!.small.push(index);
    else {
      groups.at(-1)!.large = index;
      groups.push({ large: null, small: [] });
    }
  }
  return groups;
}

/** Runs `task` on every item, at most `limit` at a time (the tasks do not throw). */
async function forEachAtOnce<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, lane));
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
    throw new AppError('quota-insufficient', `${needed} bytes must be stored, ${available} are available.`, { needed, available });
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

/** The bytes of `file` already stored, counted only if the stored file is the same one. */
function keptBytesOf(status: Awaited<ReturnType<ModelStore['fileStatus']>>, file: PlannedFile): number {
  return status && sameContent(status.record, file) ? Math.min(status.record.storedBytes, file.size) : 0;
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
    throw storageErrorOf(error);
  }

  // What is already stored of each file (bytes kept only if the file is the same one).
  const files: DownloadFileProgress[] = [];
  let needed = 0;
  for (const file of plan.files) {
    const status = await store.fileStatus(spec.modelKey, file.path);
    const kept = keptBytesOf(status, file);
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
    await store.putModel({
      ...base,
      label: spec.label,
      source: spec.source,
      ...(plan.revision ? { revision: plan.revision } : {}),
      files: plan.files.map((f) => f.path),
      totalBytes: total,
    });
  } catch (error) {
    throw storageErrorOf(error);
  }
  emit(true);

  let downloadedBytes = 0;
  let repairedChunks = 0;
  const locks = deps.locks ?? memoryLocks();
  // The first failure stops the files in flight beside it (they keep their bytes) and is the one reported.
  const failed = new AbortController();
  const fileHttp: HttpOptions = { ...http, signal: signal ? AbortSignal.any([signal, failed.signal]) : failed.signal };
  let failure: { error: unknown; path: string } | null = null;
  const storeFile = async (i: number) => {
    const file = plan.files[i];
    const fileProgress = files[i];
    if (failure || signal?.aborted) return;
    try {
      const fetched = await withFileLock(
        locks,
        spec.modelKey,
        file.path,
        fileHttp.signal,
        () => {
          fileProgress.state = 'waiting';
          emit(true);
        },
        async () => {
          fileProgress.state = 'downloading';
          emit(true);
          return downloadFile(store, spec.modelKey, file, { ...fileHttp, chunkSize: deps.chunkSize, pieceBytes: deps.pieceBytes }, (loaded) => {
            fileProgress.loaded = loaded;
            emit();
          });
        },
      );
      downloadedBytes += fetched.bytes;
      repairedChunks += fetched.repaired;
      fileProgress.loaded = file.size;
      fileProgress.state = 'done';
      emit(true);
    } catch (error) {
      if (failure || signal?.aborted) return;
      failure = { error, path: file.path };
      failed.abort();
    }
  };
  const todo = plan.files.flatMap((_, i) => (files[i].state === 'done' ? [] : [i]));
  const chunkSize = deps.chunkSize ?? CHUNK_BYTES;
  for (const { large, small } of fileGroups(todo, (i) => plan.files[i].size <= chunkSize)) {
    await Promise.all([large === null ? null : storeFile(large), forEachAtOnce(small, SMALL_FILES_AT_ONCE, storeFile)]);
  }

  const stop = stopped();
  if (stop) {
    if (stop.outcome === 'cancelled') await store.deleteModel(spec.modelKey, spec.dtype);
    return { ...stop, downloadedBytes, repairedChunks };
  }
  if (failure) {
    const { error, path } = failure;
    const reported = storageErrorOf(error, path);
    if (reported.code !== 'quota-exceeded') throw reported;
    // Full disk: what stays stored is kept on purpose (Load resumes from it); the message says how much, so the
    // user can weigh it against deleting the model to give the space back.
    let keptBytes = 0;
    for (const file of plan.files) keptBytes += keptBytesOf(await store.fileStatus(spec.modelKey, file.path).catch(() => null), file);
    throw new AppError('quota-exceeded', reported.message, { ...reported.params, keptBytes, totalBytes: total });
  }

  const complete = await store.markCompleteIfStored(spec.modelKey, spec.dtype);
  if (!complete) throw new AppError('model-files-missing', 'The model is not complete after downloading every file (another tab may have deleted it).');
  options.onProgress?.(progressOf('done'));
  return { ...base, outcome: 'complete', downloadedBytes, repairedChunks, completedNow: existing?.status !== 'complete' };
}

/** Runs `task` holding the file's lock; `onWait` tells the UI when another tab holds it. */
async function withFileLock<T>(
  locks: Locks,
  modelKey: string,
  path: string,
  signal: AbortSignal | undefined,
  onWait: () => void,
  task: () => Promise<T>,
): Promise<T> {
  const name = fileLockName(modelKey, path);
  const NOT_HELD = Symbol('not held');
  const first = await locks.request(name, { ifAvailable: true }, async (lock) => (lock ? task() : NOT_HELD));
  if (first !== NOT_HELD) return first as T;
  onWait();
  return locks.request(name, { signal }, task);
}
