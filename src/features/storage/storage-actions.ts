/**
 * Storage actions: refresh what the browser reports (usage, quota, persistence), delete stored
 * models (the store worker frees their chunks; the estimate is read again to show it), and
 * import a model folder, which then appears in the model picker as an imported model.
 */
import { useAppStore } from '../../state/store.ts';
import { modelStore } from '../../db/model-store.ts';
import { isPersisted, storageEstimate } from '../../db/storage-manager.ts';
import { deleteUserModel, listUserModels, putUserModel } from '../../db/user-models.ts';
import type { ModelDtype } from '../../model/catalog.ts';
import { EngineRequestError } from '../../worker/engine-client.ts';
import type { ErrorValue } from '../../lib/errors.ts';
import { storeClient } from '../../worker/store-client.ts';
import type { PickedFile } from './folder-files.ts';

const errorValue = (error: unknown): ErrorValue => (error instanceof EngineRequestError ? error.value : { code: 'unknown', detail: String(error) });

export async function refreshStorageInfo(): Promise<void> {
  const [estimate, persisted] = await Promise.all([storageEstimate(), isPersisted()]);
  useAppStore.setState({ storageEstimate: estimate, storagePersisted: persisted });
}

/** Imported models exist only in the store: once no precision of one is left, it leaves the picker too. */
async function forgetEmptyImports(): Promise<void> {
  const stored = new Set((await modelStore.listModels()).map((m) => m.modelKey));
  for (const entry of await listUserModels()) {
    if (entry.source.kind === 'imported' && !stored.has(entry.id)) await deleteUserModel(entry.id);
  }
}

async function afterChange(freed: number): Promise<void> {
  useAppStore.setState({ storageFreed: freed, storageError: null });
  await forgetEmptyImports();
  await refreshStorageInfo();
}

export async function deleteStoredModel(modelKey: string, dtype: ModelDtype): Promise<void> {
  try {
    const { freedBytes } = await storeClient().deleteModel(modelKey, dtype);
    await afterChange(freedBytes);
  } catch (error) {
    useAppStore.setState({ storageError: errorValue(error) });
  }
}

export async function deleteAllStoredModels(): Promise<void> {
  try {
    const { freedBytes } = await storeClient().deleteAll();
    await afterChange(freedBytes);
  } catch (error) {
    useAppStore.setState({ storageError: errorValue(error) });
  }
}

/** Stores a chosen folder's model; it joins the picker as a user model with an imported source. */
export async function importModelFolder(files: PickedFile[]): Promise<void> {
  if (files.length === 0) return;
  const folder = files[0].path.split('/')[0] || files[0].file.name;
  const modelKey = `import:${crypto.randomUUID()}`;
  useAppStore.setState({ importProgress: null, importResult: null, storageError: null, storageFreed: null });
  try {
    const result = await storeClient().importFolder({ modelKey, label: folder, files }, (progress) => useAppStore.setState({ importProgress: progress }));
    await putUserModel({ id: modelKey, label: folder, source: { kind: 'imported', folder }, dtypes: result.sizes, nativeContext: result.nativeContext });
    useAppStore.setState({ importResult: { ...result, label: folder } });
    await refreshStorageInfo();
  } catch (error) {
    useAppStore.setState({ storageError: errorValue(error) });
  } finally {
    useAppStore.setState({ importProgress: null });
  }
}
