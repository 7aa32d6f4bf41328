/**
 * HTTP reading for the converter and the downloader with `fetch` only (browser worker or Node).
 * One file past ~400 lines on purpose: both read forms (stream and Blob) share HttpByteSource's
 * Range checks, retry loop and error types, which are private to it.
 *
 * What it offers:
 * - HttpByteSource, a ByteSource over Range requests. Each read is `Range: bytes=a-b`, answered
 *   206 with a matching Content-Range; a server that ignores Range (200 for part of a file) is
 *   refused and its body cancelled unread, so a 4 GB file is never downloaded by accident.
 *   Reads are not widened: the one small read that benefits from coalescing, the safetensors
 *   header, is a single 64 KiB read already (safetensors.ts); widening tensor reads (norm
 *   weights are 3.5 KB) would fetch neighbours' bytes twice and a resumed run would refetch
 *   finished tensors. `readBlob` takes a range as a Blob instead, for a caller that stores
 *   bytes rather than reads them (the model downloader).
 * - fetchBytes, a whole small file (config, tokenizer).
 * Both retry transient failures (network errors, 408/429/5xx, a body cut short) with exponential
 * backoff, go on from the bytes already received, stop on an AbortSignal, and report bytes received.
 */
import type { CodedError, ErrorCode } from '../lib/errors.ts';

export type HttpSourceErrorCode =
  /** The server answered a partial request with the whole file (Range not supported). */
  | 'range-unsupported'
  /** A malformed or inconsistent answer (Content-Range, length). */
  | 'bad-response'
  /** A non-retryable HTTP status (401, 403, 404, ...): see `status` and the server's error code. */
  | 'http-status'
  /** The file's size differs from the expected one: it changed on the server. */
  | 'size-changed'
  /** Transient failures went on past the retry budget. */
  | 'network';

export class HttpSourceError extends Error implements CodedError {
  constructor(
    readonly code: HttpSourceErrorCode,
    message: string,
    readonly url: string,
    readonly status?: number,
    /** The Hugging Face Hub's `X-Error-Code` / `X-Error-Message` headers, when present. */
    readonly serverCode?: string,
    readonly serverMessage?: string,
  ) {
    super(message);
    this.name = 'HttpSourceError';
  }

  get errorCode(): ErrorCode {
    if (this.code === 'range-unsupported') return 'range-unsupported';
    if (this.code === 'size-changed') return 'source-changed';
    if (this.code === 'http-status' && [401, 403, 404, 410].includes(this.status ?? 0)) return 'model-files-missing';
    return 'download-failed';
  }
}

export interface HttpOptions {
  /** Extra request headers (e.g. Authorization for a gated repo). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Attempts per request while no byte arrives (default 6); progress resets the count. */
  maxAttempts?: number;
  /** First backoff delay in ms (default 500), doubling per failed attempt, capped at 30 s. */
  retryDelayMs?: number;
  /** Called with the size of each piece of response body received. */
  onBytes?: (bytes: number) => void;
  /**
   * The fetch cache mode. A download stored elsewhere (IndexedDB) passes 'no-store', so the
   * browser's HTTP cache neither keeps a second copy of gigabytes nor answers parts of a Range
   * request itself.
   */
  cache?: RequestCache;
  /** Sees each successful response (200/206) before its body is read, e.g. to check its ETag; may throw to refuse it. */
  onResponse?: (response: Response) => void;
}

