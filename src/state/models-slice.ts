/** The models feature's part of the app store: catalog, choice, and the download and load in progress. */
import type { StateCreator } from 'zustand';
import type { CatalogEntry, ModelDtype } from '../model/catalog.ts';
import type { DownloadProgress, LoadResult } from '../worker/protocol.ts';
import type { ErrorValue } from '../lib/errors.ts';
import type { ContextChoices } from '../model/kv-memory.ts';
import type { FitAssessment } from '../model/device-fit.ts';
import type { HfLlamaConfig } from '../model/config.ts';
import type { DevicePreference } from '../model/device-choice.ts';
import type { FileProgress } from '../lib/progress.ts';

/** 'paused': a download was paused; Load (or Resume) goes on from what is stored. */
export type LoadStatus = 'idle' | 'loading' | 'paused' | 'ready' | 'error';

export interface DownloadState {
  /** The store worker's request id (to pause or cancel it); null while paused. */
  requestId: string | null;
  modelKey: string;
  dtype: ModelDtype;
  progress: DownloadProgress;
  /** Per-file and total samples for speed and ETA. */
  files: Record<string, FileProgress>;
  total: FileProgress;
}

export interface ModelsSlice {
  catalog: CatalogEntry[];
  catalogError: boolean;
  selectedModelId: string | null;
  dtypeChoice: ModelDtype | 'auto';
  deviceChoice: DevicePreference;
  loadStatus: LoadStatus;
  loadPhase: string | null;
  /** Per-file progress of the load in progress (or the last one). */
  files: Record<string, FileProgress>;
  /** The download before a load (or a paused one). */
  download: DownloadState | null;
  loaded: LoadResult | null;
  loadError: ErrorValue | null;
  /** Set when the GPU device was lost: the model is gone until a reload. */
  deviceLost: string | null;
  /** After the first model was stored: whether the browser granted persistent storage. */
  persistence: 'persistent' | 'not-persistent' | null;
  /** The selected model's context lengths (null until its config is known). */
  contextChoices: ContextChoices | null;
  /** The selected model's config.json, once read (store or source): the picker's sizes come from it. */
  modelConfig: { modelId: string; config: HfLlamaConfig } | null;
  /** The context length chosen per model id (remembered in localStorage). */
  contextLengths: Record<string, number>;
  /** Whether each catalog model fits this device, by model id (at the precision and length it would load with). */
  fits: Record<string, FitAssessment>;
}

export const createModelsSlice: StateCreator<ModelsSlice> = () => ({
  catalog: [],
  catalogError: false,
  selectedModelId: null,
  dtypeChoice: 'auto',
  deviceChoice: 'auto',
  loadStatus: 'idle',
  loadPhase: null,
  files: {},
  download: null,
  loaded: null,
  loadError: null,
  deviceLost: null,
  persistence: null,
  contextChoices: null,
  modelConfig: null,
  contextLengths: {},
  fits: {},
});
