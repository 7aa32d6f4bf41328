/**
 * Whether a model will run on this device, judged before anything is downloaded from what a
 * page can learn: the WebGPU adapter's limits and `shader-f16`, `navigator.deviceMemory`, the
 * storage estimate, and the model's size, KV cache and largest buffers at the chosen context
 * length. Pure: the caller gathers the facts (src/features/models/device-facts.ts).
 *
 * The browser never tells how much memory the GPU has, so memory is judged against the device's
 * RAM (on integrated GPUs and phones the GPU shares it; a discrete GPU's memory is usually no
 * larger than the RAM of the machine it sits in). Browsers report deviceMemory rounded down to a
 * power of two and capped (8 GiB in the spec's first table; Chromium 150 on a 24 GB Linux box says
 * 16), so 8 or more is read as "at least that much". A tab rarely gets more than half of
 * the RAM before the system or the browser kills it (phones: WebLLM #524, #836), so:
 * - does not fit: weights + KV cache + the largest activation over half the RAM;
 * - tight: over a third of it, or the download over 80% of the storage left, or no WebGPU (the
 *   processor runs it: it works, slowly).
 * Against "8 or more", which may be far more, each bar moves one step: over half is tight, and
 * memory alone never says it does not fit.
 * A buffer over the adapter's maxBufferSize or maxStorageBufferBindingSize cannot be created or
 * bound at all: the embedding table (and the output head) at the precision that loads, and the
 * context-dependent buffers of src/model/kv-memory.ts.
 */
import { KV_ELEMENT_BYTES, largestBuffers, runtimeMemoryBytes, WASM_MEMORY_LIMIT, type AdapterLimits, type GraphBuffer } from './kv-memory.ts';
import type { GraphDtype } from './graph-format.ts';
import type { LlamaShape, ModelSizing } from './config.ts';
import { storedExternalDataBytes } from './size-estimate.ts';

/** What the page learned about the device (null fields: the browser did not say). */
export interface DeviceFacts {
  /** The WebGPU adapter, or null when the model would run on the processor (WebAssembly). */
  gpu: { shaderF16: boolean; limits: AdapterLimits } | null;
  /** `navigator.deviceMemory`, in GiB. */
  deviceMemoryGiB: number | null;
  /** Bytes this origin may still store (src/db/storage-manager.ts availableBytes). */
  storageAvailableBytes: number | null;
}

export interface ModelFitInput {
  /** The precision that would load here, or null when the device runs none of the model's. */
  dtype: GraphDtype | null;
  /** The precision's files, in bytes (null: not known; estimated from `sizing` when there is one). */
  sizeBytes: number | null;
  /** Bytes of it already stored on this device. */
  storedBytes: number;
  sizing: ModelSizing | null;
  contextTokens: number;
}

export type FitVerdict = 'fits' | 'tight' | 'no-fit' | 'unknown';
export type WeightBuffer = 'embedding' | 'lm-head';
type Severity = 'no-fit' | 'tight' | 'note';

export type FitReason =
  | { code: 'no-precision'; severity: 'no-fit' }
  /** fp16 and q4f16 graphs need it on WebGPU (the engine refuses them at load without it). */
  | { code: 'needs-shader-f16'; severity: 'no-fit' }
  | { code: 'buffer-too-large'; severity: 'no-fit'; buffer: WeightBuffer | GraphBuffer; bytes: number; limit: keyof AdapterLimits; limitBytes: number }
  /** `atLeast`: the browser's figure is its cap, the device may have more. */
  | { code: 'memory-short' | 'memory-tight'; severity: Severity; neededBytes: number; deviceMemoryBytes: number; atLeast: boolean }
  | { code: 'wasm-memory'; severity: 'no-fit'; neededBytes: number; limitBytes: number }
  | { code: 'storage-short' | 'storage-tight'; severity: Severity; neededBytes: number; availableBytes: number }
  | { code: 'cpu-only'; severity: 'tight' }
  | { code: 'no-shader-f16'; severity: 'note' }
  | { code: 'size-unknown'; severity: 'note' };

export interface FitAssessment {
  verdict: FitVerdict;
  /** Worst first. */
  reasons: FitReason[];
  /** Weights + KV cache + the largest activation, when the size is known. */
  memoryBytes: number | null;
  dtype: GraphDtype | null;
  contextTokens: number;
}

const GiB = 1024 ** 3;
/** Above this share of the RAM a tab is likely killed. */
const MEMORY_NO_FIT_SHARE = 1 / 2;
const MEMORY_TIGHT_SHARE = 1 / 3;
const STORAGE_TIGHT_SHARE = 0.8;
/** From this navigator.deviceMemory up, the figure may be a cap: the device may have more. */
const DEVICE_MEMORY_CAP_GIB = 8;
export { WASM_MEMORY_LIMIT };

const ORDER: Record<Severity, number> = { 'no-fit': 0, tight: 1, note: 2 };
/** For choosing among models: a better verdict first. */
export const VERDICT_RANK: Record<FitVerdict, number> = { fits: 0, tight: 1, unknown: 2, 'no-fit': 3 };

/** Config dimensions → the shape the size and buffer formulas take (norm and RoPE values do not size anything). */
export function shapeOfSizing(s: ModelSizing): LlamaShape {
  return {
    hiddenSize: s.hidden,
    intermediateSize: s.intermediate,
    numLayers: s.layers,
    numHeads: s.heads,
    numKvHeads: s.kvHeads,
    headDim: s.headDim,
    vocabSize: s.vocab,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    maxPositionEmbeddings: 0,
    tieWordEmbeddings: s.tied,
  };
}

