/** The storage feature's part of the app store: the last operation's outcome and an import in progress. */
import type { StateCreator } from 'zustand';
import type { StorageEstimateBytes } from '../db/storage-manager.ts';
import type { DownloadProgress, ImportResult } from '../worker/protocol.ts';
import type { ErrorValue } from '../lib/errors.ts';

export interface StorageSlice {
  /** navigator.storage.estimate(), refreshed when the panel opens and after each change. */
  storageEstimate: StorageEstimateBytes | null;
  storagePersisted: boolean | null;
  /** Bytes the last deletion freed. */
  storageFreed: number | null;
  importProgress: DownloadProgress | null;
  importResult: (ImportResult & { label: string }) | null;
  storageError: ErrorValue | null;
}

export const createStorageSlice: StateCreator<StorageSlice> = () => ({
  storageEstimate: null,
  storagePersisted: null,
  storageFreed: null,
  importProgress: null,
  importResult: null,
  storageError: null,
});