export interface HttpSourceOptions extends HttpOptions {
  /** The file's size when known (e.g. from the Hub API); otherwise a one-byte request finds it. */
  size?: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const MAX_DELAY_MS = 30_000;

/** A failure of whoever consumes the body (a full store, a writer that failed): never retried. */
class SinkFailure {
  constructor(readonly error: unknown) {}
}

/** A failure worth another attempt. */
class TransientFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function statusError(url: string, response: Response): HttpSourceError {
  const serverCode = response.headers.get('X-Error-Code') ?? undefined;
  const serverMessage = response.headers.get('X-Error-Message') ?? undefined;
  return new HttpSourceError(
    'http-status',
    `HTTP ${response.status} for ${url}${serverMessage ? `: ${serverMessage}` : ''}`,
    url,
    response.status,
    serverCode,
    serverMessage,
  );
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/**
 * Runs `attempt` until it returns, retrying transient failures with backoff. When `position`
 * moved since the last failure (bytes arrived), the attempt budget starts over.
 */
async function withRetries(url: string, options: HttpOptions, attempt: () => Promise<void>, position: () => number = () => 0): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 6;
  const baseDelay = options.retryDelayMs ?? 500;
  let failures = 0;
  let lastPosition = position();
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      await attempt();
      return;
    } catch (error) {
      if (error instanceof SinkFailure) throw error.error;
      if (options.signal?.aborted) throw options.signal.reason;
      // fetch rejects with a TypeError when the network fails or the connection drops mid-body.
      const transient = error instanceof TransientFailure || error instanceof TypeError;
      if (!transient) throw error;
      if (position() > lastPosition) {
        lastPosition = position();
        failures = 0;
      }
      failures++;
      if (failures >= maxAttempts) {
        throw new HttpSourceError('network', `Network failure reading ${url} (${failures} attempts): ${(error as Error).message}`, url);
      }
      const retryAfter = error instanceof TransientFailure ? error.retryAfterMs : 0;
      await sleep(Math.min(MAX_DELAY_MS, Math.max(retryAfter, baseDelay * 2 ** (failures - 1))), options.signal);
    }
  }
}

function retryAfterMs(response: Response): number {
  const seconds = Number(response.headers.get('Retry-After'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(MAX_DELAY_MS, seconds * 1000) : 0;
}

/** Throws the right error for a status that is neither 200 nor 206. */
async function rejectStatus(url: string, response: Response): Promise<never> {
  await discard(response);
  if (RETRYABLE_STATUS.has(response.status)) throw new TransientFailure(`HTTP ${response.status}`, retryAfterMs(response));
  throw statusError(url, response);
}

/** Takes the pieces of a body in order; `progress.filled` is where the piece goes. May wait (backpressure). */
export type BodySink = (piece: Uint8Array, progress: { filled: number }) => void | Promise<void>;

const copyInto =
  (target: Uint8Array): BodySink =>
  (piece, progress) => {
    target.set(piece, progress.filled);
  };

/**
 * Hands a response body to `sink` piece by piece, advancing `progress.filled` as bytes arrive (so
 * a retry after a cut knows where to go on). Never reads past `limit`: an over-long body is
 * cancelled and refused.
 */
async function readBody(
  url: string,
  response: Response,
  limit: number,
  sink: BodySink,
  progress: { filled: number },
  onBytes: (n: number) => void,
): Promise<void> {
  if (!response.body) throw new HttpSourceError('bad-response', `Empty body from ${url}.`, url);
  const reader = response.body.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw new TransientFailure(`body interrupted (${error instanceof Error ? error.message : String(error)})`);
      }
      if (chunk.done) return;
      if (progress.filled + chunk.value.length > limit) {
        throw new HttpSourceError('bad-response', `${url} sent more bytes than requested.`, url);
      }
      try {
        await sink(chunk.value, progress);
      } catch (error) {
        throw new SinkFailure(error);
      }
      progress.filled += chunk.value.length;
      onBytes(chunk.value.length);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** A whole (small) file; transient failures are retried from the start. */
export async function fetchBytes(url: string, options: HttpOptions = {}): Promise<Uint8Array> {
  const doFetch = options.fetch ?? fetch;
  let result: Uint8Array | null = null;
  await withRetries(url, options, async () => {
    const response = await doFetch(url, { headers: options.headers, signal: options.signal, ...(options.cache ? { cache: options.cache } : {}) });
    if (response.status !== 200) await rejectStatus(url, response);
    options.onResponse?.(response);
    try {
      result = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new TransientFailure(`body interrupted (${error instanceof Error ? error.message : String(error)})`);
    }
    options.onBytes?.(result.length);
  });
  return result!;
}

function parseContentRange(value: string | null): { start: number; end: number; total: number } | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? '');
  return match ? { start: Number(match[1]), end: Number(match[2]), total: Number(match[3]) } : null;
}

