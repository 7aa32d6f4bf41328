/** The models feature's part of the app store: catalog, choice, and the load in progress. */
import type { StateCreator } from 'zustand';
import type { CatalogEntry, ModelDtype } from '../../model/catalog.ts';
import type { EngineErrorValue, LoadResult } from '../../worker/protocol.ts';
import type { FileProgress } from './progress.ts';

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface ModelsSlice {
  catalog: CatalogEntry[];
  catalogError: boolean;
  selectedModelId: string | null;
  dtypeChoice: ModelDtype | 'auto';
  deviceChoice: 'auto' | 'wasm';
  loadStatus: LoadStatus;
  loadPhase: string | null;
  /** Per-file progress of the load in progress (or the last one). */
  files: Record<string, FileProgress>;
  loaded: LoadResult | null;
  loadError: EngineErrorValue | null;
  /** Set when the GPU device was lost: the model is gone until a reload. */
  deviceLost: string | null;
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
  loaded: null,
  loadError: null,
  deviceLost: null,
});
