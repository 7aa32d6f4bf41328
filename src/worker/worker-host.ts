/**
 * Serves the protocol inside the worker: each request runs its task and answers exactly one
 * `result` or `error` for its id (web-llm's handleTask pattern, with typed messages). Events
 * (progress, tokens) are posted as they happen.
 */
import type { LlmEngine } from './engine.ts';
import { engineErrorOf } from '../lib/errors.ts';
import { probeWebGpu } from './gpu.ts';
import type { ResultMap, WorkerMessage, WorkerRequest } from './protocol.ts';

export function createRequestHandler(engine: LlmEngine, post: (message: WorkerMessage) => void): (request: WorkerRequest) => void {
  const answer = async <K extends keyof ResultMap>(request: K, id: string, phase: 'load' | 'generate', task: () => Promise<ResultMap[K]>) => {
    try {
      const result = await task();
      post({ type: 'result', id, request, result } as WorkerMessage);
    } catch (error) {
      post({ type: 'error', id, error: engineErrorOf(error, phase) });
    }
  };

  return (request) => {
    switch (request.type) {
      case 'load':
        return void answer('load', request.id, 'load', () =>
          engine.load(request.spec, {
            onPhase: (phase) => post({ type: 'load-phase', id: request.id, phase }),
            onProgress: (progress) => post({ type: 'load-progress', id: request.id, progress }),
            onDeviceLost: (reason) => post({ type: 'device-lost', reason }),
          }),
        );
      case 'generate':
        return void answer('generate', request.id, 'generate', () =>
          engine.generate(
            request.id,
            request.messages,
            request.sampling,
            request.continueFinal ?? false,
            (delta, generatedTokens) => post({ type: 'token', id: request.id, delta, generatedTokens }),
            (promptTokens) => post({ type: 'prompt-ready', id: request.id, promptTokens }),
          ),
        );
      case 'count-context':
        return void answer('count-context', request.id, 'generate', async () => engine.countContext(request.messages, request.maxNewTokens));
      case 'stop':
        return void answer('stop', request.id, 'generate', async () => ({ stopped: engine.stop(request.target) }));
      case 'reset-cache':
        return void answer('reset-cache', request.id, 'generate', async () => ({ disposedTokens: await engine.resetCache() }));
      case 'unload':
        return void answer('unload', request.id, 'load', async () => ({ unloaded: await engine.unload() }));
      case 'probe-device':
        return void answer('probe-device', request.id, 'load', () => probeWebGpu());
    }
  };
}
