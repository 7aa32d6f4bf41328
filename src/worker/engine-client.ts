/**
 * The main-thread facade of the LLM worker: one method per request, each returning a promise of
 * its typed result and taking callbacks for its events. Worker errors reject with
 * `EngineRequestError`, which carries the typed `ErrorValue`.
 *
 * Every load gets a fresh worker, and unloading ends it: memory a model took (WebAssembly memory
 * never shrinks; ONNX Runtime keeps its heap at its high-water mark) returns only with its worker,
 * and each worker picks its ONNX Runtime build before its first session (ort-runtime.ts).
 *
 * A watchdog guards what runs a model repository's own code-like data: its chat template (Jinja)
 * and its tokenizer (regexes). A template can loop for hours and a regex can backtrack
 * catastrophically; a worker busy in either cannot even receive Stop. Past the limit the worker
 * is ended, its requests fail as `engine-hung`, and listeners hear it (the model is gone).
 */
import type { ChatMessage, ContextCount, FileProgress, GenerateResult, LoadResult, LoadSpec, ResultMap, WorkerMessage, WorkerRequest } from './protocol.ts';
import type { SamplingParams } from '../model/generation.ts';
import type { ErrorValue } from '../lib/errors.ts';
import { EngineRequestError, RpcClient } from './rpc-client.ts';

export { EngineRequestError } from './rpc-client.ts';

/** Distributive Omit, so each request keeps its own fields. */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** One LLM worker and the requests in flight to it. */
class LlmWorker extends RpcClient<WorkerRequest, WorkerMessage> {
  constructor(worker: Worker, onDeviceLost: (reason: string) => void) {
    super(worker, (message) => {
      if (message.type !== 'device-lost') return;
      // Whatever was running on the GPU will not finish: fail it now rather than leave the UI waiting.
      this.failAll(new EngineRequestError({ code: 'device-lost', detail: message.reason }));
      onDeviceLost(message.reason);
    });
  }

  request<K extends keyof ResultMap>(
    body: Extract<RequestBody, { type: K }>,
    onEvent?: (message: WorkerMessage) => void,
    id: string = crypto.randomUUID(),
  ): Promise<ResultMap[K]> {
    return this.send<ResultMap[K]>({ ...body, id } as WorkerRequest, onEvent);
  }

  /** Ends the worker; requests still in flight fail with `error`. */
  end(error: ErrorValue): void {
    this.failAll(new EngineRequestError(error));
    this.terminate();
  }
}

export interface EngineLimits {
  /**
   * How long rendering and tokenizing one prompt (or counting a draft's context) may take. A real
   * prompt at the longest context takes a few seconds even on a slow phone.
   */
  promptMs: number;
  /** How long an unload may take before its worker is ended anyway (its memory goes with it). */
  unloadMs: number;
}

export const ENGINE_LIMITS: EngineLimits = { promptMs: 20_000, unloadMs: 10_000 };

export class EngineClient {
  private worker: LlmWorker | null = null;
  private deviceLostListeners = new Set<(reason: string) => void>();
  private hungListeners = new Set<(error: ErrorValue) => void>();

  constructor(
    private readonly spawn: () => Worker,
    private readonly limits: EngineLimits = ENGINE_LIMITS,
  ) {}

  /** Creates real workers (Vite bundles llm.worker.ts as a module worker). */
  static create(): EngineClient {
    return new EngineClient(() => new Worker(new URL('./llm.worker.ts', import.meta.url), { type: 'module', name: 'hanmadi-llm' }));
  }

  private current(): LlmWorker {
    this.worker ??= new LlmWorker(this.spawn(), (reason) => {
      for (const listener of this.deviceLostListeners) listener(reason);
    });
    return this.worker;
  }

  /**
   * Arms the watchdog for a request that runs the model's template or tokenizer; the returned
   * function stands it down. Firing ends `worker` (and the model in it).
   */
  private watch(worker: LlmWorker, what: 'generate' | 'count-context'): () => void {
    const timer = setTimeout(() => {
      if (this.worker === worker) this.worker = null;
      const error: ErrorValue = {
        code: 'engine-hung',
        detail: `The chat template or tokenizer ran past ${this.limits.promptMs} ms (${what}).`,
        params: { seconds: Math.round(this.limits.promptMs / 1000) },
      };
      worker.end(error);
      for (const listener of this.hungListeners) listener(error);
    }, this.limits.promptMs);
    return () => clearTimeout(timer);
  }

  /** Loads a model in a fresh worker (the previous one, and its model, end first). */
  async load(spec: LoadSpec, handlers: { onProgress?(p: FileProgress): void; onPhase?(phase: string): void } = {}): Promise<LoadResult> {
    await this.unload();
    return this.current().request({ type: 'load', spec }, (message) => {
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
    const worker = this.current();
    const standDown = this.watch(worker, 'generate');
    const result = worker.request(
      { type: 'generate', messages, sampling, ...options },
      (message) => {
        if (message.type === 'prompt-ready') standDown();
        else if (message.type === 'token') onDelta(message.delta, message.generatedTokens);
      },
      id,
    );
    result.then(standDown, standDown);
    return { id, result };
  }

  /** The context budget of `messages` (the last being the draft), planned as a reply would be. */
  countContext(messages: ChatMessage[], maxNewTokens: number): Promise<ContextCount> {
    const worker = this.current();
    const standDown = this.watch(worker, 'count-context');
    const result = worker.request({ type: 'count-context', messages, maxNewTokens });
    result.then(standDown, standDown);
    return result;
  }

  stop(target: string): Promise<ResultMap['stop']> {
    return this.worker ? this.worker.request({ type: 'stop', target }) : Promise.resolve({ stopped: false });
  }

  resetCache(): Promise<ResultMap['reset-cache']> {
    return this.worker ? this.worker.request({ type: 'reset-cache' }) : Promise.resolve({ disposedTokens: 0 });
  }

  /**
   * Unloads the model and ends its worker: a reply in flight is stopped first and settles as
   * stopped (the worker's own unload waits for it).
   */
  async unload(): Promise<ResultMap['unload']> {
    const worker = this.worker;
    if (!worker) return { unloaded: false };
    this.worker = null;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    // A worker that does not answer in time (hung, or stuck releasing) is ended all the same.
    const grace = new Promise<ResultMap['unload']>((resolve) => (graceTimer = setTimeout(() => resolve({ unloaded: true }), this.limits.unloadMs)));
    try {
      return await Promise.race([worker.request({ type: 'unload' }), grace]);
    } catch {
      return { unloaded: true };
    } finally {
      clearTimeout(graceTimer);
      worker.end({ code: 'aborted', detail: 'The model was unloaded.' });
    }
  }

  /** What the device can run (WebGPU, shader-f16), without loading anything. */
  probeDevice(): Promise<ResultMap['probe-device']> {
    return this.current().request({ type: 'probe-device' });
  }

  onDeviceLost(listener: (reason: string) => void): () => void {
    this.deviceLostListeners.add(listener);
    return () => this.deviceLostListeners.delete(listener);
  }

  /** The watchdog ended a hung worker: its model is unloaded. */
  onHung(listener: (error: ErrorValue) => void): () => void {
    this.hungListeners.add(listener);
    return () => this.hungListeners.delete(listener);
  }
}

let sharedClient: EngineClient | null = null;

/** The app's one engine (created on first use, so tests and pages without a model pay nothing). */
export function engineClient(): EngineClient {
  sharedClient ??= EngineClient.create();
  return sharedClient;
}
