/**
 * Model actions: read the catalog, pick a model and precision, and load it: first the store
 * worker makes the precision fully stored and verified (downloading what is missing, with
 * per-file progress, pause, resume and cancel), then the LLM worker loads it from the store.
 * UI components call these; state goes through the app store.
 */
import { liveQuery, type Subscription } from 'dexie';
import { useAppStore } from '../../state/store.ts';
import { requestPersistence } from '../../db/storage-manager.ts';
import { deleteUserModel, listUserModels, putUserModel } from '../../db/user-models.ts';
import { parseCatalog, type CatalogEntry, type ModelDtype, type ModelSource } from '../../model/catalog.ts';
import { engineClient, EngineRequestError } from '../../worker/engine-client.ts';
import type { DownloadProgress, StoredModelSpec } from '../../worker/protocol.ts';
import type { ErrorValue } from '../../lib/errors.ts';
import { storeClient } from '../../worker/store-client.ts';
import { computeContextChoices, effectiveLength, readRememberedLengths, rememberLength } from './context-length.ts';
import { hubUrl } from './hub-url.ts';
import { readModelConfig } from './model-config.ts';
import { recordProgress } from '../../lib/progress.ts';
import { migrateLegacyUserModels } from './user-models.ts';
import { bestFittingModel, gpuFor, loadingDtype, probeDevice, refreshFits } from './fit-actions.ts';
import { parseDevicePreference, type DevicePreference } from '../../model/device-choice.ts';
import { entriesForStoredModels } from './stored-entries.ts';
import { modelStore } from '../../db/model-store.ts';
import { secondDownloadOf, type SecondDownload } from './second-download.ts';

const SELECTED_MODEL_KEY = 'hanmadi.selectedModel';
/** The Run on choice, remembered like the selected model and the context lengths. */
const DEVICE_CHOICE_KEY = 'hanmadi.runOn';

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

let userModelsSubscription: Subscription | null = null;

/**
 * Real catalog + locally generated test models (dev/preview servers only) + the user's own,
 * which are followed live from Dexie (an import or an added model in another tab appears too).
 */
export async function loadCatalog(): Promise<void> {
  const storage = safeStorage();
  // Before anything is awaited: a choice the user makes meanwhile is not overwritten.
  useAppStore.setState({ deviceChoice: parseDevicePreference(storage?.getItem(DEVICE_CHOICE_KEY)) });
  if (storage) await migrateLegacyUserModels(storage).catch(() => 0);
  const [main, local, stored] = await Promise.all([fetchCatalog('models.json'), fetchCatalog('models/local.json'), modelStore.listModels().catch(() => [])]);
  const fixed = [...(local ?? []), ...(main ?? [])];
  const apply = async (user: CatalogEntry[]) => {
    const listed = [...fixed, ...user];
    // A stored model whose entry could not be read (offline, say) is still offered: it loads from the store alone.
    const catalog = [...listed, ...entriesForStoredModels(stored, new Set(listed.map((e) => e.id)))];
    useAppStore.setState({ catalog, catalogError: main === null });
    const state = useAppStore.getState();
    const remembered = storage?.getItem(SELECTED_MODEL_KEY);
    let selected = catalog.find((e) => e.id === state.selectedModelId) ?? catalog.find((e) => e.id === remembered) ?? null;
    if (!selected) {
      // A first visit (nothing picked yet) starts on the best model that fits this device, unless
      // the user picked one (or added one, which picks it) while the device was being probed: that
      // choice stands, even where it is missing from this call's catalog, which predates it.
      const pickedBefore = state.selectedModelId;
      const best = await bestFittingModel();
      if (useAppStore.getState().selectedModelId !== pickedBefore) return;
      selected = best ?? catalog[0] ?? null;
    }
    const changed = selected?.id !== useAppStore.getState().selectedModelId;
    useAppStore.setState({ selectedModelId: selected?.id ?? null });
    // On page open the context setting reads only the store: no request before the user acts.
    if (changed) void refreshContextChoices({ network: false });
    else void refreshFits();
  };
  useAppStore.setState({ contextLengths: readRememberedLengths() });
  await apply(await listUserModels().catch(() => []));
  userModelsSubscription?.unsubscribe();
  userModelsSubscription = liveQuery(() => listUserModels()).subscribe({ next: (user) => void apply(user), error: () => undefined });
}

export function selectModel(id: string): void {
  useAppStore.setState({ selectedModelId: id, dtypeChoice: 'auto', contextChoices: null });
  safeStorage()?.setItem(SELECTED_MODEL_KEY, id);
  void refreshContextChoices({ network: true });
}

export function chooseDtype(dtype: ModelDtype | 'auto'): void {
  useAppStore.setState({ dtypeChoice: dtype });
  void refreshContextChoices({ network: true });
}

