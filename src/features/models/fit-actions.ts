/**
 * Whether each catalog model fits this device, told before anything is downloaded
 * (src/model/device-fit.ts judges; this gathers the facts). The adapter comes from the LLM
 * worker's probe, asked once per page (the same one the context-length setting reads);
 * navigator.deviceMemory and the storage estimate are read on every refresh, since downloads and
 * deletions change what is left. A model is judged at the precision and context length it would
 * load with, from its config.json when this device has it and else from the catalog's sizing:
 * no request leaves the page for this.
 */
import { useAppStore } from '../../state/store.ts';
import { engineClient } from '../../worker/engine-client.ts';
import type { DeviceProbe } from '../../worker/protocol.ts';
import { availableBytes, storageEstimate } from '../../db/storage-manager.ts';
import { modelStore, type StoredModelSummary } from '../../db/model-store.ts';
import { chooseDtype, type CatalogEntry, type ModelDtype } from '../../model/catalog.ts';
import { decideDevice, type DevicePreference } from '../../model/device-choice.ts';
import { resolveLlamaShape, type HfLlamaConfig, type ModelSizing } from '../../model/config.ts';
import { assessFit, bestFitting, shapeOfSizing, sizingOfShape, type DeviceFacts, type FitAssessment } from '../../model/device-fit.ts';
import { DEFAULT_CONTEXT_CAP, runtimeMemoryBytes, WASM_MEMORY_LIMIT } from '../../model/kv-memory.ts';
import { storedExternalDataBytes } from '../../model/size-estimate.ts';
import { effectiveLength } from './context-length.ts';
import { readModelConfig } from './model-config.ts';

let deviceProbe: Promise<DeviceProbe> | null = null;

/** What the GPU can do (WebGPU, shader-f16, buffer limits), asked of the worker once per page. */
export function probeDevice(): Promise<DeviceProbe> {
  deviceProbe ??= engineClient().probeDevice();
  return deviceProbe;
}

/**
 * The GPU a model would run on with this "Run on" preference, decided as the engine will
 * (src/model/device-choice.ts); null: it runs on the CPU, so precision and fit are judged for WASM.
 */
export async function gpuFor(preference: DevicePreference): Promise<DeviceProbe | null> {
  if (preference === 'wasm') return null;
  const probe = await probeDevice();
  return decideDevice(preference, { available: probe.webgpu, software: probe.software ?? false }).device === 'webgpu' ? probe : null;
}

/** The precision that would load: the user's choice, or the best one the device runs (null: none). */
export function loadingDtype(entry: CatalogEntry, choice: ModelDtype | 'auto', probe: DeviceProbe | null): ModelDtype | null {
  if (choice !== 'auto') return choice;
  return chooseDtype(entry, { kind: probe?.webgpu ? 'webgpu' : 'wasm', shaderF16: probe?.shaderF16 ?? false });
}

async function deviceFacts(probe: DeviceProbe | null): Promise<DeviceFacts> {
  const memory = (globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined)?.deviceMemory;
  return {
    gpu: probe?.webgpu && probe.limits ? { shaderF16: probe.shaderF16, limits: probe.limits } : null,
    deviceMemoryGiB: typeof memory === 'number' && memory > 0 ? memory : null,
    storageAvailableBytes: availableBytes(await storageEstimate()),
  };
}

function sizingOf(entry: CatalogEntry, config: HfLlamaConfig | null): ModelSizing | null {
  if (config) {
    try {
      return sizingOfShape(resolveLlamaShape(config));
    } catch {
      // Not Llama-shaped: the catalog's sizing, if it has one.
    }
  }
  return entry.sizing ?? null;
}

/**
 * The length it would load with: the context setting's for the selected model, else the
 * remembered one, else the default cap; on the CPU path halved (as the setting's default is,
 * src/model/kv-memory.ts) until the weights, cache and activations fit WebAssembly's heap.
 */
function contextTokensOf(entry: CatalogEntry, config: HfLlamaConfig | null, dtype: ModelDtype, sizing: ModelSizing | null, onCpu: boolean): number {
  const { contextChoices, contextLengths } = useAppStore.getState();
  const choices = contextChoices?.modelId === entry.id && contextChoices.dtype === dtype ? contextChoices : null;
  const chosen = choices ? effectiveLength(choices, contextLengths[entry.id]) : undefined;
  const native = config?.max_position_embeddings || entry.nativeContext || DEFAULT_CONTEXT_CAP;
  let tokens = chosen ?? contextLengths[entry.id] ?? Math.min(native, DEFAULT_CONTEXT_CAP);
  if (chosen === undefined && contextLengths[entry.id] === undefined && onCpu && sizing) {
    const shape = shapeOfSizing(sizing);
    const weightBytes = entry.dtypes[dtype] ?? storedExternalDataBytes(shape, dtype);
    while (tokens > 2048 && runtimeMemoryBytes(shape, dtype, tokens, weightBytes) > WASM_MEMORY_LIMIT) tokens = 2 ** Math.ceil(Math.log2(tokens)) / 2;
  }
  return tokens;
}

function storedBytesOf(stored: StoredModelSummary[], entry: CatalogEntry, dtype: ModelDtype): number {
  return stored.find((m) => m.modelKey === entry.id && m.dtype === dtype)?.storedBytes ?? 0;
}

let fitsRequest = 0;

/** Judges every catalog model on this device; resolves with the verdicts (also put in the store). */
export async function refreshFits(): Promise<Record<string, FitAssessment>> {
  const request = ++fitsRequest;
  const { catalog, selectedModelId, dtypeChoice, deviceChoice } = useAppStore.getState();
  const probe = await gpuFor(deviceChoice).catch(() => null);
  const [facts, stored] = await Promise.all([deviceFacts(probe), modelStore.listModels().catch(() => [] as StoredModelSummary[])]);
  const fits: Record<string, FitAssessment> = {};
  for (const entry of catalog) {
    const config = await readModelConfig(entry, { network: false }).catch(() => null);
    const dtype = loadingDtype(entry, entry.id === selectedModelId ? dtypeChoice : 'auto', probe);
    const sizing = sizingOf(entry, config);
    fits[entry.id] = assessFit(
      {
        dtype,
        sizeBytes: dtype ? (entry.dtypes[dtype] ?? null) : null,
        storedBytes: dtype ? storedBytesOf(stored, entry, dtype) : 0,
        sizing,
        contextTokens: dtype ? contextTokensOf(entry, config, dtype, sizing, probe === null) : 0,
      },
      facts,
    );
  }
  if (request === fitsRequest) useAppStore.setState({ fits });
  return fits;
}

/** A first visit's model: the best that fits this device, the catalog's order breaking ties. */
export async function bestFittingModel(): Promise<CatalogEntry | null> {
  const fits = await refreshFits().catch(() => ({}) as Record<string, FitAssessment>);
  return bestFitting(useAppStore.getState().catalog, (entry) => fits[entry.id]?.verdict);
}
