/**
 * The main-thread facade of the store worker (downloads, imports, deletions of stored models).
 * Reading what is stored needs no worker: the UI reads Dexie directly (useLiveQuery), which also
 * shows what other tabs store.
 */
import type { DownloadProgress, ImportFolderRequest, StoredModelSpec, StoreMessage, StoreRequest, StoreResultMap } from './protocol.ts';
import { RpcClient } from './rpc-client.ts';

type RequestBody = StoreRequest extends infer R ? (R extends StoreRequest ? Omit<R, 'id'> : never) : never;

export class StoreClient extends RpcClient<StoreRequest, StoreMessage> {
  static create(): StoreClient {
    return new StoreClient(new Worker(new URL('./store.worker.ts', import.meta.url), { type: 'module', name: 'hanmadi-store' }));
  }

  /** Downloads (or converts) what is missing of a precision; `id` can be given to pause or cancel it. */
  ensure(
    model: StoredModelSpec,
    onProgress: (progress: DownloadProgress) => void,
    options: { id?: string; hubUrl?: string } = {},
  ): { id: string; result: Promise<StoreResultMap['ensure']> } {
    const id = options.id ?? crypto.randomUUID();
    const result = this.request({ type: 'ensure', model, ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}) }, id, (message) => {
      if (message.type === 'download-progress') onProgress(message.progress);
    });
    return { id, result };
  }

  stopDownload(target: string, mode: 'pause' | 'cancel'): Promise<StoreResultMap['stop-download']> {
    return this.request({ type: 'stop-download', target, mode });
  }

  deleteModel(modelKey: string, dtype: StoredModelSpec['dtype']): Promise<StoreResultMap['delete-model']> {
    return this.request({ type: 'delete-model', modelKey, dtype });
  }

  deleteAll(): Promise<StoreResultMap['delete-all']> {
    return this.request({ type: 'delete-all' });
  }

  importFolder(request: Omit<ImportFolderRequest, 'type' | 'id'>, onProgress: (progress: DownloadProgress) => void): Promise<StoreResultMap['import-folder']> {
    return this.request({ type: 'import-folder', ...request }, crypto.randomUUID(), (message) => {
      if (message.type === 'download-progress') onProgress(message.progress);
    });
  }

  /** What a Hugging Face repo offers (probe-repo.ts); rejects with the Hub's typed error. */
  probeRepo(repo: string, revision: string | undefined, hubUrl: string): Promise<StoreResultMap['probe-repo']> {
    return this.request({ type: 'probe-repo', repo, hubUrl, ...(revision ? { revision } : {}) });
  }

  private request<K extends keyof StoreResultMap>(
    body: Extract<RequestBody, { type: K }>,
    id: string = crypto.randomUUID(),
    onEvent?: (message: StoreMessage) => void,
  ): Promise<StoreResultMap[K]> {
    return this.send<StoreResultMap[K]>({ ...body, id } as StoreRequest, onEvent);
  }
}

let sharedClient: StoreClient | null = null;

export function storeClient(): StoreClient {
  sharedClient ??= StoreClient.create();
  return sharedClient;
}