export function chooseDevice(device: DevicePreference): void {
  useAppStore.setState({ deviceChoice: device });
  try {
    safeStorage()?.setItem(DEVICE_CHOICE_KEY, device);
  } catch {
    // Storage full or blocked: the choice holds for this session.
  }
  void refreshContextChoices({ network: true });
}

/** Remembers the context length for the selected model; the next load uses it. */
export function chooseContextLength(tokens: number): void {
  const { selectedModelId, contextLengths } = useAppStore.getState();
  if (!selectedModelId) return;
  useAppStore.setState({ contextLengths: rememberLength(contextLengths, selectedModelId, tokens) });
  void refreshFits();
}

let choicesRequest = 0;

/**
 * The selected model's context lengths, with the KV memory each costs on the precision that will
 * load and the verdict of the GPU's buffer limits (from the worker's adapter probe; the engine
 * checks the device's own limits again at load). `network`: may fetch config.json from the
 * model's source when the store does not have it yet.
 */
export async function refreshContextChoices(options: { network: boolean }): Promise<void> {
  const request = ++choicesRequest;
  const state = useAppStore.getState();
  const entry = state.catalog.find((e) => e.id === state.selectedModelId);
  if (!entry) {
    useAppStore.setState({ contextChoices: null });
    return;
  }
  try {
    const config = await readModelConfig(entry, options);
    if (!config) {
      if (request === choicesRequest) useAppStore.setState({ contextChoices: null });
      return;
    }
    if (request === choicesRequest) useAppStore.setState({ modelConfig: { modelId: entry.id, config } });
    const dtype = await resolveDtype(entry, state.dtypeChoice, state.deviceChoice);
    const probe = await gpuFor(state.deviceChoice);
    const limits = probe?.webgpu ? probe.limits : undefined;
    if (request === choicesRequest) useAppStore.setState({ contextChoices: computeContextChoices(entry.id, config, dtype, limits, probe === null) });
  } catch {
    if (request === choicesRequest) useAppStore.setState({ contextChoices: null });
  }
  // The verdicts follow the precision, device and length just chosen.
  if (request === choicesRequest) await refreshFits().catch(() => undefined);
}

export async function addUserModel(entry: CatalogEntry): Promise<void> {
  await putUserModel(entry);
  useAppStore.setState((s) => ({ catalog: s.catalog.some((e) => e.id === entry.id) ? s.catalog : [...s.catalog, entry] }));
  selectModel(entry.id);
}

export async function removeUserModel(id: string): Promise<void> {
  await deleteUserModel(id);
}

/** URLs in the catalog may be relative to the page; the workers need absolute ones. */
function absoluteSource(source: ModelSource): ModelSource {
  return source.kind === 'url' ? { kind: 'url', baseUrl: new URL(source.baseUrl, document.baseURI).href } : source;
}

let engineWatched = false;

/** The precision to download and load: the user's choice, or the best the device runs. */
async function resolveDtype(entry: CatalogEntry, choice: ModelDtype | 'auto', device: DevicePreference): Promise<ModelDtype> {
  const probe = choice === 'auto' ? await gpuFor(device) : null;
  const dtype = loadingDtype(entry, choice, probe);
  if (!dtype) throw new EngineRequestError({ code: 'load-failed', detail: `No precision of ${entry.label} runs on ${probe?.webgpu ? 'webgpu' : 'wasm'}.` });
  return dtype;
}

/** What Load would download in another precision of a model stored already (asked before it starts). */
export async function plannedSecondDownload(): Promise<SecondDownload | null> {
  const state = useAppStore.getState();
  const entry = state.catalog.find((e) => e.id === state.selectedModelId);
  if (!entry || entry.source.kind === 'imported') return null;
  const probe = await gpuFor(state.deviceChoice);
  const dtype = loadingDtype(entry, state.dtypeChoice, probe);
  if (!dtype) return null;
  const device = { kind: probe ? 'webgpu' : 'wasm', shaderF16: probe?.shaderF16 ?? false } as const;
  const webgpu = await probeDevice();
  const otherDevice = probe ? ({ kind: 'wasm', shaderF16: false } as const) : webgpu.webgpu ? ({ kind: 'webgpu', shaderF16: webgpu.shaderF16 } as const) : null;
  return secondDownloadOf(entry.id, dtype, device, otherDevice, await modelStore.listModels());
}

function showDownload(requestId: string | null, progress: DownloadProgress): void {
  const now = performance.now();
  useAppStore.setState((s) => {
    const previous = s.download?.modelKey === progress.modelKey && s.download.dtype === progress.dtype ? s.download : null;
    const files = Object.fromEntries(
      progress.files.map((f) => [f.path, recordProgress(previous?.files[f.path], { file: f.path, loaded: f.loaded, total: f.total, status: f.state }, now)]),
    );
    const total = recordProgress(previous?.total, { file: '', loaded: progress.loaded, total: progress.total, status: progress.phase }, now);
    const phase = progress.phase === 'planning' ? 'planning' : progress.conversion ? 'convert' : 'download';
    return { download: { requestId, modelKey: progress.modelKey, dtype: progress.dtype, progress, files, total }, loadPhase: phase };
  });
}

