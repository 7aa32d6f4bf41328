/**
 * The model's ONNX session, created by the engine from the files it reads itself: the graph (with
 * the long-context patch applied) and its external data, handed to ONNX Runtime as a Blob of the
 * stored chunks under the JSPI build (ort-runtime.ts: ONNX Runtime then reads each initializer's
 * slice into place, and the weights are never whole in JS memory) or as one preallocated buffer
 * filled chunk by chunk otherwise.
 *
 * Integrity: every stored chunk is checked against the SHA-256 recorded when it was downloaded.
 * On the bytes path the check runs on the bytes as they are placed; on the Blob path ONNX Runtime
 * reads the chunks itself, so a second reader checks them while the session is created, and the
 * load only succeeds once both are done. A chunk that fails is dropped from the store (the page
 * fetches it again) and the load fails with 'model-corrupt': the session built on it is released
 * before anyone runs it.
 */
import type { InferenceSession } from 'onnxruntime-web';
import type { ModelStore } from '../db/model-store.ts';
import { StoreError } from '../db/stored-file.ts';
import { sha256Hex } from '../lib/digests.ts';
import { AppError } from '../lib/errors.ts';
import type { ModelSource } from '../model/catalog.ts';
import { readNodeOpTypes } from '../model/onnx-initializers.ts';
import { describeDecoder, type DecoderIo } from './decoder-io.ts';
import { ort } from './ort-runtime.ts';

/** External data as ONNX Runtime takes it: the file name the graph refers to, and its bytes. */
export interface ExternalData {
  path: string;
  data: Blob | Uint8Array;
}

/** Where a load reads a model's files from. */
export interface ModelFileReader {
  /** A whole (small) file, checked. */
  bytes(path: string): Promise<Uint8Array>;
  /** An external-data file, as a Blob (no byte read here) or as bytes; `checked` settles once every byte was verified. */
  data(path: string, as: 'blob' | 'bytes'): Promise<{ data: Blob | Uint8Array; checked: Promise<void> }>;
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * A Blob whose streams have no byte source, so nobody can take a BYOB reader on them. In Chromium
 * (156), a BYOB read of a Blob backed by IndexedDB now and then never settles, or fails with
 * "network error", while default readers and arrayBuffer() of the same Blobs do not (a stress
 * loop of ONNX Runtime's read pattern over stored chunks: BYOB failed within 1-63 rounds,
 * default readers ran 117 rounds without one). ONNX Runtime's JSPI loader reads each
 * initializer with `blob.slice(a, b).stream()` and a BYOB reader where the stream allows one,
 * else a default reader: given this Blob, it takes the default one. Slices stay this class.
 */
export class NoByobBlob extends Blob {
  override slice(start?: number, end?: number, contentType?: string): NoByobBlob {
    return new NoByobBlob([super.slice(start, end, contentType)]);
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    // An identity TransformStream's readable is a default (non-byte) stream.
    return super.stream().pipeThrough(new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>());
  }
}

/** Fills `target` from `blob` at `offset`, with a default reader (see NoByobBlob for why not BYOB). */
export async function readBlobInto(blob: Blob, target: Uint8Array, offset: number): Promise<void> {
  const reader = blob.stream().getReader();
  let filled = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (filled + value.byteLength > blob.size) break;
    target.set(value, offset + filled);
    filled += value.byteLength;
  }
  if (filled !== blob.size) throw new StoreError('chunk-corrupt', `A stored chunk held ${filled} bytes where ${blob.size} were expected.`);
}

/** Reads a model's files from the store (with per-load overrides: the long-context config and graph). */
export function storeReader(store: ModelStore, modelKey: string, overrides: ReadonlyMap<string, Uint8Array> = new Map()): ModelFileReader {
  /** A store failure as the load reports it: a dropped corrupt chunk is fetched again by the page. */
  const missing = (path: string, error: unknown) => {
    if (!(error instanceof StoreError)) return error;
    if (error.code === 'chunk-corrupt') return new AppError('model-corrupt', error.message, { file: path });
    return new AppError('model-files-missing', `Not in the model store: ${path}.`, { file: path });
  };
  const corrupt = async (path: string, index: number, why: string) => {
    await store.dropChunk(modelKey, path, index);
    return new AppError('model-corrupt', `Stored chunk ${index} of ${path} ${why}; it was dropped and will be downloaded again.`, { file: path });
  };
  return {
    async bytes(path) {
      const override = overrides.get(path);
      if (override) return override;
      try {
        return await store.readFileBytes(modelKey, path);
      } catch (error) {
        throw missing(path, error);
      }
    },
    async data(path, as) {
      let file;
      try {
        file = await store.readableFile(modelKey, path);
      } catch (error) {
        throw missing(path, error);
      }
      const { record, chunks } = file;
      const check = async (index: number, bytes: Uint8Array) => {
        if ((await sha256Hex(bytes)) !== record.chunkSha256[index]) throw await corrupt(path, index, 'does not match its digest');
      };
      const readable = async <T>(index: number, read: () => Promise<T>): Promise<T> => {
        try {
          return await read();
        } catch (error) {
          if (error instanceof AppError) throw error;
          // The blob's backing file is gone or unreadable (NotReadableError).
          throw await corrupt(path, index, `could not be read (${error instanceof Error ? error.name : String(error)})`);
        }
      };
      if (as === 'blob') {
        const checked = (async () => {
          for (const chunk of chunks) await check(chunk.index, await readable(chunk.index, async () => new Uint8Array(await chunk.data.arrayBuffer())));
        })();
        checked.catch(() => undefined); // observed by the caller
        return { data: new NoByobBlob(chunks.map((c) => c.data)), checked };
      }
      const target = new Uint8Array(record.size);
      const digests: Promise<void>[] = [];
      for (const chunk of chunks) {
        const offset = chunk.index * record.chunkSize;
        await readable(chunk.index, () => readBlobInto(chunk.data, target, offset));
        // digest() copies its input before it returns: the buffer can be read on at once.
        digests.push(check(chunk.index, target.subarray(offset, offset + chunk.size)));
      }
      await Promise.all(digests);
      return { data: target, checked: Promise.resolve() };
    },
  };
}

