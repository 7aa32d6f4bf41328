/**
 * A Hugging Face safetensors repo converted in the browser on first download (runs in the store
 * worker, beside the downloader: same store, locks, quota check, progress, pause and cancel; the
 * LLM worker stays free to chat meanwhile). The repo's revision is pinned to a commit, the
 * converter core (src/converter) reads each tensor once with HTTP Range requests, in row blocks,
 * quantizes it and streams the result into the Dexie store (StoreModelWriter), then lets it go:
 * memory stays at a row block plus a store chunk, whatever the checkpoint's size, and the original
 * bf16 bytes are never stored (fetch with `cache: 'no-store'`, so not in the HTTP cache either).
 *
 * Resumable at tensor granularity: the converter's ConversionState is saved in the model's record
 * in the same transaction as the unfinished chunk it counts (ModelStore.saveConversion) — at most
 * every CHECKPOINT_INTERVAL_MS while all goes well (each save rewrites the open chunk's tail), and
 * always when the conversion stops (network failure, pause, a closed worker excepted), so a
 * resume after a cut refetches no finished tensor. A state for another commit or converter version
 * starts over.
 *
 * Every safetensors file is checked against the Hub's LFS sha256 as it is read (VerifiedSource),
 * with the check's state saved beside the converter's; the model is marked complete only once
 * every file has matched. A mismatch (a byte changed in transit) discards the conversion and it
 * starts over once, refetching; a second mismatch fails with 'verification-failed'.
 *
 * The output is what the Node CLI writes for this precision, byte for byte, stored as a downloaded
 * model is: the existing load path (LLM worker + customCache) runs it, long-context patch included.
 */
import {
  checkConvertible,
  convertCheckpoint,
  ConversionError,
  DEFAULT_EXTERNAL_CHUNK_BYTES,
  graphFileName,
  planConversion,
  type ConversionState,
  type ConvertDtype,
} from '../converter/convert.ts';
import type { CheckpointReader } from '../converter/model-io.ts';
import { SourceMismatchError, VerifiedSource } from '../converter/verified-source.ts';
import { estimateConversionSize, hfCheckpointReader, resolveHfCheckpoint, type HfCheckpoint, type HfHubOptions } from '../converter/hf-hub.ts';
import type { StoredModelRecord } from '../db/app-db.ts';
import { StoreError } from '../db/stored-file.ts';
import type { ModelSource } from '../model/catalog.ts';
import { SHARED_MODEL_FILES } from '../model/model-files.ts';
import { checkQuota, type DownloaderDeps, type EnsureOptions, memoryLocks, progressThrottle, sameModelSource } from './downloader.ts';
import { storageErrorOf } from '../lib/errors.ts';
import type { DownloadProgress, EnsureResult, StoredModelSpec } from './protocol.ts';
import { StoreModelWriter } from './store-model-writer.ts';

/** While all goes well, a checkpoint is saved at most this often (each save rewrites the open chunk's tail). */
const CHECKPOINT_INTERVAL_MS = 2000;

export interface ConversionDeps extends DownloaderDeps {
  /** Minimum time between saved checkpoints while converting (tests: 0, every tensor). */
  checkpointIntervalMs?: number;
  /** The converter's row-block size (float32 bytes; default 64 MiB); tests use small blocks. */
  blockBytes?: number;
}

const conversionLockName = (modelKey: string, dtype: string) => `hanmadi:convert:${modelKey}\n${dtype}`;

/** The files a conversion stores and the sizes of its external data, from the plan (no weights needed). */
function conversionLayout(checkpoint: HfCheckpoint, dtype: ConvertDtype): { files: string[]; outputSizes: Map<string, number>; stepSourceBytes: number[] } {
  const { shape, rope } = checkConvertible(checkpoint.config, [dtype]);
  const plan = planConversion(shape, rope, [dtype], DEFAULT_EXTERNAL_CHUNK_BYTES);
  const outputSizes = new Map<string, number>();
  for (const step of plan.steps) {
    for (const { target } of step.weights) {
      const path = `onnx/${target.location}`;
      outputSizes.set(path, Math.max(outputSizes.get(path) ?? 0, target.offset + target.length));
    }
  }
  const weightDtype = checkpoint.config.torch_dtype ?? checkpoint.config.dtype;
  const elementBytes = weightDtype === 'float32' ? 4 : 2;
  return {
    files: [...SHARED_MODEL_FILES, `onnx/${graphFileName(dtype)}`, ...outputSizes.keys()],
    outputSizes,
    stepSourceBytes: plan.steps.map((s) => s.sourceShape.reduce((a, b) => a * b, 1) * elementBytes),
  };
}

