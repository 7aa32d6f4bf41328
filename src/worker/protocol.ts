/**
 * The one message protocol between the UI and the app's workers (types only: imported by every
 * side): the LLM worker (transformers.js), the store worker (downloads, imports and deletions of
 * model files in IndexedDB) and the conversation import worker (an export file read, checked and
 * written in batches). Every request carries an `id`; the worker answers with
 * events for that id (progress, tokens), then exactly one `result` or `error`. Errors cross the
 * boundary as typed values. Messages are discriminated unions on `type` (and `request` for
 * results), so a `switch` narrows them without casts.
 * Over 400 lines on purpose: every message of every worker stays in this one file, as the architecture asks.
 */
import type { ModelDtype, ModelSource } from '../model/catalog.ts';
import type { DevicePreference } from '../model/device-choice.ts';
import type { GenerationStats, SamplingParams } from '../model/generation.ts';
import type { ErrorValue } from '../lib/errors.ts';
import type { ImportProblem } from '../db/export-format.ts';

export type DeviceKind = 'webgpu' | 'wasm';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /**
   * The stored message's id. With ids the engine recognises the same history from one request
   * to the next (the context budget's sticky start) and names the messages it left out.
   */
  id?: string;
}

export interface LoadSpec {
  /** Catalog id, e.g. "local:tiny-llama" or "kanana-nano-2.1b-instruct"; also the key of its stored files. */
  modelId: string;
  source: ModelSource;
  /**
   * Where transformers.js reads the files: 'store' (default, the app) = only the Dexie store,
   * filled beforehand by the store worker; 'cache-api' = transformers.js's own default, fetching
   * `source` and keeping it in the Cache API — a baseline for the benchmark, never the app.
   */
  files?: 'store' | 'cache-api';
  /** A precision, or 'auto' to pick the best the device supports among `availableDtypes`. */
  dtype: ModelDtype | 'auto';
  availableDtypes: ModelDtype[];
  /**
   * 'auto': WebGPU on a hardware adapter, else the CPU (src/model/device-choice.ts); 'webgpu' forces
   * even a software adapter; 'wasm' runs on the CPU even when WebGPU exists (a broken GPU driver).
   */
  device: DevicePreference;
  /** ONNX Runtime's CPU threads (default: the cores this page may use; the benchmark matches its peer's). */
  threads?: number;
  /** Count WebGPU calls (the benchmark's structural counters, GenerateResult.decodeCalls); never the app. */
  countGpuCalls?: boolean;
  /**
   * The context window in tokens (default: the model's max_position_embeddings). Past the native
   * window the worker serves a YaRN-patched config.json and graph (docs/architecture.md).
   */
  contextLength?: number;
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
  /** Why WebGPU was not used, when the device is 'wasm' ('chosen', 'software-adapter', 'no-adapter', …). */
  fallbackReason?: string;
  /** The software adapter Automatic declined (vendor, architecture, description), when that is the reason. */
  softwareAdapter?: string;
  adapter?: AdapterSummary;
  /** The context window the engine budgets with: the chosen length (the native window by default). */
  contextWindow: number;
  /** The model's own max_position_embeddings. */
  nativeContext: number;
  /** Set when the window is past the native one: the YaRN factor and which RoPE form was patched. */
  contextExtension?: { factor: number; form: 'inv-freq' | 'cos-sin-cache' };
  /** Sampling defaults from generation_config.json (Hugging Face field names). */
  generationConfig: Record<string, unknown>;
  loadMs: number;
  /** Where loadMs went, step by step (the benchmark records it). */
  phasesMs: LoadPhasesMs;
  /** ONNX Runtime's CPU threads in this load's worker. */
  threads: number;
}

/**
 * A load's steps, in ms: the GPU adapter and device; opening the stored files (and the
 * long-context patch); then, at once, the tokenizer, ONNX Runtime's session and the check of
 * every stored chunk it read (each counted from the same start: they overlap); the warm-up run.
 */
export interface LoadPhasesMs {
  adapter: number;
  files: number;
  tokenizer: number;
  session: number;
  /** Until the last stored chunk's SHA-256 was checked (as `session` where nothing was checked: the Cache API, bytes read in place). */
  verify: number;
  warmUp: number;
}

/** A file's download/read progress while loading, as transformers.js reports it. */
export interface FileProgress {
  file: string;
  status: 'initiate' | 'download' | 'progress' | 'done';
  loaded: number;
  total: number;
}

/** What a prompt takes of the context window, and what the overflow policy left out. */
export interface ContextUse {
  window: number;
  /** Tokens of the prompt that is (or would be) sent. */
  promptTokens: number;
  /** Tokens reserved for the reply. */
  replyTokens: number;
  /** Ids of the messages left out (whole oldest turns: a user message and its replies). */
  droppedMessageIds: string[];
  /** Turns left out, of all the turns asked about. */
  droppedTurns: number;
  /** 'extend': the KV cache's history still starts where it did; 'reset': turns were dropped or the history changed. */
  kvReuse: 'extend' | 'reset';
}

