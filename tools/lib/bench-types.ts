/** What a benchmark run is asked to do and what it records (the results JSON's shape). */
import type { GgufWeightType } from '../../src/converter/gguf.ts';
import type { PageInfo } from '../../src/bench/bench-api.ts';
import type { Summary } from '../../src/bench/stats.ts';
import type { ModelDtype } from '../../src/model/catalog.ts';
import type { LoadPhasesMs } from '../../src/worker/protocol.ts';
import type { GpuCallCounts } from '../../src/worker/protocol.ts';

export const STAGES = ['download', 'conversion', 'load', 'prefill', 'decode', 'turn', 'roofline', 'peer'] as const;
export type Stage = (typeof STAGES)[number];
export type BenchDevice = 'webgpu' | 'wasm';

export interface BenchOptions {
  model: string;
  dtype: ModelDtype;
  stages: Stage[];
  /** Our engine's devices; the first one also runs the download and bandwidth stages. */
  devices: BenchDevice[];
  /** Repetitions of each generation step, of each warm load, and of each cold download. */
  reps: number;
  loadReps: number;
  downloadReps: number;
  /** Prompt lengths (tokens) for time to first token / prefill. */
  prefill: number[];
  /** New tokens for decode speed, and the prompt they follow. */
  decode: number[];
  decodePrompt: number;
  /** Tokens of history before the measured turn (turn-N), and of the new user message. */
  history: number;
  turnMessage: number;
  /** wllama's threads (its default: half the cores) and context size (0: from the stages). */
  peerThreads: number;
  peerContext: number;
  /** Our engine's ONNX Runtime threads on the CPU (default: the peer's, so WASM compares like for like). */
  threads: number;
  memorySampleMs: number;
  /**
   * A smaller plan for our WebGPU device when its adapter is a CPU implementation (SwiftShader:
   * ~4 s per tiny-model token, 25-30 s for the Kanana shape); null: WebGPU runs the plan above.
   * On a real GPU it is never applied.
   */
  cpuAdapterPlan: DevicePlan | null;
  /** What was cut from the standard plan for this run, in words (said in the results). */
  reductions: string[];
  /**
   * A model of the same widths at another depth (a fixture, made on demand like the model): its
   * WebGPU decode step is counted too, giving dispatches per layer.
   */
  depthProbe?: string;
}

export interface DevicePlan {
  reps: number;
  prefill: number[];
  decode: number[];
  history: number;
  /** Only these of the run's stages (the smoke test's WebGPU: decode alone, for its counters). */
  stages?: Stage[];
}

/** The standard plan (what the issue asks for); profiles and flags may reduce it, and say so. */
export const STANDARD_PLAN = { prefill: [128, 512, 2048], decode: [64, 256], history: 2048, reps: 3 } as const;

export interface LoadSamples {
  ms: number[];
  /** Our engine's own split of each load (LoadResult.phasesMs; absent for the peer and before 2026-12-05's second session). */
  phasesMs?: LoadPhasesMs[];
  summary: Summary | null;
  peakMemory: Summary | null;
  memoryMethod: string | null;
  baselineMemory: Summary | null;
}

export interface DeviceRun {
  device: BenchDevice;
  /** What the engine reported (device, dtype, adapter, fallback). */
  loaded?: { device: string; dtype: string; fallbackReason?: string; loadMs: number };
  load?: {
    store: LoadSamples;
    cacheApi: LoadSamples;
    cacheApiColdMs: number;
    storeOverCacheApi: number | null;
    /** Peak memory of a load from the store (page and workers, GPU buffers aside) ÷ the stored model's bytes. */
    peakOverModelBytes: number | null;
    /** Memory after each Unload ÷ the memory before that load began. */
    afterUnloadOverBaseline: Summary | null;
  };
  prefill?: Record<string, { promptTokens: number[]; ttftMs: Summary | null; tokensPerSecond: Summary | null }>;
  decode?: Record<string, { decodeTokens: number[]; finishReasons: string[]; tokensPerSecond: Summary | null; contextTokens: number }>;
  /** Decode after the turn stage's long history (the KV cache holds `contextTokens`), as `decode` after a short prompt. */
  decodeLong?: { contextTokens: number; decodeTokens: number[]; tokensPerSecond: Summary | null };
  /**
   * What one decode step after warm-up (the first token) costs in structure, counted by wrapping
   * the worker's GPUDevice in bench runs only: WebGPU calls per step, summed over the decode
   * stage's replies ÷ their steps. Results before 2026-12-04's second run call it `decodeStepCalls`.
   */
  perStep?: GpuCallCounts & {
    steps: number;
    /**
     * WebGPU dispatches one more layer adds to a step: (this model's − the depth probe's) ÷ the
     * difference in layers, both counted on this device at the same widths.
     */
    dispatchesPerLayer?: number;
    /** The probe's own counts per step (the older results have its dispatches only). */
    depthProbe?: { model: string; layers: number; dispatches: number; steps: number; submits?: number; bufferCreations?: number; readbacks?: number };
  };
  /**
   * The lm_head alone on this device's execution provider: a one-node graph of the form the
   * engine's graph has for `dtype` (src/bench/lm-head-graph.ts), timed in the bench page after the
   * decode stage, against a decode step of the same run (1000 ÷ the median tok/s of `decodeTokens`).
   */
  lmHead?: {
    dtype: ModelDtype;
    hiddenSize: number;
    vocabSize: number;
    weightBytes: number;
    runsPerSample: number;
    /** ms per run, over samples of several runs each (one readback per sample). */
    ms: Summary | null;
    firstRunMs: number;
    /** The decode entry (new tokens) whose step it is compared with, and that step's ms. */
    decodeTokens: number | null;
    stepMs: number | null;
    /** The head's median ÷ the step: the share of a decode step the lm_head takes. */
    shareOfStep: number | null;
  };
  /** @deprecated the older name of `perStep`, read from earlier results files. */
  decodeStepCalls?: GpuCallCounts & { steps: number };
  turn?: { reusedTokens: number[]; promptTokens: number[]; withReuseMs: Summary | null; withoutReuseMs: Summary | null; withOverWithout: number | null };
  /** The plan this device ran when it differs from the run's options (a CPU adapter's plan). */
  plan?: DevicePlan;
  /** Where the engine kept the KV cache between turns (ONNX Runtime tensor locations). */
  kvLocation?: string[];
  errors: Record<string, string>;
}

