import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { db, ROOT, type MessageRecord } from './app-db.ts';
import { addMessage, createConversation } from './conversations.ts';
import { ImportCancelled, sweepAbandonedImports, writeImport } from './conversation-import.ts';
import type { ConversationWithMessages } from './export-format.ts';
import { searchConversations } from './search.ts';

/** One imported conversation whose `count` messages form a chain, each saying `word`. */
function imported(id: string, count: number, word = '사과'): ConversationWithMessages {
  const messages: MessageRecord[] = Array.from({ length: count }, (_, i) => ({
    id: `${id}-m${i}`,
    conversationId: id,
    parentId: i === 0 ? ROOT : `${id}-m${i - 1}`,
    role: i % 2 ? 'assistant' : 'user',
    content: `${word} ${i}`,
    createdAt: i,
    status: 'complete',
  }));
  return {
    conversation: { id, title: `가져온 ${id}`, createdAt: 0, updatedAt: 1, activeLeafId: messages[count - 1].id, systemPrompt: '', sampling: {} },
    messages,
  };
}

async function counts() {
  return { conversations: await db.conversations.count(), messages: await db.messages.count(), pending: await db.pendingImports.count() };
}

describe('writeImport', () => {
  let before: Awaited<ReturnType<typeof counts>>;
  beforeEach(async () => {
    await db.delete();
    await db.open();
    const existing = await createConversation({ title: '원래 대화' });
    await addMessage({ conversationId: existing.id, parentId: ROOT, role: 'user', content: '사과나무', status: 'complete' });
    before = await counts();
  });

  it('writes every message in batches, and the conversations only at the end: none shows half-written', async () => {
    const written: number[] = [];
    await writeImport([imported('a', 5), imported('b', 4)], { batchSize: 2, onProgress: (count, total) => void written.push(count, total) });
    expect(written).toEqual([2, 9, 4, 9, 6, 9, 8, 9, 9, 9]);
    expect(await counts()).toEqual({ conversations: before.conversations + 2, messages: before.messages + 9, pending: 0 });
    expect((await searchConversations('사과')).map((h) => h.conversation.title).sort()).toEqual(['가져온 a', '가져온 b', '원래 대화']);
  });

  it('shows nothing of an import under way: no conversation, no search hit', async () => {
    const during: { conversations: number; titles: string[] }[] = [];
    const probes: Promise<void>[] = [];
    await writeImport([imported('a', 6)], {
      batchSize: 2,
      onProgress: (written) => {
        if (written < 6)
          probes.push(
            (async () =>
              void during.push({
                conversations: await db.conversations.count(),
                titles: (await searchConversations('사과')).map((h) => h.conversation.title),
              }))(),
          );
      },
    });
    await Promise.all(probes);
    expect(during).toHaveLength(2);
    for (const view of during) expect(view).toEqual({ conversations: before.conversations, titles: ['원래 대화'] });
  });

  it('Cancel midway deletes what was written', async () => {
    const controller = new AbortController();
    const writing = writeImport([imported('a', 7)], { batchSize: 2, signal: controller.signal, onProgress: (written) => written >= 4 && controller.abort() });
    await expect(writing).rejects.toBeInstanceOf(ImportCancelled);
    expect(await counts()).toEqual(before);
  });

  it('a write refused midway (a batch fails) leaves nothing behind', async () => {
    const broken = imported('a', 7);
    broken.messages[5].id = broken.messages[1].id; // the third batch fails: a key already stored
    await expect(writeImport([broken], { batchSize: 2 })).rejects.toThrow();
    expect(await counts()).toEqual(before);
  });
});

describe('sweepAbandonedImports', () => {
  beforeEach(async () => {
    await db.delete();
    await db.open();
  });

  it('deletes what an import whose tab went away wrote, and leaves everything else', async () => {
    const kept = await createConversation({ title: '원래 대화' });
    await addMessage({ conversationId: kept.id, parentId: ROOT, role: 'user', content: '남아요', status: 'complete' });
    // What a tab closed between two batches leaves: the marker and some of its messages.
    const abandoned = imported('gone', 4);
    await db.pendingImports.add({ id: 'import-1', conversationIds: ['gone'], startedAt: 0 });
    await db.messages.bulkAdd(abandoned.messages.slice(0, 3));
    expect(await sweepAbandonedImports(null)).toBe(1);
    expect(await counts()).toEqual({ conversations: 1, messages: 1, pending: 0 });
    expect(await sweepAbandonedImports(null)).toBe(0);
  });
});