export class HttpByteSource {
  /** Body bytes received so far (retried bytes count again). */
  bytesFetched = 0;
  /** Range requests sent. */
  requests = 0;

  private constructor(
    readonly url: string,
    readonly size: number,
    private readonly options: HttpSourceOptions,
  ) {}

  /** Opens `url`; without `options.size`, one `bytes=0-0` request learns it (and that Range works). */
  static async open(url: string, options: HttpSourceOptions = {}): Promise<HttpByteSource> {
    if (options.size !== undefined) return new HttpByteSource(url, options.size, options);
    const probe = new HttpByteSource(url, Number.MAX_SAFE_INTEGER, options);
    const source = new HttpByteSource(url, await probe.probeSize(), options);
    source.requests = probe.requests;
    source.bytesFetched = probe.bytesFetched;
    return source;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`Read of ${length} bytes at ${offset} is outside ${this.url} (${this.size} bytes).`);
    }
    const bytes = new Uint8Array(length);
    if (length > 0) await this.readInto(offset, bytes);
    return bytes;
  }

  /**
   * Fills `target` with the bytes at `offset`, going on from `progress.filled`. If it throws
   * (retries exhausted, aborted), `progress.filled` says how many bytes did arrive, so a caller
   * can keep them.
   */
  async readInto(offset: number, target: Uint8Array, progress = { filled: 0 }): Promise<void> {
    await this.readStream(offset, target.length, copyInto(target), progress);
  }

  /**
   * Hands the `length` bytes at `offset` to `sink` in order, as they arrive, without collecting
   * them: each byte once, a cut connection retried from the first byte not yet handed over
   * (`progress.filled`, which also says how far it got if this throws). The sink may wait, which
   * holds the body back; whatever it throws ends the read at once, without a retry.
   */
  async readStream(offset: number, length: number, sink: BodySink, progress = { filled: 0 }): Promise<void> {
    this.checkRange(offset, length);
    await withRetries(
      this.url,
      this.options,
      async () => {
        await this.fetchPart(offset, length, sink, progress);
        if (progress.filled < length) throw new TransientFailure('body shorter than requested');
      },
      () => progress.filled,
    );
  }

  /** One request for the bytes not yet handed over, at `offset + progress.filled`. */
  private async fetchPart(offset: number, length: number, sink: BodySink, progress: { filled: number }): Promise<void> {
    const { response, bytes } = await this.rangeResponse(offset + progress.filled, offset + length - 1);
    // A server may send less than asked (never more): read it, and the rest comes next request.
    return readBody(this.url, response, progress.filled + bytes, sink, progress, (n) => this.count(n));
  }

  /**
   * The `length` bytes at `offset` as one Blob, for a caller that stores them rather than reads
   * them: the browser moves a `response.blob()` body into its blob store without handing it to
   * JavaScript piece by piece (reading it through a stream reader was what bounded storing a
   * download: README, "Cold downloads into the store"). Unlike readStream,
   * bytes of a response cut mid-body are not kept: the retry asks for that response's range
   * again, so callers keep each read to a few MiB.
   */
  async readBlob(offset: number, length: number): Promise<Blob> {
    this.checkRange(offset, length);
    const parts: Blob[] = [];
    let received = 0;
    await withRetries(
      this.url,
      this.options,
      async () => {
        while (received < length) {
          const { response, bytes } = await this.rangeResponse(offset + received, offset + length - 1);
          let body: Blob;
          try {
            body = await response.blob();
          } catch (error) {
            if (this.options.signal?.aborted) throw error;
            throw new TransientFailure(`body interrupted (${error instanceof Error ? error.message : String(error)})`);
          }
          if (body.size > bytes) throw new HttpSourceError('bad-response', `${this.url} sent more bytes than requested.`, this.url);
          if (body.size < bytes) throw new TransientFailure('body shorter than its Content-Range');
          parts.push(body);
          received += body.size;
          this.count(body.size);
        }
      },
      () => received,
    );
    return parts.length === 1 ? parts[0] : new Blob(parts);
  }

  /**
   * Requests bytes `start`..`end` and checks the answer before its body is read: a 206 whose
   * Content-Range starts at `start` (it may end early: `bytes` says how many it sends), or a 200
   * for a request of the whole file. Anything else is refused (or thrown as transient).
   */
  private async rangeResponse(start: number, end: number): Promise<{ response: Response; bytes: number }> {
    const response = await this.request(start, end);
    const wholeFile = start === 0 && end === this.size - 1;
    if (response.status === 200 && !wholeFile) {
      await discard(response);
      throw new HttpSourceError(
        'range-unsupported',
        `${this.url} ignores HTTP Range requests (answered 200 to bytes=${start}-${end}); refusing to download the whole file.`,
        this.url,
        200,
      );
    }
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('Content-Range'));
      if (!range || range.start !== start || range.end > end || range.end < range.start) {
        await discard(response);
        throw new HttpSourceError(
          'bad-response',
          `${this.url} answered bytes=${start}-${end} with Content-Range "${response.headers.get('Content-Range')}".`,
          this.url,
          206,
        );
      }
      if (range.total !== this.size) {
        await discard(response);
        throw new HttpSourceError('size-changed', `${this.url} is now ${range.total} bytes, not ${this.size}.`, this.url, 206);
      }
      this.seen(response);
      return { response, bytes: range.end - range.start + 1 };
    }
    if (response.status !== 200) await rejectStatus(this.url, response);
    const total = Number(response.headers.get('Content-Length') ?? this.size);
    if (total !== this.size) {
      await discard(response);
      throw new HttpSourceError('size-changed', `${this.url} is now ${total} bytes, not ${this.size}.`, this.url, 200);
    }
    this.seen(response);
    // (A whole-file 200 answers only a request for the whole file, made before any byte arrived.)
    return { response, bytes: end - start + 1 };
  }

  /** The total size from a `bytes=0-0` answer. */
  private async probeSize(): Promise<number> {
    let total = 0;
    await withRetries(this.url, this.options, async () => {
      const response = await this.request(0, 0);
      if (response.status === 200) {
        await discard(response);
        throw new HttpSourceError('range-unsupported', `${this.url} ignores HTTP Range requests; refusing to download the whole file.`, this.url, 200);
      }
      if (response.status !== 206) await rejectStatus(this.url, response);
      const range = parseContentRange(response.headers.get('Content-Range'));
      if (range) this.seen(response);
      await discard(response);
      if (!range) throw new HttpSourceError('bad-response', `${this.url} sent no valid Content-Range.`, this.url, 206);
      total = range.total;
    });
    return total;
  }

  private request(start: number, end: number): Promise<Response> {
    this.requests++;
    const doFetch = this.options.fetch ?? fetch;
    return doFetch(this.url, {
      headers: { ...this.options.headers, Range: `bytes=${start}-${end}` },
      signal: this.options.signal,
      ...(this.options.cache ? { cache: this.options.cache } : {}),
    });
  }

  /** A response about to be read: the caller's hook may refuse it (throwing), so the body is released first on failure. */
  private seen(response: Response): void {
    try {
      this.options.onResponse?.(response);
    } catch (error) {
      void discard(response);
      throw error;
    }
  }

  private checkRange(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.size) {
      throw new RangeError(`Read of ${length} bytes at ${offset} is outside ${this.url} (${this.size} bytes).`);
    }
  }

  private count(n: number): void {
    this.bytesFetched += n;
    this.options.onBytes?.(n);
  }
}