export interface PeerRun {
  engine: string;
  /** The GGUF's weight type (Q8_0 beside our q8, else Q4_0); absent in runs before 2026-12-05's second session: Q4_0. */
  ggufType?: GgufWeightType;
  ggufBytes: number;
  threads: number;
  multithread: boolean;
  gpu: boolean;
  contextTokens: number;
  coldLoadMs?: number;
  load?: LoadSamples;
  prefill?: Record<string, { promptTokens: number[]; ttftMs: Summary | null; tokensPerSecond: Summary | null; nativePrefillTokensPerSecond: Summary | null }>;
  decode?: Record<string, { decodeTokens: number[]; tokensPerSecond: Summary | null }>;
  turn?: { cachedTokens: number[]; withReuseMs: Summary | null; withoutReuseMs: Summary | null; withOverWithout: number | null };
  utf8Failures: string[];
  errors: Record<string, string>;
}

export interface ModelRun {
  model: string;
  dtype: ModelDtype;
  startedAt: string;
  /** The commit this run measured (set by the driver; the file's machine.commit is the latest run's). */
  commit?: string;
  finishedAt: string;
  options: BenchOptions;
  page: PageInfo | null;
  /** Load average (1 min) sampled every 30 s during the run, and the cores it is relative to. */
  load: { cores: number; samples: number[]; min: number; max: number; mean: number };
  model_files: { bytes: number; graphBytes: number; files: string[] };
  /**
   * What a user downloads and stores for this precision (model_files.bytes: graph, external data,
   * tokenizer and configs) against the peer's GGUF of the same checkpoint (self-contained: vocabulary
   * included; `ggufType`, absent before 2026-12-05's second session: Q4_0), when the checkpoint was
   * there to write it.
   */
  size?: { modelBytes: number; ggufBytes: number; ggufType?: GgufWeightType; oursOverGguf: number };
  download?: {
    bytes: number;
    coldBytesPerSecond: Summary | null;
    serverBytesPerSecond: Summary | null;
    coldOverServer: number | null;
    downloadedBytes: number[];
  };
  /**
   * The in-browser conversion of the model's checkpoint from the local mock Hub (tools/lib/bench-conversion.ts),
   * into `dtype`: checkpoint bytes per second against a plain fetch of the same bytes, and the page's peak memory.
   */
  conversion?: {
    repo: string;
    dtype: ModelDtype;
    sourceBytes: number;
    storedBytes: number;
    ms: number[];
    bytesPerSecond: Summary | null;
    plainFetchBytesPerSecond: Summary | null;
    /** Conversion ÷ plain fetch (medians): 1.0 means converting costs no more than fetching. */
    overPlainFetch: number | null;
    /** Highest memory sample during a conversion (page and workers), and the sample before it began. */
    peakBytes: number | null;
    baselineBytes: number | null;
    memoryMethod: string | null;
  };
  bandwidth?: { gbPerSecond: Summary | null; bufferBytes: number; dispatches: number };
  devices: DeviceRun[];
  /** Keyed by `<device> <new tokens>`: the WGSL probe's bandwidth bounds every device's decode (WASM's too, as the same memory is read). */
  roofline?: Record<
    string,
    {
      device: BenchDevice;
      contextTokens: number;
      weightBytes: number;
      kvBytes: number;
      bytesPerStep: number;
      boundTokensPerSecond: number;
      measuredTokensPerSecond: number;
      fractionOfBound: number;
    }
  >;
  peer?: PeerRun;
  /** ours ÷ wllama, per device of ours: speeds (tok/s) — above 1 ours is faster; load time — below 1 ours is faster. */
  comparison?: Record<
    string,
    {
      loadTimeOursOverPeer: number | null;
      prefillSpeed: Record<string, number | null>;
      decodeSpeed: Record<string, number | null>;
      /** Our load's peak memory ÷ the stored model's bytes (DeviceRun.load.peakOverModelBytes). */
      loadPeakOverModelBytes: number | null;
      /** Decode speed with the long history in the cache ÷ after the short decode prompt. */
      decodeLongOverShort: number | null;
    }
  >;
  caveats: string[];
  errors: Record<string, string>;
}
