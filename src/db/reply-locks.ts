/**
 * Who writes a reply, across tabs (Web Locks, released by the browser when a tab closes or
 * crashes). The tab writing a reply holds two locks until its final save: one per conversation, so
 * a second tab is refused at once instead of writing beside it, and one per message, so any tab
 * can tell a reply still being written from one whose writer is gone. A reply saved as
 * `streaming` whose message lock is free was cut off: it is marked `interrupted`; one whose lock is
 * held is watched, and marked when its writer goes away without finishing it. Without the Web
 * Locks API (Node tests) every claim succeeds and every streaming reply counts as cut off.
 * Another tab's Stop reaches the writer over a BroadcastChannel (locks carry no messages).
 */
import { db } from './app-db.ts';

const conversationLock = (conversationId: string) => `hanmadi:reply-conversation:${conversationId}`;
const messageLock = (messageId: string) => `hanmadi:reply-message:${messageId}`;

function locks(): LockManager | null {
  return (globalThis.navigator as Navigator | undefined)?.locks ?? null;
}

/** Holds `name` until the returned release is called; null at once when `ifAvailable` and someone holds it. */
function hold(manager: LockManager, name: string, ifAvailable: boolean): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    manager
      .request(name, { mode: 'exclusive', ifAvailable }, (lock) => {
        if (!lock) return resolve(null);
        return new Promise<void>((release) => resolve(release));
      })
      .catch(reject);
  });
}

/** This tab's right to write one reply; release it once the reply's final save is done (or failed). */
export interface ReplyWriter {
  release(): void;
}

/**
 * Claims the writing of reply `messageId` in a conversation; null when another tab (or this one)
 * is writing a reply there.
 */
export async function claimReplyWriter(conversationId: string, messageId: string): Promise<ReplyWriter | null> {
  const manager = locks();
  if (!manager) return { release: () => {} };
  const releaseConversation = await hold(manager, conversationLock(conversationId), true);
  if (!releaseConversation) return null;
  // Waited for, not refused: a watching tab holds a free message lock for a moment only.
  const releaseMessage = await hold(manager, messageLock(messageId), false).catch((error: unknown) => {
    releaseConversation();
    throw error;
  });
  return {
    release() {
      releaseMessage?.();
      releaseConversation();
    },
  };
}

/** With the message lock held: a reply still `streaming` has no writer any more. */
async function markIfStillStreaming(messageId: string): Promise<void> {
  await db.messages
    .where(':id')
    .equals(messageId)
    .and((m) => m.status === 'streaming')
    .modify({ status: 'interrupted' })
    .catch(() => undefined); // storage refusing the mark leaves it for the next start
}

const watched = new Set<string>();

/**
 * A streaming reply this tab does not write: marked interrupted now if its writer is gone, else
 * when the writer lets go without having finished it. Resolves once the first check is done.
 */
export async function watchReplyWriter(messageId: string): Promise<void> {
  const manager = locks();
  if (!manager) return markIfStillStreaming(messageId);
  if (watched.has(messageId)) return;
  watched.add(messageId);
  const free = await manager.request(messageLock(messageId), { ifAvailable: true }, async (lock) => {
    if (lock) await markIfStillStreaming(messageId);
    return lock !== null;
  });
  if (free) {
    watched.delete(messageId);
    return;
  }
  void manager
    .request(messageLock(messageId), () => markIfStillStreaming(messageId))
    .catch(() => undefined)
    .finally(() => watched.delete(messageId));
}

/** The start-up sweep: every streaming reply whose writer is gone becomes interrupted; the others are watched. */
export async function sweepInterruptedReplies(): Promise<void> {
  const streaming = await db.messages.filter((m) => m.status === 'streaming').primaryKeys();
  await Promise.all(streaming.map(watchReplyWriter));
}

const STOP_CHANNEL = 'hanmadi:reply-stop';

interface StopRequest {
  type: 'stop';
  messageId: string;
}

function isStopRequest(data: unknown): data is StopRequest {
  return typeof data === 'object' && data !== null && (data as StopRequest).type === 'stop' && typeof (data as StopRequest).messageId === 'string';
}

/** Asks whichever tab writes reply `messageId` to stop it; that tab keeps what it wrote, as its own Stop does. */
export function requestReplyStop(messageId: string): void {
  if (typeof BroadcastChannel === 'undefined') return;
  const channel = new BroadcastChannel(STOP_CHANNEL);
  const request: StopRequest = { type: 'stop', messageId };
  // Posted messages are delivered even though this end closes at once.
  channel.postMessage(request);
  channel.close();
}

/** Calls `onStop` with each reply another tab asks to stop; returns the function that stops listening. */
export function listenForReplyStops(onStop: (messageId: string) => void): () => void {
  if (typeof BroadcastChannel === 'undefined') return () => {};
  const channel = new BroadcastChannel(STOP_CHANNEL);
  channel.onmessage = (event: MessageEvent<unknown>) => {
    if (isStopRequest(event.data)) onStop(event.data.messageId);
  };
  return () => channel.close();
}
