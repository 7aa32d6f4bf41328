/**
 * What the bench page (bench.html, src/bench/main.ts) offers the Node driver (tools/bench.ts) on
 * `window.hanmadiBench`. Types only: imported by both sides. Every method runs one measured step
 * with the app's real pieces (the LLM worker, the store worker, Dexie) or the peer (wllama); the
 * driver repeats steps and summarizes.
 */
import type { ModelDtype } from '../model/catalog.ts';
import type { DevicePreference } from '../model/device-choice.ts';
import type { AdapterSummary, ChatMessage, GenerateResult, LoadResult } from '../worker/protocol.ts';

export interface BenchModel {
  /** The store's model key (a bench-only key, never one of the app's catalog ids). */
  key: string;
  label: string;
  /** Absolute URL of the converted folder on the local model server. */
  baseUrl: string;
  dtype: ModelDtype;
}

/** A checkpoint the in-browser conversion reads from a Hub (the bench's local mock Hub). */
export interface BenchCheckpoint {
  /** The store's model key for the converted precision (bench-only). */
  key: string;
  label: string;
  /** `owner/name` on the Hub at `hubUrl`. */
  repo: string;
  hubUrl: string;
  dtype: ModelDtype;
}

export interface ConversionSample {
  /** Request → the converted precision stored and verified, measured on the page. */
  ms: number;
  /** Checkpoint bytes fetched (the conversion's progress total), and what the conversion stored. */
  sourceBytes: number;
  storedBytes: number;
  memory: MemoryPeak | null;
}

export interface PageInfo {
  userAgent: string;
  hardwareConcurrency: number;
  crossOriginIsolated: boolean;
  /** How peak memory is measured here (null: not available). */
  memoryMethod: MemoryMethod | null;
  /** The adapter a page-created WebGPU device gets (the same request the LLM worker makes), null without WebGPU. */
  adapter: (AdapterSummary & { features: string[] }) | null;
}

export type MemoryMethod = 'measureUserAgentSpecificMemory' | 'performance.memory';

export interface MemoryPeak {
  method: MemoryMethod;
  /** Largest sample while the step ran, and the sample before it started. */
  peakBytes: number;
  baselineBytes: number;
  samples: number;
}

export interface BandwidthResult {
  /** GB/s (10^9 bytes) of each repetition. */
  gbPerSecond: number[];
  bufferBytes: number;
  dispatchesPerRepetition: number;
}

export interface TimedBytes {
  bytes: number;
  ms: number;
}

export interface LoadOptions {
  files: 'store' | 'cache-api';
  device: DevicePreference;
  /** Sample memory every this many ms while loading (0: do not). */
  memorySampleMs: number;
  /** ONNX Runtime's CPU threads (the engine's default when absent). */
  threads?: number;
  /** Count WebGPU calls per decode step (GenerateResult.decodeCalls). */
  countGpuCalls?: boolean;
}

export interface LoadSample {
  /** Request → ready (warm-up forward pass included), measured on the page. */
  ms: number;
  result: LoadResult;
  memory: MemoryPeak | null;
}

export interface GenerateSample {
  /** The engine's own stats are what the driver reports (time to first token, prefill, decode). */
  result: GenerateResult;
}

export interface PeerLoadOptions {
  url: string;
  /** llama.cpp load parameters (n_ctx, n_threads, n_gpu_layers, …). */
  params: Record<string, number | string | boolean>;
  memorySampleMs: number;
}

export interface PeerLoadSample {
  ms: number;
  threads: number;
  multithread: boolean;
  libllama: string;
  /** Whether the log shows a WebGPU backend in use (wllama falls back to the CPU without an adapter in its worker). */
  gpu: boolean;
  memory: MemoryPeak | null;
}

export interface PeerCompletion {
  /** Request → first streamed chunk, on the page. */
  firstChunkMs: number | null;
  wallMs: number;
  promptTokens: number;
  completionTokens: number;
  /** llama.cpp's own split. */
  timings: {
    prompt_n: number;
    prompt_ms: number;
    prompt_per_second: number;
    predicted_n: number;
    predicted_ms: number;
    predicted_per_second: number;
    cache_n: number;
  };
  /** Attempts that failed (wllama 3.13 cannot serialize invalid UTF-8 output from random weights) before this one. */
  failedAttempts: string[];
}

export interface LmHeadOptions {
  device: 'webgpu' | 'wasm';
  hiddenSize: number;
  vocabSize: number;
  /** The graph precision the engine loaded (the head's form follows it). */
  dtype: ModelDtype;
  samples: number;
  /** ONNX Runtime's CPU threads (the engine's, for a like-for-like WASM time). */
  threads?: number;
}

export interface LmHeadTiming {
  /** Each sample's ms per run (several runs back to back, then one readback). */
  msPerRun: number[];
  runsPerSample: number;
  /** The first run (shader compiles, first use), and the session's creation. */
  firstRunMs: number;
  createMs: number;
  weightBytes: number;
}

export interface BenchApi {
  info(): Promise<PageInfo>;
  /** The adapter's read bandwidth: a WGSL kernel streams a buffer `repetitions` times. */
  readBandwidth(options: { maxBytes: number; targetMs: number; repetitions: number }): Promise<BandwidthResult>;
  /** Plain fetches of the files, bodies read and dropped: what the server delivers with nothing behind it. */
  fetchFiles(urls: string[]): Promise<TimedBytes>;
  /** Deletes the model's precision from the store, then downloads it (store worker → Dexie). */
  coldDownload(model: BenchModel): Promise<TimedBytes & { downloadedBytes: number }>;
  /** Downloads what is missing (nothing when stored). */
  ensureStored(model: BenchModel): Promise<TimedBytes>;
  /**
   * Converts the checkpoint in the store worker as the app does on a first load (Range reads,
   * quantization, LFS sha256 check, Dexie writes) into an empty store, sampling memory; then
   * deletes what it stored.
   */
  convert(checkpoint: BenchCheckpoint, options: { memorySampleMs: number }): Promise<ConversionSample>;
  /** Deletes transformers.js's Cache API copy (the 'cache-api' baseline). */
  clearCacheApi(): Promise<boolean>;
  load(model: BenchModel, options: LoadOptions): Promise<LoadSample>;
  unload(): Promise<void>;
  /** The page's memory now (page and workers; null where it cannot be measured): after an unload, against the load's baseline. */
  memoryNow(): Promise<number | null>;
  /** One greedy turn with the real engine (KV reuse as the app does it). */
  generate(messages: ChatMessage[], maxNewTokens: number): Promise<GenerateSample>;
  resetCache(): Promise<number>;
  /** The lm_head alone, a one-node graph of the engine's form, on `device`'s execution provider (src/bench/lm-head.ts). */
  timeLmHead(options: LmHeadOptions): Promise<LmHeadTiming>;
  peerLoad(options: PeerLoadOptions): Promise<PeerLoadSample>;
  /** Greedy completion of a text prompt (llama.cpp adds the bos); `cachePrompt` false = no KV reuse. */
  peerComplete(options: { prompt: string; maxTokens: number; cachePrompt: boolean }): Promise<PeerCompletion>;
  peerExit(): Promise<void>;
}

declare global {
  interface Window {
    hanmadiBench?: BenchApi;
  }
}
