/**
 * The one message protocol between the UI and the LLM worker (types only: imported by both
 * sides). Every request carries an `id`; the worker answers with events for that id (progress,
 * tokens), then exactly one `result` or `error`. Errors cross the boundary as typed values.
 * Messages are discriminated unions on `type` (and `request` for results), so a `switch`
 * narrows them without casts.
 */
import type { ModelDtype, ModelSource } from '../model/catalog.ts';

export type DeviceKind = 'webgpu' | 'wasm';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface SamplingParams {
  /** 0 means greedy decoding. */
  temperature: number;
  topP: number;
  /** 0 disables top-k. */
  topK: number;
  repetitionPenalty: number;
  maxNewTokens: number;
}

export interface LoadSpec {
  /** Catalog id, e.g. "local:tiny-llama" or "kanana-nano-2.1b-instruct". */
  modelId: string;
  source: ModelSource;
  /** A precision, or 'auto' to pick the best the device supports among `availableDtypes`. */
  dtype: ModelDtype | 'auto';
  availableDtypes: ModelDtype[];
  /** 'wasm' runs on the CPU even when WebGPU exists (the user's choice for a broken GPU driver). */
  device: 'auto' | 'wasm';
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  shaderF16: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface LoadResult {
  modelId: string;
  device: DeviceKind;
  dtype: ModelDtype;
  /** Why WebGPU was not used, when the device is 'wasm'. */
  fallbackReason?: string;
  adapter?: AdapterSummary;
  /** The model's context window (max_position_embeddings). */
  contextWindow: number;
  /** Sampling defaults from generation_config.json (Hugging Face field names). */
  generationConfig: Record<string, unknown>;
  loadMs: number;
}

/** A file's download/read progress while loading, as transformers.js reports it. */
export interface FileProgress {
  file: string;
  status: 'initiate' | 'download' | 'progress' | 'done';
  loaded: number;
  total: number;
}

export interface GenerationStats {
  /** Prompt tokens the model computed this turn (the rest came from the KV cache). */
  prefillTokens: number;
  /** Prompt tokens served from the previous turn's KV cache. */
  reusedTokens: number;
  promptTokens: number;
  /** Milliseconds from the request to the first new token. */
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokens: number;
  decodeTokensPerSecond: number;
  totalMs: number;
}

export interface GenerateResult {
  text: string;
  tokenIds: number[];
  /** 'stop' = the user stopped it; 'length' = max new tokens reached; 'eos' = the model ended its turn. */
  finishReason: 'eos' | 'length' | 'stop';
  stats: GenerationStats;
}

export type EngineErrorCode =
  | 'no-webgpu'
  | 'device-lost'
  | 'out-of-memory'
  | 'model-files-missing'
  | 'load-failed'
  | 'not-loaded'
  | 'busy'
  | 'generation-failed'
  | 'context-overflow'
  | 'aborted'
  | 'unknown';

/** An error as a plain, cloneable value: `code` picks the translated message, `detail` is for the curious. */
export interface EngineErrorValue {
  code: EngineErrorCode;
  detail?: string;
  /** Extra numbers some messages show (e.g. prompt tokens vs window). */
  params?: Record<string, number | string>;
}

// ---- requests (UI → worker) ----

export interface LoadRequest {
  type: 'load';
  id: string;
  spec: LoadSpec;
}

export interface GenerateRequest {
  type: 'generate';
  id: string;
  messages: ChatMessage[];
  sampling: SamplingParams;
  /** The last message is a partial assistant reply to continue (HF's continue_final_message). */
  continueFinal?: boolean;
}

/** Stops the generation whose request id is `target`; harmless if it already ended. */
export interface StopRequest {
  type: 'stop';
  id: string;
  target: string;
}

/** Drops the KV cache (e.g. the conversation changed) without unloading the model. */
export interface ResetCacheRequest {
  type: 'reset-cache';
  id: string;
}

export interface UnloadRequest {
  type: 'unload';
  id: string;
}

export type WorkerRequest = LoadRequest | GenerateRequest | StopRequest | ResetCacheRequest | UnloadRequest;

/** What each request resolves with. */
export interface ResultMap {
  load: LoadResult;
  generate: GenerateResult;
  stop: { stopped: boolean };
  'reset-cache': { disposedTokens: number };
  unload: { unloaded: boolean };
}

// ---- responses and events (worker → UI) ----

export interface LoadProgressEvent {
  type: 'load-progress';
  id: string;
  progress: FileProgress;
}

export interface LoadPhaseEvent {
  type: 'load-phase';
  id: string;
  phase: 'adapter' | 'files' | 'session' | 'warm-up';
}

export interface TokenEvent {
  type: 'token';
  id: string;
  /** The text appended since the previous token event (whole characters only). */
  delta: string;
  generatedTokens: number;
}

export type ResultMessage = { [K in keyof ResultMap]: { type: 'result'; id: string; request: K; result: ResultMap[K] } }[keyof ResultMap];

export interface ErrorMessage {
  type: 'error';
  id: string;
  error: EngineErrorValue;
}

/** Unsolicited: the GPU device is gone; the model must be reloaded (usually the page). */
export interface DeviceLostMessage {
  type: 'device-lost';
  reason: string;
}

export type WorkerMessage = LoadProgressEvent | LoadPhaseEvent | TokenEvent | ResultMessage | ErrorMessage | DeviceLostMessage;
