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
  | { op: 'digests'; modelKey: string }
  | { op: 'model'; modelKey: string; dtype: string }
  | { op: 'add-user-model'; record: Record<string, unknown> }
  | { op: 'add-stored-model'; record: Record<string, unknown> }
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
    const done = <R>(request: IDBRequest<R>) =>
      new Promise<R>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    try {
      if (arg.op === 'file') {
        const record = await done(db.transaction('modelFiles').objectStore('modelFiles').get([arg.modelKey, arg.path]));
        return record
          ? { size: record.size, storedBytes: record.storedBytes, hashedChunks: record.hashedChunks, chunkSize: record.chunkSize, verified: record.verified }
          : null;
      }
      if (arg.op === 'digests') {
        // Every stored file of the model: its chunks in order, hashed here (only digests leave the page).
        const range = IDBKeyRange.bound([arg.modelKey], [arg.modelKey, []]);
        const files = (await done(db.transaction('modelFiles').objectStore('modelFiles').getAll(range))) as { path: string }[];
        const out: Record<string, string> = {};
        for (const { path } of files) {
          const chunks = (await done(
            db
              .transaction('modelChunks')
              .objectStore('modelChunks')
              .getAll(IDBKeyRange.bound([arg.modelKey, path, -Infinity], [arg.modelKey, path, Infinity])),
          )) as { data: Blob }[];
          const bytes = await new Blob(chunks.map((c) => c.data)).arrayBuffer();
          out[path] = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
        }
        return out;
      }
      if (arg.op === 'model') return (await done(db.transaction('storedModels').objectStore('storedModels').get([arg.modelKey, arg.dtype]))) ?? null;
      if (arg.op === 'add-user-model') return await done(db.transaction('userModels', 'readwrite').objectStore('userModels').put(arg.record));
      if (arg.op === 'add-stored-model') return await done(db.transaction('storedModels', 'readwrite').objectStore('storedModels').put(arg.record));
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
      await done(
        db
          .transaction('modelChunks', 'readwrite')
          .objectStore('modelChunks')
          .put({ ...chunk, data: new Blob([bytes]) }),
      );
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

/** SHA-256 (hex) of every file stored under a model key, read back from IndexedDB. */
export function storedDigests(page: Page, modelKey: string): Promise<Record<string, string>> {
  return run(page, { op: 'digests', modelKey });
}

/** A stored model record (with an unfinished conversion's state), or null. */
export function storedModel(
  page: Page,
  modelKey: string,
  dtype: string,
): Promise<{ status: string; revision?: string; files: string[]; conversion?: { sourceId: string; state: { done: number; total: number } } } | null> {
  return run(page, { op: 'model', modelKey, dtype });
}

/** Puts an entry in the model picker as a catalog entry would be (the userModels table, read live by the app). */
export function addUserModelRecord(
  page: Page,
  record: { id: string; label: string; source: Record<string, string>; dtypes: Record<string, number | null> },
): Promise<unknown> {
  return run(page, { op: 'add-user-model', record: { nativeContext: 0, addedAt: Date.now(), ...record } });
}

/**
 * A row of the storage manager without downloading anything: a stored-model record with no files
 * (the app reads it live; a "complete" one lists as stored, a "partial" one at 0%).
 */
export function addStoredModelRecord(
  page: Page,
  record: { modelKey: string; dtype: string; label: string; totalBytes: number; status: 'partial' | 'complete' },
): Promise<unknown> {
  const now = Date.now();
  return run(page, {
    op: 'add-stored-model',
    record: { source: { kind: 'url', baseUrl: 'models/local/none/' }, files: [], createdAt: now, lastUsedAt: now, ...record },
  });
}