const encoder = new TextEncoder();

/**
 * config.json lists each graph's external-data files; precisions of one model share it. When
 * another precision converted from the same commit is stored, its entries are kept beside ours.
 */
async function mergeConfig(deps: ConversionDeps, spec: StoredModelSpec, others: StoredModelRecord[], bytes: Uint8Array): Promise<Uint8Array> {
  if (others.length === 0) return bytes;
  const stored = await deps.store.readFileBytes(spec.modelKey, 'config.json').catch(() => null);
  if (!stored) return bytes;
  type Config = { 'transformers.js_config'?: { use_external_data_format?: unknown } };
  const previous = (JSON.parse(new TextDecoder().decode(stored)) as Config)['transformers.js_config']?.use_external_data_format;
  const config = JSON.parse(new TextDecoder().decode(bytes)) as Config;
  const ours = config['transformers.js_config']?.use_external_data_format;
  if (typeof previous !== 'object' || previous === null || typeof ours !== 'object' || ours === null) return bytes;
  const kept = Object.fromEntries(
    others
      .map((m) => graphFileName(m.dtype))
      .filter((name) => name in previous)
      .map((name) => [name, (previous as Record<string, unknown>)[name]]),
  );
  config['transformers.js_config'] = { ...config['transformers.js_config'], use_external_data_format: { ...kept, ...ours } };
  return encoder.encode(JSON.stringify(config, null, 2) + '\n');
}

export async function ensureConverted(spec: StoredModelSpec, deps: ConversionDeps, options: EnsureOptions = {}): Promise<EnsureResult> {
  const { store } = deps;
  const { signal } = options;
  if (spec.source.kind !== 'hf-safetensors') throw new Error(`ensureConverted: ${spec.source.kind} is not a safetensors source.`);
  const source = spec.source;
  const dtype: ConvertDtype = spec.dtype;
  const base = { modelKey: spec.modelKey, dtype };
  const stopped = (): EnsureResult | null => {
    if (!signal?.aborted) return null;
    return { ...base, outcome: signal.reason === 'pause' ? 'paused' : 'cancelled', downloadedBytes: 0, repairedChunks: 0, completedNow: false };
  };
  const complete = async (): Promise<boolean> => {
    const existing = await store.getModel(spec.modelKey, dtype);
    if (!existing || !sameModelSource(existing.source, spec.source) || !(await store.markCompleteIfStored(spec.modelKey, dtype))) return false;
    if (existing.conversion) await store.saveConversion(spec.modelKey, dtype, null);
    return true;
  };
  const done = (): EnsureResult => ({ ...base, outcome: 'complete', downloadedBytes: 0, repairedChunks: 0, completedNow: false });

  // A stored model answers from the store alone: no request (offline works).
  if (await complete()) return done();
  options.onProgress?.({ ...base, phase: 'planning', files: [], loaded: 0, total: 0, neededBytes: 0, availableBytes: null });
  // One conversion of a precision at a time across tabs: another tab's waits, then finds it stored.
  const locks = deps.locks ?? memoryLocks();
  try {
    return await locks.request(conversionLockName(spec.modelKey, dtype), { signal }, async () => {
      if (await complete()) return done();
      return await convert(spec, source, dtype, deps, options);
    });
  } catch (error) {
    const stop = stopped();
    if (stop) {
      if (stop.outcome === 'cancelled') await store.deleteModel(spec.modelKey, dtype);
      return stop;
    }
    throw storageErrorOf(error);
  }
}