export function sizingOfShape(shape: LlamaShape): ModelSizing {
  return {
    layers: shape.numLayers,
    hidden: shape.hiddenSize,
    intermediate: shape.intermediateSize,
    heads: shape.numHeads,
    kvHeads: shape.numKvHeads,
    headDim: shape.headDim,
    vocab: shape.vocabSize,
    tied: shape.tieWordEmbeddings,
  };
}

/**
 * The largest weight buffers as the converter stores them (src/converter/llama-graph.ts): the
 * table is float32 in fp32, float16 in fp16, MatMulNBits nibbles in q4/q4f16 (a tied head shares
 * them), int8 in q8 (shared by a tied head); an untied head has the table's layout.
 */
export function largestWeightBuffers(s: ModelSizing, dtype: GraphDtype): { buffer: WeightBuffer; bytes: number }[] {
  const cells = s.vocab * s.hidden;
  const table = { fp32: 4, q4: 0.5, fp16: 2, q4f16: 0.5, q8: 1 }[dtype] * cells;
  const head = table;
  return [
    { buffer: 'embedding', bytes: table },
    { buffer: 'lm-head', bytes: head },
  ];
}

function bufferRefusal(buffers: { buffer: WeightBuffer | GraphBuffer; bytes: number }[], limits: AdapterLimits): FitReason | null {
  const largest = buffers.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  for (const limit of ['maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
    if (largest.bytes > limits[limit]) return { code: 'buffer-too-large', severity: 'no-fit', ...largest, limit, limitBytes: limits[limit] };
  }
  return null;
}

/** The verdict for one model, precision and context length on this device, with every reason. */
export function assessFit(model: ModelFitInput, device: DeviceFacts): FitAssessment {
  const reasons: FitReason[] = [];
  const { dtype, sizing, contextTokens } = model;
  const done = (memoryBytes: number | null): FitAssessment => {
    reasons.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
    const worst = reasons[0]?.severity;
    const verdict: FitVerdict = worst === 'no-fit' ? 'no-fit' : worst === 'tight' ? 'tight' : memoryBytes === null ? 'unknown' : 'fits';
    return { verdict, reasons, memoryBytes, dtype, contextTokens };
  };
  if (dtype === null) {
    reasons.push({ code: 'no-precision', severity: 'no-fit' });
    return done(null);
  }
  const shape = sizing ? shapeOfSizing(sizing) : null;
  const sizeBytes = model.sizeBytes ?? (shape ? storedExternalDataBytes(shape, dtype) : null);

  if (device.gpu && !device.gpu.shaderF16 && (dtype === 'fp16' || dtype === 'q4f16')) reasons.push({ code: 'needs-shader-f16', severity: 'no-fit' });
  if (device.gpu && !device.gpu.shaderF16 && (dtype === 'q4' || dtype === 'fp32')) reasons.push({ code: 'no-shader-f16', severity: 'note' });
  if (!device.gpu) reasons.push({ code: 'cpu-only', severity: 'tight' });

  const storageLeft = device.storageAvailableBytes;
  const toStore = sizeBytes === null ? null : Math.max(0, sizeBytes - model.storedBytes);
  if (toStore !== null && toStore > 0 && storageLeft !== null) {
    if (toStore > storageLeft) reasons.push({ code: 'storage-short', severity: 'no-fit', neededBytes: toStore, availableBytes: storageLeft });
    else if (toStore > STORAGE_TIGHT_SHARE * storageLeft)
      reasons.push({ code: 'storage-tight', severity: 'tight', neededBytes: toStore, availableBytes: storageLeft });
  }

  if (shape && sizing && device.gpu) {
    const contextBuffers = largestBuffers(shape, KV_ELEMENT_BYTES[dtype], contextTokens);
    const refusal = bufferRefusal([...largestWeightBuffers(sizing, dtype), ...contextBuffers], device.gpu.limits);
    if (refusal) reasons.push(refusal);
  }
  if (sizeBytes === null) {
    reasons.push({ code: 'size-unknown', severity: 'note' });
    return done(null);
  }
  const memoryBytes = shape ? runtimeMemoryBytes(shape, dtype, contextTokens, sizeBytes) : sizeBytes;
  if (!device.gpu && memoryBytes > WASM_MEMORY_LIMIT)
    reasons.push({ code: 'wasm-memory', severity: 'no-fit', neededBytes: memoryBytes, limitBytes: WASM_MEMORY_LIMIT });
  if (device.deviceMemoryGiB !== null) {
    const deviceMemoryBytes = device.deviceMemoryGiB * GiB;
    const atLeast = device.deviceMemoryGiB >= DEVICE_MEMORY_CAP_GIB;
    const memory = { neededBytes: memoryBytes, deviceMemoryBytes, atLeast };
    if (!atLeast && memoryBytes > MEMORY_NO_FIT_SHARE * deviceMemoryBytes) reasons.push({ code: 'memory-short', severity: 'no-fit', ...memory });
    else if (memoryBytes > (atLeast ? MEMORY_NO_FIT_SHARE : MEMORY_TIGHT_SHARE) * deviceMemoryBytes)
      reasons.push({ code: 'memory-tight', severity: 'tight', ...memory });
  }
  return done(memoryBytes);
}

/** The best model to offer first: the best verdict, then the catalog's order. */
export function bestFitting<T>(entries: readonly T[], verdictOf: (entry: T) => FitVerdict | undefined): T | null {
  let best: T | null = null;
  let bestRank = Infinity;
  for (const entry of entries) {
    const rank = VERDICT_RANK[verdictOf(entry) ?? 'unknown'];
    if (rank < bestRank) [best, bestRank] = [entry, rank];
  }
  return best;
}
