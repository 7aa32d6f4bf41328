/**
 * Model actions: read the catalog, pick a model and precision, load it in the worker with
 * per-file progress. UI components call these; state goes through the app store.
 */
import { useAppStore } from '../../app/store.ts';
import { isRunnable, parseCatalog, type CatalogEntry, type ModelDtype, type ModelSource } from '../../model/catalog.ts';
import { engineClient, EngineRequestError } from '../../worker/engine-client.ts';
import { recordProgress } from './progress.ts';
import { readUserModels, writeUserModels } from './user-models.ts';

const SELECTED_MODEL_KEY = 'hanmadi.selectedModel';

async function fetchCatalog(path: string): Promise<CatalogEntry[] | null> {
  try {
    const response = await fetch(new URL(path, document.baseURI), { cache: 'no-cache' });
    if (!response.ok) return null;
    return parseCatalog(await response.json());
  } catch {
    return null;
  }
}

function safeStorage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

/** Real catalog + locally generated test models (dev/preview servers only) + the user's own. */
export async function loadCatalog(): Promise<void> {
  const [main, local] = await Promise.all([fetchCatalog('models.json'), fetchCatalog('models/local.json')]);
  const storage = safeStorage();
  const user = storage ? readUserModels(storage) : [];
  const catalog = [...(local ?? []), ...(main ?? []), ...user];
  const remembered = storage?.getItem(SELECTED_MODEL_KEY);
  const state = useAppStore.getState();
  const selected =
    catalog.find((e) => e.id === state.selectedModelId) ?? catalog.find((e) => e.id === remembered) ?? catalog.find(isRunnable) ?? catalog[0] ?? null;
  useAppStore.setState({ catalog, catalogError: main === null, selectedModelId: selected?.id ?? null });
}

export function selectModel(id: string): void {
  useAppStore.setState({ selectedModelId: id, dtypeChoice: 'auto' });
  safeStorage()?.setItem(SELECTED_MODEL_KEY, id);
}

export function chooseDtype(dtype: ModelDtype | 'auto'): void {
  useAppStore.setState({ dtypeChoice: dtype });
}

export function chooseDevice(device: 'auto' | 'wasm'): void {
  useAppStore.setState({ deviceChoice: device });
}

export function addUserModel(entry: CatalogEntry): void {
  const catalog = [...useAppStore.getState().catalog, entry];
  useAppStore.setState({ catalog });
  const storage = safeStorage();
  if (storage) writeUserModels(storage, catalog);
  selectModel(entry.id);
}

export function removeUserModel(id: string): void {
  const catalog = useAppStore.getState().catalog.filter((e) => e.id !== id);
  const storage = safeStorage();
  if (storage) writeUserModels(storage, catalog);
  useAppStore.setState({ catalog, selectedModelId: useAppStore.getState().selectedModelId === id ? (catalog[0]?.id ?? null) : useAppStore.getState().selectedModelId });
}

/** URLs in the catalog may be relative to the page; the worker needs absolute ones. */
function absoluteSource(source: ModelSource): ModelSource {
  return source.kind === 'url' ? { kind: 'url', baseUrl: new URL(source.baseUrl, document.baseURI).href } : source;
}

let engineWatched = false;

export async function loadSelectedModel(): Promise<void> {
  const state = useAppStore.getState();
  const entry = state.catalog.find((e) => e.id === state.selectedModelId);
  if (!entry || !isRunnable(entry) || state.loadStatus === 'loading') return;
  const client = engineClient();
  if (!engineWatched) {
    engineWatched = true;
    client.onDeviceLost((reason) => useAppStore.setState({ deviceLost: reason || 'lost', loadStatus: 'error', loaded: null }));
  }
  useAppStore.setState({ loadStatus: 'loading', loadPhase: null, files: {}, loadError: null, loaded: null });
  try {
    const loaded = await client.load(
      {
        modelId: entry.id,
        source: absoluteSource(entry.source),
        dtype: state.dtypeChoice,
        availableDtypes: Object.keys(entry.dtypes) as ModelDtype[],
        device: state.deviceChoice,
      },
      {
        onPhase: (phase) => useAppStore.setState({ loadPhase: phase }),
        onProgress: (progress) =>
          useAppStore.setState((s) => ({ files: { ...s.files, [progress.file]: recordProgress(s.files[progress.file], progress, performance.now()) } })),
      },
    );
    useAppStore.setState({ loadStatus: 'ready', loaded, loadPhase: null });
  } catch (error) {
    const value = error instanceof EngineRequestError ? error.value : { code: 'load-failed' as const, detail: String(error) };
    useAppStore.setState({ loadStatus: 'error', loadError: value, loadPhase: null });
  }
}