async function convert(
  spec: StoredModelSpec,
  source: Extract<ModelSource, { kind: 'hf-safetensors' }>,
  dtype: ConvertDtype,
  deps: ConversionDeps,
  options: EnsureOptions,
  attempt = 0,
): Promise<EnsureResult> {
  const { store } = deps;
  const { signal } = options;
  const base = { modelKey: spec.modelKey, dtype };
  const existing = await store.getModel(spec.modelKey, dtype);
  const others = (await store.listModels()).filter((m) => m.modelKey === spec.modelKey && m.dtype !== dtype && sameModelSource(m.source, spec.source));
  // Pinned at first use: this precision's commit, else the one the model's other precisions came from.
  const sameSource = existing !== undefined && sameModelSource(existing.source, spec.source);
  const revision = (sameSource ? existing.revision : undefined) ?? others.find((m) => m.revision)?.revision ?? source.revision;
  const hub: HfHubOptions = { host: deps.hubHost, fetch: deps.fetch, signal, cache: 'no-store', ...deps.retry };
  const checkpoint = await resolveHfCheckpoint(source.repo, revision, { ...hub, dtypes: [dtype] });
  const sourceId = `${checkpoint.repo}@${checkpoint.sha}`;
  const layout = conversionLayout(checkpoint, dtype);
  const estimate = estimateConversionSize(checkpoint, [dtype]);
  const sharing = others.filter((m) => m.revision === checkpoint.sha);

  // Go on from a saved state of this very checkpoint; anything else stored for this precision
  // (another commit, or a finished conversion that lost a chunk: its state is gone) starts over.
  const resumed = sameSource && existing.conversion?.sourceId === sourceId ? existing.conversion : undefined;
  const resumeFrom: ConversionState | undefined = resumed?.state;
  if (existing && !resumeFrom) await store.deleteModel(spec.modelKey, dtype);

  let stored = 0;
  if (resumeFrom) for (const path of layout.files) stored += (await store.fileStatus(spec.modelKey, path))?.record.storedBytes ?? 0;
  const needed = Math.max(0, estimate.storedBytes - stored);
  const available = await checkQuota(deps, needed);
  await store.putModel({ ...base, label: spec.label, source: spec.source, revision: checkpoint.sha, files: layout.files, totalBytes: estimate.storedBytes });

  // Fetched = the small files (once the first checkpoint is past them) + finished tensors + the current one.
  const smallBytes = Math.max(0, checkpoint.downloadBytes - layout.stepSourceBytes.reduce((a, b) => a + b, 0));
  const fetchedThrough = (done: number) => smallBytes + layout.stepSourceBytes.slice(0, done).reduce((a, b) => a + b, 0);
  const doneBefore = resumeFrom?.done ?? 0;
  let fetchedBefore = resumeFrom ? fetchedThrough(doneBefore) : 0;
  /** Bytes of the tensor in progress fetched so far, and all bytes fetched by this request. */
  let fetchedNow = 0;
  let fetchedTotal = 0;
  let tensorsDone = doneBefore;
  const progress = (phase: DownloadProgress['phase']): DownloadProgress => ({
    ...base,
    phase,
    files: [],
    loaded: Math.min(checkpoint.downloadBytes, fetchedBefore + fetchedNow),
    total: checkpoint.downloadBytes,
    neededBytes: needed,
    availableBytes: available,
    conversion: { tensorsDone, tensorsTotal: layout.stepSourceBytes.length, storedBytes: estimate.storedBytes },
  });
  const emit = progressThrottle(deps, () => options.onProgress?.(progress('downloading')));
  emit(true);

  const writer = new StoreModelWriter(store, spec.modelKey, {
    keep: new Set(layout.files),
    outputSizes: layout.outputSizes,
    chunkSize: deps.chunkSize,
    transformFile: (path, bytes) => (path === 'config.json' ? mergeConfig(deps, spec, sharing, bytes) : Promise.resolve(bytes)),
  });
  const interval = deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS;
  let latest: ConversionState | null = null;
  let latestSaved = true;
  let lastSave = -Infinity;
  const save = async (state: ConversionState) => {
    const open = Object.values(state.external).flatMap((e) => (e?.open ? [e.open] : []));
    const writers = [];
    for (const chunk of open) writers.push(await writer.outputAt(chunk.path, chunk.size));
    const sources = Object.fromEntries([...verified].flatMap(([path, source]) => (source.exportState() ? [[path, source.exportState()!]] : [])));
    await store.saveConversion(spec.modelKey, dtype, { sourceId, state, sources, updatedAt: Date.now() }, writers);
    lastSave = performance.now();
    latestSaved = true;
  };

  const hubReader = hfCheckpointReader(checkpoint, {
    ...hub,
    onBytes: (n) => {
      fetchedNow += n;
      fetchedTotal += n;
      emit();
    },
  });
  // Each safetensors file with a published sha256 is read through its check, resumed from the saved one.
  const verified = new Map<string, VerifiedSource>();
  const reader: CheckpointReader = {
    readFile: (name) => hubReader.readFile(name),
    openFile: async (name) => {
      const source = await hubReader.openFile(name);
      const sha256 = checkpoint.files.find((f) => f.path === name)?.lfsSha256;
      if (!source || !sha256) return source;
      const checked = await VerifiedSource.open(source, name, sha256, resumed?.sources?.[name]);
      verified.set(name, checked);
      return checked;
    },
  };
  // Once per load: drop the saved state and what was written, and convert from the first tensor.
  const startOver = async () => {
    await store.deleteModel(spec.modelKey, dtype); // the saved state lives in the model's record, so it goes too
    return convert(spec, source, dtype, deps, options, attempt + 1);
  };
  // A source that read back differently: nothing converted from it (nor the check's state) can be trusted. Refetched once.
  const discardMismatch = async (error: SourceMismatchError) => {
    if (attempt === 0) return startOver();
    await store.deleteModel(spec.modelKey, dtype);
    throw error;
  };
  let manifest;
  try {
    manifest = await convertCheckpoint(reader, writer, {
      dtypes: [dtype],
      sourceId,
      maxExternalChunkBytes: DEFAULT_EXTERNAL_CHUNK_BYTES,
      blockBytes: deps.blockBytes,
      resumeFrom,
      signal,
      onCheckpoint: async (state) => {
        latest = state;
        latestSaved = false;
        if (performance.now() - lastSave >= interval || state.done === state.total) await save(state);
      },
      onProgress: (event) => {
        if (event.kind !== 'tensor') return;
        // Progress counts a tensor's own bytes (requests also carry headers and small files).
        tensorsDone = event.done;
        fetchedBefore = fetchedThrough(event.done);
        fetchedNow = 0;
        emit(true); // a few hundred tensors: each one is shown
      },
    });
  } catch (error) {
    if (error instanceof SourceMismatchError) return discardMismatch(error);
    // Keep the work up to the last finished tensor (bytes written past it are dropped first).
    if (latest && !latestSaved && signal?.reason !== 'cancel') await save(latest).catch(() => undefined);
    if (error instanceof ConversionError && (error.code === 'stale-state' || error.code === 'cannot-resume') && attempt === 0) return startOver();
    throw error;
  }
  // The bytes no tensor needed still count for the files' digests: every file must match before the model is complete.
  try {
    for (const source of verified.values()) await source.finish();
  } catch (error) {
    if (error instanceof SourceMismatchError) return discardMismatch(error);
    throw error;
  }

  // Cancelled as the last tensor finished: still cancelled (ensureConverted deletes it).
  if (signal?.reason === 'cancel') signal.throwIfAborted();
  // The external data was written without a known hash: read it back once against the converter's.
  try {
    for (const file of manifest) if (layout.outputSizes.has(file.path)) await store.verifyWrittenFile(spec.modelKey, file.path, file.sha256);
  } catch (error) {
    // A file that read back wrong was deleted, so the saved state (all tensors done) can no
    // longer resume: start over once, as for a stale state, rather than fail every later load.
    if (!(error instanceof StoreError) || attempt > 0) throw error;
    return startOver();
  }
  const sizes = new Map(manifest.map((f) => [f.path, f.size]));
  const configSize = (await store.fileStatus(spec.modelKey, 'config.json'))?.record.size ?? 0;
  await store.putModel({
    ...base,
    label: spec.label,
    source: spec.source,
    revision: checkpoint.sha,
    files: layout.files,
    totalBytes: layout.files.reduce((sum, p) => sum + (p === 'config.json' ? configSize : (sizes.get(p) ?? 0)), 0),
  });
  await store.saveConversion(spec.modelKey, dtype, null);
  if (!(await store.markCompleteIfStored(spec.modelKey, dtype))) {
    throw new StoreError('file-missing', 'The converted model is not complete (another tab may have deleted it).');
  }
  options.onProgress?.(progress('done'));
  return { ...base, outcome: 'complete', downloadedBytes: fetchedTotal, repairedChunks: 0, completedNow: true };
}
