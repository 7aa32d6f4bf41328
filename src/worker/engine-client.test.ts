import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineClient, EngineRequestError } from './engine-client.ts';
import type { GenerateResult, WorkerMessage, WorkerRequest } from './protocol.ts';

/** A worker that records what it is sent and answers only when the test says so (or never: a hung template). */
class ScriptedWorker {
  readonly sent: WorkerRequest[] = [];
  terminated = false;
  private listeners: ((event: MessageEvent<WorkerMessage>) => void)[] = [];

  addEventListener(type: string, listener: (event: MessageEvent<WorkerMessage>) => void): void {
    if (type === 'message') this.listeners.push(listener);
  }

  postMessage(request: WorkerRequest): void {
    this.sent.push(request);
  }

  terminate(): void {
    this.terminated = true;
  }

  emit(message: WorkerMessage): void {
    for (const listener of this.listeners) listener({ data: message } as MessageEvent<WorkerMessage>);
  }
}

const LIMITS = { promptMs: 1_000, unloadMs: 500 };
const SAMPLING = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 4 };

describe('EngineClient watchdog', () => {
  let workers: ScriptedWorker[];
  let client: EngineClient;

  beforeEach(() => {
    vi.useFakeTimers();
    workers = [];
    client = new EngineClient(() => {
      const worker = new ScriptedWorker();
      workers.push(worker);
      return worker as unknown as Worker;
    }, LIMITS);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends a worker stuck counting a draft (a template that never finishes) and says so', async () => {
    const hung = vi.fn();
    client.onHung(hung);
    const count = client.countContext([{ role: 'user', content: '안녕' }], 4);
    const failure = count.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(LIMITS.promptMs - 1);
    expect(workers[0].terminated).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    const error = await failure;
    expect(error).toBeInstanceOf(EngineRequestError);
    expect((error as EngineRequestError).value).toMatchObject({ code: 'engine-hung', params: { seconds: 1 } });
    expect(workers[0].terminated).toBe(true);
    expect(hung).toHaveBeenCalledWith(expect.objectContaining({ code: 'engine-hung' }));
    // The next request gets a fresh worker, not the dead one.
    void client.countContext([{ role: 'user', content: '' }], 1).catch(() => undefined);
    expect(workers).toHaveLength(2);
  });

  it('stands down once the prompt is ready: a reply may then take as long as it takes', async () => {
    const hung = vi.fn();
    client.onHung(hung);
    const { id, result } = client.generate([{ role: 'user', content: '안녕' }], SAMPLING, () => undefined);
    workers[0].emit({ type: 'prompt-ready', id, promptTokens: 12 });
    await vi.advanceTimersByTimeAsync(LIMITS.promptMs * 10);
    expect(workers[0].terminated).toBe(false);
    expect(hung).not.toHaveBeenCalled();

    const done = { text: '네', tokenIds: [1], finishReason: 'length' } as unknown as GenerateResult;
    workers[0].emit({ type: 'result', id, request: 'generate', result: done });
    await expect(result).resolves.toBe(done);
  });

  it('ends a worker whose reply never gets past its prompt', async () => {
    const { result } = client.generate([{ role: 'user', content: '안녕' }], SAMPLING, () => undefined);
    const failure = result.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(LIMITS.promptMs);
    expect(((await failure) as EngineRequestError).value.code).toBe('engine-hung');
    expect(workers[0].terminated).toBe(true);
  });

  it('an answered count leaves the worker alone', async () => {
    const count = client.countContext([{ role: 'user', content: '안녕' }], 4);
    const request = workers[0].sent[0];
    workers[0].emit({ type: 'result', id: request.id, request: 'count-context', result: { fits: true } } as unknown as WorkerMessage);
    await count;
    await vi.advanceTimersByTimeAsync(LIMITS.promptMs * 2);
    expect(workers[0].terminated).toBe(false);
  });

  it('unloads a worker that does not answer within the grace period by ending it', async () => {
    void client.countContext([{ role: 'user', content: '' }], 1).catch(() => undefined);
    const unloaded = client.unload();
    await vi.advanceTimersByTimeAsync(LIMITS.unloadMs);
    await expect(unloaded).resolves.toEqual({ unloaded: true });
    expect(workers[0].terminated).toBe(true);
  });
});
