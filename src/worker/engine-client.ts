/**
 * The main-thread facade of the LLM worker: one method per request, each returning a promise of
 * its typed result and taking callbacks for its events. Worker errors reject with
 * `EngineRequestError`, which carries the typed `EngineErrorValue`.
 */
import type { ChatMessage, ContextCount, FileProgress, GenerateResult, LoadResult, LoadSpec, ResultMap, SamplingParams, WorkerMessage, WorkerRequest } from './protocol.ts';
import { EngineRequestError, RpcClient } from './rpc-client.ts';

export { EngineRequestError } from './rpc-client.ts';

/** Distributive Omit, so each request keeps its own fields. */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

export class EngineClient extends RpcClient<WorkerRequest, WorkerMessage> {
  private deviceLostListeners = new Set<(reason: string) => void>();

  constructor(worker: Worker) {
    super(worker, (message) => {
      if (message.type !== 'device-lost') return;
      // Whatever was running on the GPU will not finish: fail it now rather than leave the UI waiting.
      this.failAll(new EngineRequestError({ code: 'device-lost', detail: message.reason }));
      for (const listener of this.deviceLostListeners) listener(message.reason);
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
    const result = this.request(
      { type: 'generate', messages, sampling, ...options },
      (message) => {
        if (message.type === 'token') onDelta(message.delta, message.generatedTokens);
      },
      id,
    );
    return { id, result };
  }

  /** The context budget of `messages` (the last being the draft), planned as a reply would be. */
  countContext(messages: ChatMessage[], maxNewTokens: number): Promise<ContextCount> {
    return this.request({ type: 'count-context', messages, maxNewTokens });
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

  /** What the device can run (WebGPU, shader-f16), without loading anything. */
  probeDevice(): Promise<ResultMap['probe-device']> {
    return this.request({ type: 'probe-device' });
  }

  onDeviceLost(listener: (reason: string) => void): () => void {
    this.deviceLostListeners.add(listener);
    return () => this.deviceLostListeners.delete(listener);
  }

  private request<K extends keyof ResultMap>(body: Extract<RequestBody, { type: K }>, onEvent?: (message: WorkerMessage) => void, id: string = crypto.randomUUID()): Promise<ResultMap[K]> {
    return this.send<ResultMap[K]>({ ...body, id } as WorkerRequest, onEvent);
  }
}

let sharedClient: EngineClient | null = null;

/** The app's one engine (created on first use, so tests and pages without a model pay nothing). */
export function engineClient(): EngineClient {
  sharedClient ??= EngineClient.create();
  return sharedClient;
}
