import { afterEach, describe, expect, it } from 'vitest';
import { listenForReplyStops, requestReplyStop } from './reply-locks.ts';

describe('stop requests between tabs', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  /** Resolves with the stop requests received until `last` arrives. */
  function receiveUntil(last: string): Promise<string[]> {
    return new Promise((resolve) => {
      const received: string[] = [];
      cleanups.push(
        listenForReplyStops((id) => {
          received.push(id);
          if (id === last) resolve(received);
        }),
      );
    });
  }

  it('delivers the id of the reply to stop, and nothing malformed posted on the same channel', async () => {
    const received = receiveUntil('reply-2');
    const stranger = new BroadcastChannel('hanmadi:reply-stop');
    stranger.postMessage('stop');
    stranger.postMessage({ type: 'stop', messageId: 7 });
    stranger.postMessage({ type: 'start', messageId: 'reply-0' });
    stranger.close();
    requestReplyStop('reply-1');
    requestReplyStop('reply-2');
    expect(await received).toEqual(['reply-1', 'reply-2']);
  });

  it('stops delivering once the listener is closed', async () => {
    const stale: string[] = [];
    listenForReplyStops((id) => stale.push(id))();
    const received = receiveUntil('reply-3');
    requestReplyStop('reply-3');
    expect(await received).toEqual(['reply-3']);
    expect(stale).toEqual([]);
  });
});
