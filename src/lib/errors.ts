/**
 * Every failure the app can report, as one list of codes: the engine's (load, generate), the
 * store's (downloads, conversions, imports, IndexedDB) and the Hub's. A code crosses the worker
 * boundary inside a plain, cloneable ErrorValue and picks its translated message
 * (`errors.<code>` in the locale files; i18n.test.ts checks every code of ERROR_CODES).
 *
 * Errors raised on purpose are AppErrors and carry their code. Errors of the lower layers that
 * have their own vocabulary (the converter's, the store's) name the code they stand for through
 * `errorCode` (CodedError), so the two mappers below need no knowledge of those layers' classes.
 */

export const ERROR_CODES = [
  'no-webgpu',
  'device-lost',
  'out-of-memory',
  'model-files-missing',
  'load-failed',
  'not-loaded',
  'busy',
  'generation-failed',
  'context-overflow',
  /** The latest message alone does not fit the window: params tokens, available, window. */
  'message-too-long',
  /** The system prompt and the reply reservation leave no room: params tokens, window. */
  'system-prompt-too-long',
  /** The model's RoPE cannot be extended past its native window: params native, requested, reason. */
  'context-unsupported',
  /** A buffer of the chosen context exceeds this GPU's limits: params tokens, bytes, limit, limitBytes, buffer. */
  'context-too-large',
  'aborted',
  /** The model's chat template or tokenizer ran past the watchdog's limit; its worker was ended: params seconds. */
  'engine-hung',
  /** The browser refused to save a reply (storage full); it stays on screen, marked unsaved, until the page goes away. */
  'reply-not-saved',
  /** The browser refused to store a new reply (storage full); nothing changed. */
  'reply-not-started',
  /** The browser refused to save the user's message (storage full); nothing was sent, the composer keeps it. */
  'message-not-saved',
  /** Another tab is writing a reply in this conversation; two tabs never write one. */
  'reply-in-other-tab',
  /** Not enough storage quota for a download (checked before writing): params needed, available. */
  'quota-insufficient',
  /** The browser refused a write (QuotaExceededError); what was stored before is intact. */
  'quota-exceeded',
  /** The network failed past the retries; what arrived is kept and a retry resumes: params file. */
  'download-failed',
  /** The host ignores HTTP Range requests, so a download could not be resumed. */
  'range-unsupported',
  /** A downloaded file does not match its published size or hash (it was discarded): params file. */
  'verification-failed',
  /** A file changed at its source while stored parts of the old one were being resumed. */
  'source-changed',
  /** A stored chunk was corrupt or unreadable; it was dropped and is fetched again: params file. */
  'model-corrupt',
  /** Another tab is downloading or loading this model. */
  'storage-busy',
  /** IndexedDB cannot be opened (e.g. blocked by the browser's privacy settings). */
  'storage-unavailable',
  /** The chosen folder does not hold a model this app can load. */
  'import-invalid',
  /** The Hugging Face repo is gated: files only for signed-in accounts that accepted its terms. */
  'repo-gated',
  /** The Hugging Face repo, revision or a file in it does not exist (or is private). */
  'repo-not-found',
  /** The checkpoint is not one the in-browser converter supports (Llama architecture, bf16/fp16/fp32). */
  'unsupported-architecture',
  /** The repo has no safetensors weights to convert (PyTorch .bin or GGUF only). */
  'no-safetensors',
  /** A model's config.json has a size or count outside what this app plans for: params field, value, max. */
  'config-out-of-bounds',
  /** A model file is larger than this app reads (a hostile or broken listing): params file, bytes, limitBytes. */
  'file-too-large',
  /** The checkpoint's files do not match its configuration (a tensor missing, a malformed file). */
  'conversion-failed',
  /** A file that is not .txt, .md or .pdf was offered as an attachment: params name. */
  'attachment-unsupported',
  /** An attachment larger than the app reads: params name, bytes, limitBytes. */
  'attachment-too-large',
  /** An attachment could not be read (a damaged or encrypted PDF, a file gone): params name. */
  'attachment-unreadable',
  /** An attachment has no text (e.g. a scanned PDF without a text layer): params name. */
  'attachment-empty',
  /** A text attachment in none of the encodings read (UTF-8, UTF-16 with its mark, EUC-KR), or binary: params name. */
  'attachment-encoding',
  'unknown',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error as a plain, cloneable value: `code` picks the translated message, `detail` is for the curious. */
export interface ErrorValue {
  code: ErrorCode;
  detail?: string;
  /** Extra numbers some messages show (e.g. prompt tokens vs window). */
  params?: Record<string, number | string>;
}

/** An error raised on purpose, already carrying its code. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly params?: Record<string, number | string>,
  ) {
    super(detail ?? code);
    this.name = 'AppError';
  }

  toValue(): ErrorValue {
    return { code: this.code, detail: this.message, ...(this.params ? { params: this.params } : {}) };
  }
}

/** An error of a lower layer that says which code it stands for (and, for storage, which file). */
export interface CodedError extends Error {
  readonly errorCode: ErrorCode;
  readonly path?: string;
  /** What the message shows beside the code (e.g. which feature of a checkpoint is unsupported). */
  readonly params?: Record<string, number | string>;
}

const isCoded = (error: unknown): error is CodedError => error instanceof Error && typeof (error as Partial<CodedError>).errorCode === 'string';

/** A refused IndexedDB write (Dexie wraps the DOMException as `inner`). */
export function isQuotaError(error: unknown): boolean {
  for (let e = error as { name?: string; inner?: unknown } | undefined; e; e = e.inner as typeof e) {
    if (e.name === 'QuotaExceededError') return true;
  }
  return false;
}

const detailOf = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Messages of ONNX Runtime, WebGPU and transformers.js that mean something the user can act on. */
const ENGINE_PATTERNS: [ErrorCode, RegExp][] = [
  ['device-lost', /device (is |was )?lost|device.*destroyed|GPUDevice.*(lost|destroyed)|Instance dropped|context lost/i],
  [
    'out-of-memory',
    /out of memory|\bOOM\b|failed to allocate|allocation failed|Array buffer allocation|exceeds the max(imum)?|maxBufferSize|maxStorageBufferBindingSize|too large for|not enough memory|memory access out of bounds/i,
  ],
  ['model-files-missing', /could not locate file|file was not found|not found locally|ModelFileNotFoundError|\b404\b|missing file/i],
];

/** Whatever the engine (ONNX Runtime, WebGPU, transformers.js) threw, as a value; unknown failures fall back to the phase's code. */
export function engineErrorOf(error: unknown, phase: 'load' | 'generate'): ErrorValue {
  if (error instanceof AppError) return error.toValue();
  const detail = detailOf(error);
  for (const [code, pattern] of ENGINE_PATTERNS) if (pattern.test(detail)) return { code, detail };
  return { code: phase === 'load' ? 'load-failed' : 'generation-failed', detail };
}

/** Any failure of the store worker (download, conversion, import, IndexedDB) as an AppError, naming the file where one is known. */
export function storageErrorOf(error: unknown, path?: string): AppError {
  if (error instanceof AppError) return error;
  const file = path ?? (isCoded(error) ? error.path : undefined);
  const coded = isCoded(error) ? error.params : undefined;
  const params = file || coded ? { ...coded, ...(file ? { file } : {}) } : undefined;
  if (isQuotaError(error)) return new AppError('quota-exceeded', `The browser refused to store more (${(error as Error).message}).`, params);
  if (isCoded(error)) return new AppError(error.errorCode, error.message, params);
  if (error instanceof TypeError) return new AppError('download-failed', error.message, params);
  return new AppError('unknown', detailOf(error), params);
}
