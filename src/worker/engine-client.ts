/**
 * The main-thread facade of the LLM worker: one method per request, each returning a promise of
 * its typed result and taking callbacks for its events. Worker errors reject with
 * `EngineRequestError`, which carries the typed `EngineErrorValue`.
 */
import type {
  ChatMessage,
  EngineErrorValue,
  FileProgress,
  GenerateResult,
  LoadResult,
  LoadSpec,
  ResultMap,
  SamplingParams,
  WorkerMessage,
  WorkerRequest,
} from './protocol.ts';

export class EngineRequestError extends Error {
  constructor(readonly value: EngineErrorValue) {
    super(value.detail ?? value.code);
    this.name = 'EngineRequestError';
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: EngineRequestError): void;
  onEvent?(message: WorkerMessage): void;
}

/** Distributive Omit, so each request keeps its own fields. */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

export class EngineClient {
  private readonly pending = new Map<string, Pending>();
  private deviceLostListeners = new Set<(reason: string) => void>();

  constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => this.dispatch(event.data));
    worker.addEventListener('error', (event) => {
      // A crashed worker fails every request in flight rather than leaving the UI waiting.
      const error = new EngineRequestError({ code: 'unknown', detail: event.message || 'The model worker crashed.' });
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    });
  }

  /** Creates the real worker (Vite bundles llm.worker.ts as a module worker). */
  static create(): EngineClient {
    return new EngineClient(new Worker(new URL('./llm.worker.ts', import.meta.url), { type: 'module', name: 'hanmadi-llm' }));
  }

  load(spec: LoadSpec, handlers: { onProgress?(p: FileProgress): void; onPhase?(phase: string): void } = {}): Promise<LoadResult> {
    return this.request({ type: 'load', spec }, (message) => {
      if (message.type === 'load-progress') handlers.onProgress?.(message.progress);
      else if (message.type === 'load-phase') handlers.onPhase?.(message.phase);
    });
  }

  /** Starts a reply; the returned id can be passed to stop(). */
  generate(
    messages: ChatMessage[],
    sampling: SamplingParams,
    onDelta: (delta: string, generatedTokens: number) => void,
    options: { continueFinal?: boolean } = {},
  ): { id: string; result: Promise<GenerateResult> } {
    const id = crypto.randomUUID();
    const result = this.request({ type: 'generate', messages, sampling, ...options }, (message) => {
      if (message.type === 'token') onDelta(message.delta, message.generatedTokens);
    }, id);
    return { id, result };
  }

  stop(target: string): Promise<ResultMap['stop']> {
    return this.request({ type: 'stop', target });
  }

  resetCache(): Promise<ResultMap['reset-cache']> {
    return this.request({ type: 'reset-cache' });
  }

  unload(): Promise<ResultMap['unload']> {
    return this.request({ type: 'unload' });
  }

  onDeviceLost(listener: (reason: string) => void): () => void {
    this.deviceLostListeners.add(listener);
    return () => this.deviceLostListeners.delete(listener);
  }

  terminate(): void {
    this.worker.terminate();
  }

  private request<K extends keyof ResultMap>(
    body: Extract<RequestBody, { type: K }>,
    onEvent?: (message: WorkerMessage) => void,
    id: string = crypto.randomUUID(),
  ): Promise<ResultMap[K]> {
    return new Promise<ResultMap[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, onEvent });
      this.worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  private dispatch(message: WorkerMessage): void {
    if (message.type === 'device-lost') {
      // Whatever was running on the GPU will not finish: fail it now rather than leave the UI waiting.
      const error = new EngineRequestError({ code: 'device-lost', detail: message.reason });
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      for (const listener of this.deviceLostListeners) listener(message.reason);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    switch (message.type) {
      case 'result':
        this.pending.delete(message.id);
        pending.resolve(message.result);
        break;
      case 'error':
        this.pending.delete(message.id);
        pending.reject(new EngineRequestError(message.error));
        break;
      default:
        pending.onEvent?.(message);
    }
  }
}

let sharedClient: EngineClient | null = null;

/** The app's one engine (created on first use, so tests and pages without a model pay nothing). */
export function engineClient(): EngineClient {
  sharedClient ??= EngineClient.create();
  return sharedClient;
}
