/**
 * The main-thread side of a worker that speaks the protocol's request/answer pattern: requests
 * carry an `id`; events for that id go to the request's handler; one `result` or `error` settles
 * it. Worker errors reject with `EngineRequestError`, which carries the typed `ErrorValue`.
 */
import type { ErrorMessage } from './protocol.ts';
import type { ErrorValue } from '../lib/errors.ts';

export class EngineRequestError extends Error {
  constructor(readonly value: ErrorValue) {
    super(value.detail ?? value.code);
    this.name = 'EngineRequestError';
  }
}

interface Pending<M> {
  resolve(result: unknown): void;
  reject(error: EngineRequestError): void;
  onEvent?(message: M): void;
}

/** Messages this client understands: results, errors, events with an id, and id-less broadcasts. */
type AnyMessage = { type: string; id?: string; result?: unknown } | ErrorMessage;

export class RpcClient<Request extends { type: string; id: string }, Message extends AnyMessage> {
  private readonly pending = new Map<string, Pending<Message>>();

  constructor(
    protected readonly worker: Worker,
    /** Messages without a pending request (e.g. the device-lost broadcast). */
    private readonly onUnsolicited: (message: Message) => void = () => {},
  ) {
    worker.addEventListener('message', (event: MessageEvent<Message>) => this.dispatch(event.data));
    worker.addEventListener('error', (event) => {
      // A crashed worker fails every request in flight rather than leaving the UI waiting.
      this.failAll(new EngineRequestError({ code: 'unknown', detail: event.message || 'A worker crashed.' }));
    });
  }

  /** Rejects every request in flight with `error`. */
  protected failAll(error: EngineRequestError): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  /** Sends `body` with `id` and resolves with its result. */
  protected send<R>(body: Request, onEvent?: (message: Message) => void): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.set(body.id, { resolve: resolve as (r: unknown) => void, reject, onEvent });
      this.worker.postMessage(body);
    });
  }

  terminate(): void {
    this.worker.terminate();
  }

  private dispatch(message: Message): void {
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!pending) {
      this.onUnsolicited(message);
      return;
    }
    if (message.type === 'result') {
      this.pending.delete(message.id!);
      pending.resolve((message as { result: unknown }).result);
    } else if (message.type === 'error') {
      this.pending.delete(message.id!);
      pending.reject(new EngineRequestError((message as ErrorMessage).error));
    } else {
      pending.onEvent?.(message);
    }
  }
}