/** The benchmark's baseline: the same files through the Cache API (fetched and kept on a miss, as transformers.js does). */
export function cacheApiReader(source: ModelSource): ModelFileReader {
  const url = (path: string) => {
    switch (source.kind) {
      case 'url':
        return new URL(path, source.baseUrl.endsWith('/') ? source.baseUrl : `${source.baseUrl}/`).href;
      case 'hf':
        return `https://huggingface.co/${source.repo}/resolve/${source.revision ?? 'main'}/${path}`;
      default:
        throw new AppError('model-files-missing', `A ${source.kind} model has no source the Cache API path can fetch.`);
    }
  };
  const response = async (path: string): Promise<Response> => {
    const cache = await caches.open('transformers-cache');
    const cached = await cache.match(url(path));
    if (cached) return cached;
    const fetched = await fetch(url(path));
    if (!fetched.ok) throw new AppError('model-files-missing', `${url(path)}: HTTP ${fetched.status}.`, { file: path });
    await cache.put(url(path), fetched.clone());
    return fetched;
  };
  return {
    bytes: async (path) => new Uint8Array(await (await response(path)).arrayBuffer()),
    async data(path, as) {
      const r = await response(path);
      return { data: as === 'blob' ? new NoByobBlob([await r.blob()]) : new Uint8Array(await r.arrayBuffer()), checked: Promise.resolve() };
    },
  };
}

export interface DecoderSessionSpec {
  reader: ModelFileReader;
  /** The graph's path and its external-data files' paths (model-files.ts graphFiles). */
  files: string[];
  gpuDevice: GPUDevice | null;
  /** Where external data goes in as a Blob (the JSPI build) or as bytes. */
  dataAs: 'blob' | 'bytes';
}

export interface CreatedSession {
  session: InferenceSession;
  io: DecoderIo;
  /** From the call until ONNX Runtime's session existed, and until every stored chunk it read was checked (they overlap). */
  createdMs: number;
  verifiedMs: number;
}

/**
 * Storage buffers onnxruntime's WebGPU fusions of an RMSNorm with the q/k/v or gate/up MatMulNBits
 * reading it (MatMulNBitsQkv / MatMulNBitsMlp) bind in one shader; the fusion pass does not check
 * the device's limit, and WebGPU's default is 8. Measured: they run under 10 (SwiftShader's limit).
 */
export const FUSED_MATMUL_STORAGE_BUFFERS = 10;

/**
 * The graph optimizations a session on `device` may use: all of them, unless the device binds too
 * few storage buffers for the fused kernels; then the basic ones only (no fusions: the graph's own
 * ops run as written, one kernel more per fused group).
 */
export function graphOptimizationLevel(device: Pick<GPUDevice, 'limits'> | null): 'all' | 'basic' {
  return device && device.limits.maxStorageBuffersPerShaderStage < FUSED_MATMUL_STORAGE_BUFFERS ? 'basic' : 'all';
}

/** Creates the session and describes its I/O; fails (and releases it) if a chunk it read was corrupt. */
export async function createDecoderSession(spec: DecoderSessionSpec): Promise<CreatedSession> {
  const started = performance.now();
  const [graphPath, ...dataPaths] = spec.files;
  const graph = await spec.reader.bytes(graphPath);
  const data = await Promise.all(dataPaths.map((path) => spec.reader.data(path, spec.dataAs)));
  const externalData: ExternalData[] = data.map((d, i) => ({ path: baseName(dataPaths[i]), data: d.data }));
  const options: InferenceSession.SessionOptions = {
    executionProviders: spec.gpuDevice ? [{ name: 'webgpu', device: spec.gpuDevice } as InferenceSession.ExecutionProviderConfig] : ['wasm'],
    ...(externalData.length ? { externalData } : {}),
    // Outputs stay where they are made: the KV cache and the logits are read on the GPU (or
    // downloaded once, when a token must be sampled on the CPU).
    ...(spec.gpuDevice ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
    graphOptimizationLevel: graphOptimizationLevel(spec.gpuDevice),
    logSeverityLevel: 3,
  };
  const session = await ort().InferenceSession.create(graph, options);
  const createdMs = performance.now() - started;
  try {
    await Promise.all(data.map((d) => d.checked));
    return { session, io: describeDecoder(session, readNodeOpTypes(graph)), createdMs, verifiedMs: performance.now() - started };
  } catch (error) {
    await session.release();
    throw error;
  }
}
