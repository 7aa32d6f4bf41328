/**
 * Serves the storage half of the protocol inside the store worker: downloads (one per model
 * precision at a time, pausable and cancellable), folder imports and deletions. Each request is
 * answered with exactly one `result` or `error`; progress events are posted as they happen. Add
 * model's Hub probe runs here too (probe-repo.ts).
 *
 * Why a worker of its own rather than the LLM worker: a download goes on while a model is loaded
 * and generating (and is never stalled by ONNX Runtime's synchronous session setup), and the
 * storage manager downloads, imports and deletes without loading transformers.js at all. An
 * in-browser conversion (hf-conversion.ts) is a download that writes converted bytes, so it runs
 * here too, with the same store, locks, quota check, progress, pause and cancel; its quantization
 * yields between row blocks, so pause and cancel still get through.
 */
import type { ModelStore } from '../db/model-store.ts';
import { ensureStored } from './downloader.ts';
import { AppError, storageErrorOf } from '../lib/errors.ts';
import { ensureConverted, type ConversionDeps } from './hf-conversion.ts';
import { importFolder } from './import-folder.ts';
import { probeRepo } from './probe-repo.ts';
import { holdModelShared, withModelExclusive } from './model-locks.ts';
import type { StoreMessage, StoreRequest, StoreResultMap } from './protocol.ts';

export function createStoreHandler(deps: ConversionDeps & { store: ModelStore }, post: (message: StoreMessage) => void): (request: StoreRequest) => void {
  const { store } = deps;
  const running = new Map<string, { controller: AbortController; modelKey: string; dtype: string; done: Promise<unknown> }>();

  const answer = async <K extends keyof StoreResultMap>(request: K, id: string, task: () => Promise<StoreResultMap[K]>) => {
    try {
      post({ type: 'result', id, request, result: await task() } as StoreMessage);
    } catch (error) {
      post({ type: 'error', id, error: storageErrorOf(error).toValue() });
    }
  };

  /** Stops this tab's downloads of a model (cancelled: their partial data goes too) and waits for them. */
  const stopDownloadsOf = async (modelKey: string, dtype?: string) => {
    const stopping = [...running.values()].filter((r) => r.modelKey === modelKey && (dtype === undefined || r.dtype === dtype));
    for (const r of stopping) r.controller.abort('cancel');
    await Promise.allSettled(stopping.map((r) => r.done));
  };

  return (request) => {
    switch (request.type) {
      case 'ensure': {
        const { model } = request;
        const controller = new AbortController();
        const task = async () => {
          if ([...running.values()].some((r) => r.modelKey === model.modelKey && r.dtype === model.dtype)) {
            throw new AppError('storage-busy', `${model.label} (${model.dtype}) is already downloading.`);
          }
          const done = (async () => {
            const release = await holdModelShared(model.modelKey);
            try {
              // A safetensors checkpoint is converted into the store here too, on first download.
              const ensure = model.source.kind === 'hf-safetensors' ? ensureConverted : ensureStored;
              return await ensure(
                model,
                { ...deps, hubHost: request.hubUrl ?? deps.hubHost },
                { signal: controller.signal, onProgress: (progress) => post({ type: 'download-progress', id: request.id, progress }) },
              );
            } finally {
              release();
            }
          })();
          running.set(request.id, { controller, modelKey: model.modelKey, dtype: model.dtype, done });
          try {
            return await done;
          } finally {
            running.delete(request.id);
          }
        };
        return void answer('ensure', request.id, task);
      }
      case 'stop-download':
        return void answer('stop-download', request.id, async () => {
          const target = running.get(request.target);
          if (!target) return { stopped: false };
          target.controller.abort(request.mode);
          await target.done.catch(() => undefined);
          return { stopped: true };
        });
      case 'delete-model':
        return void answer('delete-model', request.id, async () => {
          await stopDownloadsOf(request.modelKey, request.dtype);
          return { freedBytes: await withModelExclusive(request.modelKey, () => store.deleteModel(request.modelKey, request.dtype)) };
        });
      case 'delete-all':
        return void answer('delete-all', request.id, async () => {
          let freedBytes = 0;
          for (const model of await store.listModels()) {
            await stopDownloadsOf(model.modelKey);
            freedBytes += await withModelExclusive(model.modelKey, () => store.deleteModel(model.modelKey, model.dtype));
          }
          return { freedBytes: freedBytes + (await store.deleteOrphans()) };
        });
      case 'import-folder':
        return void answer('import-folder', request.id, () =>
          withModelExclusive(request.modelKey, () =>
            importFolder(store, request.files, {
              modelKey: request.modelKey,
              label: request.label,
              folder: request.label,
              estimate: deps.estimate,
              onProgress: (progress) => post({ type: 'download-progress', id: request.id, progress }),
            }),
          ),
        );
      case 'probe-repo':
        return void answer('probe-repo', request.id, () =>
          probeRepo(request.repo, request.revision, { host: request.hubUrl, fetch: deps.fetch, maxAttempts: 2 }),
        );
    }
  };
}
