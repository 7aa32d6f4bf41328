/**
 * The steps of a model load, in the order LlmEngine.load runs them: pick the device (and the
 * precision it can run), open the stored files (with the long-context patch served over them),
 * create the session (the tokenizer through transformers.js, the ONNX session ourselves:
 * model-session.ts). Warm-up belongs to the engine, which owns the generation it runs.
 */
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { modelStore } from '../db/model-store.ts';
import { AppError } from '../lib/errors.ts';
import { chooseDtype, type ModelDtype } from '../model/catalog.ts';
import { checkDeviceLimits, prepareContext, type ContextPatch } from './context-patch.ts';
import { acquireWebGpu } from './gpu.ts';
import { openStoredModel, readModelsFromStore, readModelsThroughCacheApi, type OpenedModel } from './model-cache.ts';
import { cacheApiReader, createDecoderSession, storeReader, type CreatedSession, type ModelFileReader } from './model-session.ts';
import { ortRuntimeKind } from './ort-runtime.ts';
import { graphFiles } from '../model/model-files.ts';
import { holdModelShared } from './model-locks.ts';
import type { AdapterSummary, DeviceKind, FileProgress, LoadSpec } from './protocol.ts';

export type DeviceChoice =
  | { device: 'webgpu'; gpuDevice: GPUDevice; adapter: AdapterSummary }
  | { device: 'wasm'; gpuDevice: null; adapter?: undefined; fallbackReason: string; softwareAdapter?: string };

/** WebGPU with our own device (full buffer limits, device.lost watched), or WASM with the reason. */
export async function pickDevice(spec: Pick<LoadSpec, 'device'>): Promise<DeviceChoice> {
  if (spec.device === 'wasm') return { device: 'wasm', gpuDevice: null, fallbackReason: 'chosen' };
  const gpu = await acquireWebGpu(spec.device);
  if (gpu.ok) return { device: 'webgpu', gpuDevice: gpu.device, adapter: gpu.summary };
  return { device: 'wasm', gpuDevice: null, fallbackReason: gpu.reason, ...(gpu.reason === 'software-adapter' ? { softwareAdapter: gpu.detail ?? '' } : {}) };
}

/** The precision to load: the requested one, or the best the device runs among those available. */
export function pickDtype(
  spec: Pick<LoadSpec, 'dtype' | 'availableDtypes'>,
  choice: { device: DeviceKind; adapter?: Pick<AdapterSummary, 'shaderF16'> },
): ModelDtype {
  const shaderF16 = choice.adapter?.shaderF16 ?? false;
  const available = Object.fromEntries(spec.availableDtypes.map((d) => [d, null]));
  const dtype = spec.dtype === 'auto' ? chooseDtype({ dtypes: available }, { kind: choice.device, shaderF16 }) : spec.dtype;
  if (!dtype || !spec.availableDtypes.includes(dtype)) {
    throw new AppError('load-failed', `No usable precision among ${spec.availableDtypes.join(', ') || 'none'} on ${choice.device}.`);
  }
  if (choice.device === 'webgpu' && (dtype === 'fp16' || dtype === 'q4f16') && !shaderF16) {
    throw new AppError('load-failed', `${dtype} needs the GPU feature shader-f16, which this adapter lacks; choose q4 or fp32.`);
  }
  return dtype;
}

/** Where a load reads the model: its files (the engine's session) and its tokenizer (transformers.js). */
export interface ModelFiles {
  reader: ModelFileReader;
  /** The tokenizer's location for AutoTokenizer.from_pretrained. */
  tokenizerPath: string;
  revision?: string;
  /** The store's view of this load for the tokenizer (null on the Cache API baseline). */
  stored: OpenedModel | null;
  /** The long-context patch served over the stored files (null at the native window). */
  context: ContextPatch | null;
  /** The files are read: releases the model lock (another tab may delete the model again). */
  doneReading(): void;
  /** Closes the store's view of this load (and the lock, if still held). */
  close(): void;
}

