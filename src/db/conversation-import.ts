/**
 * Writing an imported file's conversations without freezing anything and without leaving half of
 * it behind. Messages go in batches, each its own short transaction, so the page's reads and other
 * tabs' writes go on between them; the conversations go last, in one transaction that also ends
 * the import. Until then the messages belong to no conversation: no list, search or thread shows
 * them. A marker (pendingImports) names the import's conversations and a Web Lock is held while it
 * writes, so a sweep can tell an import another tab is writing from one whose tab went away, and
 * delete what the latter wrote. Cancel and a failed write delete it at once.
 */
import { db } from './app-db.ts';
import { newId } from './conversations.ts';
import type { ConversationWithMessages } from './export-format.ts';

/** Messages per transaction: a few hundred kB, short enough that reads between them are not kept waiting. */
export const IMPORT_BATCH_MESSAGES = 2_000;

export class ImportCancelled extends Error {
  constructor() {
    super('The import was cancelled.');
    this.name = 'ImportCancelled';
  }
}

export interface ImportWriteOptions {
  /** Called after each batch with the messages written so far. */
  onProgress?: (writtenMessages: number, totalMessages: number) => void;
  /** Checked between batches: aborting deletes what was written and rejects with ImportCancelled. */
  signal?: AbortSignal;
  /** Web Locks (absent in Node tests: then a sweep takes every marker for abandoned). */
  locks?: LockManager | null;
  batchSize?: number;
}

const importLock = (importId: string) => `hanmadi:conversation-import:${importId}`;

/** Deletes whatever an import wrote, and its marker, in one transaction. */
async function removeImport(importId: string, conversationIds: readonly string[]): Promise<void> {
  await db.transaction('rw', db.messages, db.conversations, db.pendingImports, async () => {
    await db.messages
      .where('conversationId')
      .anyOf([...conversationIds])
      .delete();
    await db.conversations.bulkDelete([...conversationIds]);
    await db.pendingImports.delete(importId);
  });
}

/** Writes validated conversations (new ids already given): all of them, or nothing. */
export async function writeImport(records: readonly ConversationWithMessages[], options: ImportWriteOptions = {}): Promise<void> {
  const { onProgress, signal, locks = null, batchSize = IMPORT_BATCH_MESSAGES } = options;
  const importId = newId();
  const conversationIds = records.map((r) => r.conversation.id);
  const messages = records.flatMap((r) => r.messages);
  const write = async () => {
    await db.pendingImports.add({ id: importId, conversationIds, startedAt: Date.now() });
    try {
      for (let start = 0; start < messages.length; start += batchSize) {
        if (signal?.aborted) throw new ImportCancelled();
        await db.messages.bulkAdd(messages.slice(start, start + batchSize));
        onProgress?.(Math.min(start + batchSize, messages.length), messages.length);
      }
      if (signal?.aborted) throw new ImportCancelled();
      await db.transaction('rw', db.conversations, db.pendingImports, async () => {
        await db.conversations.bulkAdd(records.map((r) => r.conversation));
        await db.pendingImports.delete(importId);
      });
    } catch (error) {
      // If even this fails (storage gone), the marker stays and the next sweep deletes it.
      await removeImport(importId, conversationIds).catch(() => undefined);
      throw error;
    }
  };
  // The lock is taken before the marker exists, so no sweep ever sees this import unlocked.
  await (locks ? locks.request(importLock(importId), write) : write());
}

/** Deletes what imports whose tab went away (closed, crashed) wrote; imports under way in other tabs are left alone. */
export async function sweepAbandonedImports(locks: LockManager | null): Promise<number> {
  let swept = 0;
  for (const pending of await db.pendingImports.toArray()) {
    const sweep = async () => {
      await removeImport(pending.id, pending.conversationIds);
      swept++;
    };
    if (!locks) await sweep();
    else await locks.request(importLock(pending.id), { ifAvailable: true }, (lock) => (lock ? sweep() : undefined));
  }
  return swept;
}

/** Whether an import's marker is stored (the app asks the import worker to sweep only then). */
export async function hasPendingImports(): Promise<boolean> {
  return (await db.pendingImports.count()) > 0;
}
