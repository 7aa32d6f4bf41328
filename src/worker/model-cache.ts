/**
 * transformers.js reads model files only through the Dexie store.
 *
 * transformers.js 4.3.1 (utils/hub.js) looks a file up in its cache under two keys — the local
 * path (`env.localModelPath` + model + file) first, then the remote URL
 * (`env.remoteHost` + `env.remotePathTemplate` + file) — and fetches the remote URL with
 * `env.fetch` only on a miss; get_file_metadata.js (progress totals, tokenizer detection) asks the
 * same cache first and reads `content-length` from the answer; backends/utils/cacheWasm.js puts
 * and matches the ONNX Runtime .wasm/.mjs under their own URLs. So:
 * - models are opened under a virtual host no request can reach (`.invalid`, RFC 6761), with a
 *   fresh model path per load (transformers.js memoizes configs and metadata by model id and
 *   revision, so a later load with other overrides never sees a stale answer);
 * - `env.customCache` answers those URLs from the store (per-load overrides first: derived bytes
 *   served without being stored, e.g. a long-context config), and nothing else: the ORT runtime
 *   files are app assets, fetched from our origin (and precached by the service worker), never
 *   written to the Cache API or IndexedDB by transformers.js;
 * - `env.fetch` answers 404 for the virtual host, so a file the store lacks is a clear
 *   'model-files-missing' error (with the path), never a silent network download.
 *
 * A stored file is served as a stream of its chunk blobs; each chunk's bytes are checked against
 * the digest recorded when it was downloaded as they pass (crypto.subtle runs off the JS thread,
 * and the bytes are read for transformers.js anyway: no second pass, no full-file copy beside
 * the one transformers.js makes). A mismatch or an unreadable blob drops that chunk from the
 * store and fails the load with 'model-corrupt' through `OpenedModel.failure`; the app then
 * fetches the chunk again. The stream itself then stalls instead of erroring: transformers.js
 * 4.3.1 reads external data inside `new Promise(async (resolve) => …)` (model-loader.js), where a
 * read error becomes an unhandled rejection and a load that never settles — so the engine races
 * the load against `failure` and no wrong byte is ever delivered.
 */
import { env } from '@huggingface/transformers';
import { modelStore, type ModelStore } from '../db/model-store.ts';
import { StoreError } from '../db/stored-file.ts';
import { sha256Hex } from '../lib/digests.ts';
import type { ModelSource } from '../model/catalog.ts';
import { AppError } from '../lib/errors.ts';

export const MODEL_HOST = 'https://models.hanmadi.invalid/';
const PATH_TEMPLATE = '{model}/resolve/{revision}/';
const MODEL_KEY_PATTERN = /^(hanmadi\/m-[0-9a-z]+)\/resolve\/[^/]+\/(.+)$/;

/** transformers.js's cache contract (utils/cache.js CacheInterface). */
export interface TransformersCache {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
}

interface OpenModel {
  modelKey: string;
  overrides: ReadonlyMap<string, Uint8Array>;
  /** Files transformers.js asked for that the store does not have. */
  misses: Set<string>;
  corrupt: AppError | null;
  fail(error: AppError): void;
}

const openModels = new Map<string, OpenModel>();
let loadCounter = 0;

export interface OpenedModel {
  /** What to pass to `from_pretrained`. */
  modelPath: string;
  /** Rejects with 'model-corrupt' when a stored chunk turns out corrupt or unreadable during the load. */
  failure: Promise<never>;
  /** The error that explains a failed load (a missing or corrupt stored file), or `error` itself. */
  explain(error: unknown): unknown;
  close(): void;
}

export interface OpenOptions {
  /** Bytes served instead of the stored file for these paths (derived per load, never stored). */
  overrides?: ReadonlyMap<string, Uint8Array>;
}

/** Makes a stored model readable by transformers.js for one load. */
export function openStoredModel(modelKey: string, options: OpenOptions = {}): OpenedModel {
  const modelPath = `hanmadi/m-${(++loadCounter).toString(36)}${Date.now().toString(36)}`;
  let fail!: (error: AppError) => void;
  const failure = new Promise<never>((_, reject) => (fail = reject));
  failure.catch(() => undefined); // observed through explain() when nobody races it
  const model: OpenModel = { modelKey, overrides: options.overrides ?? new Map(), misses: new Set(), corrupt: null, fail };
  openModels.set(modelPath, model);
  return {
    modelPath,
    failure,
    explain(error) {
      if (model.corrupt) return model.corrupt;
      if (error instanceof AppError) return error;
      if (model.misses.size)
        return new AppError('model-files-missing', `Not in the model store: ${[...model.misses].join(', ')}.`, { file: [...model.misses][0] });
      return error;
    },
    close() {
      openModels.delete(modelPath);
    },
  };
}

function lookup(request: string): { model: OpenModel; path: string } | null {
  if (!request.startsWith(MODEL_HOST)) return null;
  const match = MODEL_KEY_PATTERN.exec(request.slice(MODEL_HOST.length));
  const model = match ? openModels.get(match[1]) : undefined;
  return model ? { model, path: decodeURIComponent(match![2]) } : null;
}

