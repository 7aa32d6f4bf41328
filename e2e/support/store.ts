/**
 * Reads and edits the app's model store (IndexedDB "hanmadi", tables of src/db/app-db.ts) from
 * a test, through the page's own IndexedDB API — the way a damaged disk or another program would.
 */
import type { Page } from '@playwright/test';

export interface StoredFileState {
  size: number;
  storedBytes: number;
  hashedChunks: number;
  chunkSize: number;
  verified?: string;
}

type Op =
  | { op: 'file'; modelKey: string; path: string }
  | { op: 'rows'; modelKey: string }
  | { op: 'corrupt'; modelKey: string; path: string; index: number };

/** One self-contained function (it runs in the page) for every operation. */
function run<T>(page: Page, arg: Op): Promise<T> {
  return page.evaluate(async (arg) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('hanmadi');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const done = <R,>(request: IDBRequest<R>) =>
      new Promise<R>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    try {
      if (arg.op === 'file') {
        const record = await done(db.transaction('modelFiles').objectStore('modelFiles').get([arg.modelKey, arg.path]));
        return record ? { size: record.size, storedBytes: record.storedBytes, hashedChunks: record.hashedChunks, chunkSize: record.chunkSize, verified: record.verified } : null;
      }
      if (arg.op === 'rows') {
        const tx = db.transaction(['storedModels', 'modelFiles', 'modelChunks']);
        const range = IDBKeyRange.bound([arg.modelKey], [arg.modelKey, []]);
        return {
          models: await done(tx.objectStore('storedModels').count(range)),
          files: await done(tx.objectStore('modelFiles').count(range)),
          chunks: await done(tx.objectStore('modelChunks').count(range)),
        };
      }
      const chunk = await done(db.transaction('modelChunks').objectStore('modelChunks').get([arg.modelKey, arg.path, arg.index]));
      const bytes = new Uint8Array(await (chunk.data as Blob).arrayBuffer());
      bytes[bytes.length >> 1] ^= 0xff;
      await done(db.transaction('modelChunks', 'readwrite').objectStore('modelChunks').put({ ...chunk, data: new Blob([bytes]) }));
      return bytes.length;
    } finally {
      db.close();
    }
  }, arg) as Promise<T>;
}

export function storedFile(page: Page, modelKey: string, path: string): Promise<StoredFileState | null> {
  return run(page, { op: 'file', modelKey, path });
}

/** Rows of a model in each store table. */
export function storedRows(page: Page, modelKey: string): Promise<{ models: number; files: number; chunks: number }> {
  return run(page, { op: 'rows', modelKey });
}

/** Flips one byte in the middle of a stored chunk (same size: only its digest can tell); returns the chunk's size. */
export function corruptChunk(page: Page, modelKey: string, path: string, index: number): Promise<number> {
  return run(page, { op: 'corrupt', modelKey, path, index });
}

/**
 * The origin's usage once the service worker is installed: its precache (the app shell and
 * ONNX Runtime's ~27 MB WASM) is written during the first visit and would otherwise land inside
 * whatever a test measures.
 */
export async function storageUsage(page: Page): Promise<number> {
  return page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    return (await navigator.storage.estimate()).usage ?? 0;
  });
}