/** The budget of a conversation plus a draft, or why the draft cannot be sent. */
export type ContextCount =
  | ({ fits: true } & ContextUse)
  | { fits: false; window: number; code: 'message-too-long' | 'system-prompt-too-long'; neededTokens: number; availableTokens: number };

export interface GenerateResult {
  text: string;
  tokenIds: number[];
  /** 'stop' = the user stopped it; 'length' = max new tokens reached; 'eos' = the model ended its turn. */
  finishReason: 'eos' | 'length' | 'stop';
  stats: GenerationStats;
  context: ContextUse;
  /**
   * Where the KV cache kept for the next turn lives: ONNX Runtime tensor locations ('gpu-buffer'
   * on WebGPU, 'cpu' on WASM; 'mixed' would mean a copy went through the CPU). Diagnostics: the
   * benchmark checks that the cache never leaves the GPU. Absent when no cache was kept.
   */
  kvLocation?: string;
  /** With LoadSpec.countGpuCalls: the WebGPU calls of the decode steps after the first token. */
  decodeCalls?: { steps: number; calls: GpuCallCounts };
}

/** WebGPU calls counted over some steps (gpu-counters.ts). */
export interface GpuCallCounts {
  dispatches: number;
  submits: number;
  bufferCreations: number;
  pipelineCompiles: number;
  /** Buffer maps for reading (GPUBuffer.mapAsync). */
  readbacks: number;
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

/**
 * Counts a conversation (the last message being the draft) with the loaded model's tokenizer and
 * chat template and plans it against the window as `generate` would, without generating.
 */
export interface CountContextRequest {
  type: 'count-context';
  id: string;
  messages: ChatMessage[];
  maxNewTokens: number;
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

/** What the device can run, without creating a GPU device: decides the precision to download. */
export interface ProbeDeviceRequest {
  type: 'probe-device';
  id: string;
}

export interface DeviceProbe {
  webgpu: boolean;
  /** The adapter is a CPU implementation (SwiftShader, llvmpipe, …): Automatic runs on WASM instead. */
  software?: boolean;
  /** Vendor, architecture and description, for the notice that says why the CPU was chosen. */
  adapterName?: string;
  shaderF16: boolean;
  /** The adapter's per-buffer limits (the engine requests its device with these). */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  /** Why WebGPU is unavailable, when it is. */
  reason?: string;
}

export type WorkerRequest = LoadRequest | GenerateRequest | CountContextRequest | StopRequest | ResetCacheRequest | UnloadRequest | ProbeDeviceRequest;

/** What each request resolves with. */
export interface ResultMap {
  load: LoadResult;
  generate: GenerateResult;
  'count-context': ContextCount;
  stop: { stopped: boolean };
  'reset-cache': { disposedTokens: number };
  unload: { unloaded: boolean };
  'probe-device': DeviceProbe;
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

/**
 * The prompt of a `generate` is rendered (chat template) and tokenized: what runs a model's own
 * template and tokenizer is over, so the UI's watchdog (engine-client.ts) stands down.
 */
export interface PromptReadyEvent {
  type: 'prompt-ready';
  id: string;
  promptTokens: number;
}

/** A `result` message for each request of a result map. */
export type ResultMessageOf<M> = { [K in keyof M]: { type: 'result'; id: string; request: K; result: M[K] } }[keyof M];

export type ResultMessage = ResultMessageOf<ResultMap>;

export interface ErrorMessage {
  type: 'error';
  id: string;
  error: ErrorValue;
}

/** Unsolicited: the GPU device is gone; the model must be reloaded (usually the page). */
export interface DeviceLostMessage {
  type: 'device-lost';
  reason: string;
}

export type WorkerMessage = LoadProgressEvent | LoadPhaseEvent | TokenEvent | PromptReadyEvent | ResultMessage | ErrorMessage | DeviceLostMessage;

// ---- model storage (UI ↔ store worker) ----

/** One precision of a catalog model, as the store keeps it. */
export interface StoredModelSpec {
  /** The catalog entry's id: every precision of a model shares its stored files under it. */
  modelKey: string;
  label: string;
  /** Absolute URLs only (the worker has no page to resolve against). */
  source: ModelSource;
  dtype: ModelDtype;
}

export interface DownloadFileProgress {
  path: string;
  /** Bytes stored (the file's size once done). */
  loaded: number;
  total: number;
  /** 'waiting': another tab holds this file's lock and is downloading it. */
  state: 'queued' | 'downloading' | 'waiting' | 'done';
}

/**
 * An in-browser conversion's progress (hf-safetensors sources). The checkpoint bytes fetched
 * (finished tensors of an earlier session included) and the download's size are the progress's
 * `loaded` and `total`.
 */
export interface ConversionStatus {
  tensorsDone: number;
  tensorsTotal: number;
  /** What the converted precision takes in storage (estimated up front). */
  storedBytes: number;
}

export interface DownloadProgress {
  modelKey: string;
  dtype: ModelDtype;
  phase: 'planning' | 'downloading' | 'done';
  files: DownloadFileProgress[];
  /** Bytes of this precision stored, and its total. */
  loaded: number;
  total: number;
  /** Bytes this download still had to fetch when it started, and what the origin could still store then (null: unknown). */
  neededBytes: number;
  availableBytes: number | null;
  /**
   * Set while a safetensors checkpoint is converted: `loaded`/`total` are then the checkpoint
   * bytes fetched of those to fetch, and `files` is empty.
   */
  conversion?: ConversionStatus;
}

export interface EnsureResult {
  modelKey: string;
  dtype: ModelDtype;
  /** 'paused' and 'cancelled' answer a pause or cancel request; cancelled downloads leave nothing behind. */
  outcome: 'complete' | 'paused' | 'cancelled';
  /** Bytes fetched from the network by this request. */
  downloadedBytes: number;
  /** Chunks that were missing or corrupt and were fetched again. */
  repairedChunks: number;
  /** True when this request stored the model's last missing byte (for the persist() prompt). */
  completedNow: boolean;
}

/** Downloads what is missing of a precision, verifies it, and resolves when it is all stored. */
export interface EnsureRequest {
  type: 'ensure';
  id: string;
  model: StoredModelSpec;
  /** The Hugging Face Hub's origin for hf sources (default https://huggingface.co; tests use a mock Hub). */
  hubUrl?: string;
}

/** Pauses (keeps what is stored) or cancels (deletes the partial model) the ensure `target`. */
export interface StopDownloadRequest {
  type: 'stop-download';
  id: string;
  target: string;
  mode: 'pause' | 'cancel';
}

export interface DeleteModelRequest {
  type: 'delete-model';
  id: string;
  modelKey: string;
  dtype: ModelDtype;
}

export interface DeleteAllRequest {
  type: 'delete-all';
  id: string;
}

/** A folder chosen by the user (`webkitRelativePath` or directory-picker paths, first segment = the folder). */
export interface ImportFolderRequest {
  type: 'import-folder';
  id: string;
  modelKey: string;
  label: string;
  files: { path: string; file: File }[];
}

export interface ImportResult {
  modelKey: string;
  dtypes: ModelDtype[];
  /** Bytes per precision (its files, shared ones included). */
  sizes: Partial<Record<ModelDtype, number>>;
  nativeContext: number;
  /** 'sha256' when the folder's hanmadi-manifest.json vouched for every file, else 'size'. */
  verified: 'sha256' | 'size';
}

/** Lists a Hugging Face repo for Add model: what it offers (ONNX files, or a checkpoint to convert), without fetching a weight. */
export interface ProbeRepoRequest {
  type: 'probe-repo';
  id: string;
  repo: string;
  revision?: string;
  hubUrl: string;
}

export interface RepoProbe {
  kind: 'hf' | 'hf-safetensors';
  /** Bytes per precision (null where the repo does not say). */
  dtypes: Partial<Record<ModelDtype, number | null>>;
  nativeContext: number;
}

export type StoreRequest = EnsureRequest | StopDownloadRequest | DeleteModelRequest | DeleteAllRequest | ImportFolderRequest | ProbeRepoRequest;

export interface StoreResultMap {
  ensure: EnsureResult;
  'stop-download': { stopped: boolean };
  'delete-model': { freedBytes: number };
  'delete-all': { freedBytes: number };
  'import-folder': ImportResult;
  'probe-repo': RepoProbe;
}

export interface DownloadProgressEvent {
  type: 'download-progress';
  id: string;
  progress: DownloadProgress;
}

export type StoreMessage = DownloadProgressEvent | ResultMessageOf<StoreResultMap> | ErrorMessage;

// ---- The conversation import worker (conversation-import.worker.ts) ----

/** Reads, checks and writes an export file; answered with an ImportOutcome (problems are outcomes, not errors). */
export interface ImportConversationsRequest {
  type: 'import-conversations';
  id: string;
  file: Blob;
}

/** Cancels import `target`: what it wrote is deleted. */
export interface CancelImportRequest {
  type: 'cancel-import';
  id: string;
  target: string;
}

/** Deletes what imports whose tab went away wrote (src/db/conversation-import.ts). */
export interface SweepImportsRequest {
  type: 'sweep-imports';
  id: string;
}

export type ConversationImportRequest = ImportConversationsRequest | CancelImportRequest | SweepImportsRequest;

export interface ConversationImportProgress {
  phase: 'reading' | 'checking' | 'writing';
  writtenMessages: number;
  /** 0 until the file is checked. */
  totalMessages: number;
}

export type ImportOutcome =
  { outcome: 'imported'; conversations: number; messages: number } | { outcome: 'refused'; problem: ImportProblem } | { outcome: 'cancelled' };

export interface ConversationImportResultMap {
  'import-conversations': ImportOutcome;
  'cancel-import': { cancelled: boolean };
  'sweep-imports': { swept: number };
}

export interface ConversationImportProgressEvent {
  type: 'import-progress';
  id: string;
  progress: ConversationImportProgress;
}

export type ConversationImportMessage = ConversationImportProgressEvent | ResultMessageOf<ConversationImportResultMap> | ErrorMessage;