const headersFor = (size: number) => ({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });

/** A stored file as a Response whose body streams its chunks, each checked against its digest. */
async function storedResponse(store: ModelStore, model: OpenModel, path: string): Promise<Response | undefined> {
  let file;
  try {
    file = await store.readableFile(model.modelKey, path);
  } catch (error) {
    if (error instanceof StoreError) {
      model.misses.add(path);
      return undefined;
    }
    throw error;
  }
  const { record, chunks } = file;
  let next = 0;
  const digests: Promise<void>[] = [];
  const corrupt = async (index: number, why: string): Promise<void> => {
    await store.dropChunk(model.modelKey, path, index);
    model.corrupt ??= new AppError('model-corrupt', `Stored chunk ${index} of ${path} ${why}; it was dropped and will be downloaded again.`, { file: path });
    model.fail(model.corrupt);
  };
  const stall = () => new Promise<void>(() => {});
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (model.corrupt) return stall();
        if (next === chunks.length) {
          await Promise.all(digests);
          return model.corrupt ? stall() : controller.close();
        }
        const chunk = chunks[next++];
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(await chunk.data.arrayBuffer());
        } catch (error) {
          // The blob's backing file is gone or unreadable (NotReadableError).
          await corrupt(chunk.index, `could not be read (${error instanceof Error ? error.name : String(error)})`);
          return stall();
        }
        // digest() copies its input before returning, so the bytes can go on at once.
        digests.push(
          sha256Hex(bytes).then(async (digest) => {
            if (digest !== record.chunkSha256[chunk.index]) await corrupt(chunk.index, 'does not match its digest');
          }),
        );
        controller.enqueue(bytes);
      },
    },
    // No read-ahead: get_file_metadata only looks at the headers, and must not cost a chunk read.
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: headersFor(record.size) });
}

/** The object transformers.js gets as `env.customCache`. */
export function createModelCache(store: ModelStore = modelStore): TransformersCache {
  return {
    async match(request) {
      const found = lookup(request);
      if (!found) return undefined;
      const override = found.model.overrides.get(found.path);
      if (override) return new Response(override as Uint8Array<ArrayBuffer>, { headers: headersFor(override.length) });
      return storedResponse(store, found.model, found.path);
    },
    async put(request, response) {
      // Model files enter the store only through the downloader, verified; with the fetch guard
      // below transformers.js never fetches one. Other keys (the ORT runtime) are not ours to keep.
      const found = lookup(request);
      if (!found) return;
      const bytes = new Uint8Array(await response.arrayBuffer());
      const writer = await store.openWriter(found.model.modelKey, found.path, { size: bytes.length });
      await writer.write(bytes);
      await writer.finish();
    },
    async delete(request) {
      const found = lookup(request);
      if (!found) return false;
      return (await store.deleteFile(found.model.modelKey, found.path)) > 0;
    },
  };
}

type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** `env.fetch` that never lets a request for the virtual model host leave: a 404 instead. */
export function guardFetch(inner: Fetch): Fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input.href;
    if (url.startsWith(MODEL_HOST)) {
      const found = lookup(url);
      found?.model.misses.add(found.path);
      return Promise.resolve(new Response(null, { status: 404, statusText: 'Not in the model store' }));
    }
    return inner(input, init);
  };
}

const storeCache = createModelCache();

/** transformers.js reads models from the store only (the app's mode; tests pass their own store's cache). */
export function readModelsFromStore(cache = storeCache): void {
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = MODEL_HOST;
  env.remotePathTemplate = PATH_TEMPLATE;
  env.useBrowserCache = false;
  env.useFSCache = false;
  env.useCustomCache = true;
  env.customCache = cache;
}

/**
 * The benchmark's baseline: transformers.js's defaults — fetch the source and keep it in the
 * Cache API — for the same files. A folder URL is presented as a hub whose path template is that
 * folder. Never used by the app.
 */
export function readModelsThroughCacheApi(modelId: string, source: ModelSource): { modelPath: string; options: { revision?: string } } {
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.useCustomCache = false;
  env.customCache = null;
  env.useBrowserCache = true;
  switch (source.kind) {
    case 'url': {
      const url = new URL(source.baseUrl);
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      env.remoteHost = `${url.origin}/`;
      env.remotePathTemplate = url.pathname.slice(1);
      return {
        modelPath: `hanmadi/${
          modelId
            .replace(/[^A-Za-z0-9_.]+/g, '-')
            .replace(/^[-.]+|[-.]+$/g, '')
            .slice(0, 90) || 'model'
        }`,
        options: {},
      };
    }
    case 'hf':
      env.remoteHost = 'https://huggingface.co/';
      env.remotePathTemplate = PATH_TEMPLATE;
      return { modelPath: source.repo, options: { revision: source.revision } };
    default:
      throw new AppError('model-files-missing', `A ${source.kind} model has no source the Cache API path can fetch.`);
  }
}