/** Makes the precision stored (downloaded, or converted in the store worker); resolves with the outcome. */
async function download(spec: StoredModelSpec): Promise<'complete' | 'paused' | 'cancelled'> {
  const { id, result } = storeClient().ensure(spec, (progress) => showDownload(id, progress), { hubUrl: hubUrl() });
  const outcome = await result;
  if (outcome.completedNow) {
    const persisted = await requestPersistence();
    if (persisted !== null) useAppStore.setState({ persistence: persisted ? 'persistent' : 'not-persistent' });
  }
  return outcome.outcome;
}

const errorValue = (error: unknown): ErrorValue => (error instanceof EngineRequestError ? error.value : { code: 'load-failed', detail: String(error) });

export async function loadSelectedModel(): Promise<void> {
  const state = useAppStore.getState();
  const entry = state.catalog.find((e) => e.id === state.selectedModelId);
  if (!entry || state.loadStatus === 'loading') return;
  const client = engineClient();
  if (!engineWatched) {
    engineWatched = true;
    client.onDeviceLost((reason) => useAppStore.setState({ deviceLost: reason || 'lost', loadStatus: 'error', loaded: null }));
    // The watchdog ended a worker stuck in the model's template or tokenizer: the model is gone, the conversation stays.
    client.onHung((error) => useAppStore.setState({ loaded: null, loadStatus: 'idle', budget: null, chatError: error }));
  }
  useAppStore.setState({ loadStatus: 'loading', loadPhase: 'adapter', files: {}, loadError: null, loaded: null });
  try {
    const dtype = await resolveDtype(entry, state.dtypeChoice, state.deviceChoice);
    const spec: StoredModelSpec = { modelKey: entry.id, label: entry.label, source: absoluteSource(entry.source), dtype };
    let contextLength: number | undefined;
    const load = () =>
      client.load(
        {
          modelId: entry.id,
          source: spec.source,
          dtype,
          availableDtypes: Object.keys(entry.dtypes) as ModelDtype[],
          device: state.deviceChoice,
          files: 'store',
          ...(contextLength !== undefined ? { contextLength } : {}),
        },
        {
          onPhase: (phase) => useAppStore.setState({ loadPhase: phase }),
          onProgress: (progress) =>
            useAppStore.setState((s) => ({ files: { ...s.files, [progress.file]: recordProgress(s.files[progress.file], progress, performance.now()) } })),
        },
      );
    const outcome = await download(spec);
    if (outcome !== 'complete') {
      useAppStore.setState((s) => ({
        loadStatus: outcome === 'paused' ? 'paused' : 'idle',
        loadPhase: null,
        download: outcome === 'paused' && s.download ? { ...s.download, requestId: null } : null,
      }));
      return;
    }
    useAppStore.setState({ download: null });
    // The config is stored now: the chosen length (or the default, never the YaRN maximum).
    await refreshContextChoices({ network: false });
    const choices = useAppStore.getState().contextChoices;
    if (choices?.modelId === entry.id) contextLength = effectiveLength(choices, useAppStore.getState().contextLengths[entry.id]);
    let loaded;
    try {
      loaded = await load();
    } catch (error) {
      // A chunk found corrupt while loading was dropped from the store: fetch it again, once.
      if (!(error instanceof EngineRequestError && error.value.code === 'model-corrupt') || entry.source.kind === 'imported') throw error;
      if ((await download(spec)) !== 'complete') throw error;
      useAppStore.setState({ download: null });
      loaded = await load();
    }
    useAppStore.setState({ loadStatus: 'ready', loaded, loadPhase: null });
  } catch (error) {
    useAppStore.setState({ loadStatus: 'error', loadError: errorValue(error), loadPhase: null });
  }
}

/** Pauses the running download: what is stored stays, and Resume goes on from it. */
export async function pauseDownload(): Promise<void> {
  const id = useAppStore.getState().download?.requestId;
  if (id) await storeClient().stopDownload(id, 'pause');
}

export async function resumeDownload(): Promise<void> {
  await loadSelectedModel();
}

/** Cancels the download (running or paused) and deletes what it stored. */
export async function cancelDownload(): Promise<void> {
  const download = useAppStore.getState().download;
  if (!download) return;
  if (download.requestId) await storeClient().stopDownload(download.requestId, 'cancel');
  else
    await storeClient()
      .deleteModel(download.modelKey, download.dtype)
      .catch(() => undefined);
  useAppStore.setState({ download: null, loadStatus: 'idle', loadPhase: null });
}