/**
 * Makes the model readable. The app reads only the store (filled by the store worker
 * beforehand), under the model's shared lock so another tab cannot delete it mid-load; the Cache
 * API path exists for the benchmark's baseline. Past the native window a YaRN-patched config and
 * graph are served over the stored originals, checked against the GPU's limits.
 */
export async function openModelFiles(spec: LoadSpec, dtype: ModelDtype, gpuDevice: GPUDevice | null): Promise<ModelFiles> {
  if (spec.files === 'cache-api') {
    const location = readModelsThroughCacheApi(spec.modelId, spec.source);
    return {
      reader: cacheApiReader(spec.source),
      tokenizerPath: location.modelPath,
      revision: location.options.revision,
      stored: null,
      context: null,
      doneReading: () => {},
      close: () => {},
    };
  }
  const release = await holdModelShared(spec.modelId);
  try {
    readModelsFromStore();
    if (!(await modelStore.markCompleteIfStored(spec.modelId, dtype))) {
      throw new AppError('model-files-missing', `${spec.modelId} (${dtype}) is not stored completely: download it first.`);
    }
    const context = await prepareContext(modelStore, spec.modelId, dtype, spec.contextLength);
    if (context && gpuDevice) checkDeviceLimits(context.config, context.window, dtype, gpuDevice.limits);
    const stored = openStoredModel(spec.modelId);
    return {
      reader: storeReader(modelStore, spec.modelId, context?.overrides),
      tokenizerPath: stored.modelPath,
      stored,
      context,
      doneReading: release,
      close: () => {
        stored.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

export interface Session extends Omit<CreatedSession, 'createdMs' | 'verifiedMs'> {
  tokenizer: PreTrainedTokenizer;
  /** The config the session was made from (the long-context one past the native window). */
  config: Record<string, unknown>;
  /** generation_config.json (Hugging Face field names; empty when the model has none). */
  generationConfig: Record<string, unknown>;
  /** From the start of the reads until the tokenizer, the session, and the check of its chunks were done (they overlap). */
  tokenizerMs: number;
  sessionMs: number;
  verifyMs: number;
}

const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

/** The tokenizer (transformers.js) and the ONNX session (ours, on our GPU device when there is one), made at once. */
export async function createSession(
  files: ModelFiles,
  choice: DeviceChoice,
  dtype: ModelDtype,
  onProgress: (progress: FileProgress) => void,
): Promise<Session> {
  const read = async (): Promise<Session> => {
    const options = files.revision ? { revision: files.revision } : {};
    const started = performance.now();
    const config = json(await files.reader.bytes('config.json'));
    const generationConfig = await files.reader.bytes('generation_config.json').then(json, () => ({}));
    const graph = graphFiles(config, dtype);
    // The tokenizer is parsed while ONNX Runtime waits on the weights' reads: both at once.
    const tokenizer = AutoTokenizer.from_pretrained(files.tokenizerPath, options).then((t) => ({ t, ms: performance.now() - started }));
    for (const file of graph) onProgress({ file, status: 'initiate', loaded: 0, total: 0 });
    const sessionStart = performance.now() - started;
    const created = createDecoderSession({
      reader: files.reader,
      files: graph,
      gpuDevice: choice.gpuDevice,
      dataAs: ortRuntimeKind() === 'jspi' ? 'blob' : 'bytes',
    });
    const [made, parsed] = await Promise.all([
      created,
      tokenizer.catch((error: unknown) => {
        // The load fails now; the session, once made, is released: nobody will run it.
        void created.then((c) => c.session.release()).catch(() => undefined);
        throw error;
      }),
    ]);
    for (const file of graph) onProgress({ file, status: 'done', loaded: 0, total: 0 });
    // The session's own timings, re-based on the start of the reads.
    const { createdMs, verifiedMs, ...decoder } = made;
    const timings = { tokenizerMs: parsed.ms, sessionMs: sessionStart + createdMs, verifyMs: sessionStart + verifiedMs };
    return { ...decoder, tokenizer: parsed.t, config, generationConfig, ...timings };
  };
  // A tokenizer file the store lacks fails the load through `failure` (see model-cache.ts).
  return files.stored ? Promise.race([read(), files.stored.failure]) : read();
}
