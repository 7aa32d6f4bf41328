import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { db, ROOT } from '../db/app-db.ts';
import { addMessage, createConversation, listConversations } from '../db/conversations.ts';
import { EXPORT_VERSION, IMPORT_LIMITS, type ImportLimits } from '../db/export-format.ts';
import { createConversationImportHandler } from './conversation-import-host.ts';
import type { ConversationImportMessage, ConversationImportProgress, ImportOutcome } from './protocol.ts';

/** An export file whose conversations hold `sizes[i]` messages each, every message `content`. */
function exportBlob(sizes: number[], content = '안녕', updatedAt = 1_700_000_000_000): Blob {
  const conversations = sizes.map((size, c) => {
    const ids = Array.from({ length: size }, (_, i) => `c${c}-m${i}`);
    return {
      id: `c${c}`,
      title: `대화 ${c}`,
      createdAt: 0,
      updatedAt,
      activeLeafId: ids[size - 1],
      systemPrompt: '',
      sampling: {},
      messages: ids.map((id, i) => ({ id, parentId: i ? ids[i - 1] : '', role: i % 2 ? 'assistant' : 'user', content, createdAt: i, status: 'complete' })),
    };
  });
  return new Blob([JSON.stringify({ format: 'hanmadi-conversations', version: EXPORT_VERSION, exportedAt: '', conversations })]);
}

/** Runs one import through the worker's handler; `onMessage` sees every message it posts. */
async function runImport(
  file: Blob,
  options: { limits?: Partial<ImportLimits>; onMessage?: (message: ConversationImportMessage, handle: (r: never) => Promise<void>) => void } = {},
) {
  const progress: ConversationImportProgress[] = [];
  let outcome: ImportOutcome | undefined;
  const handle = createConversationImportHandler(
    { locks: null, limits: { ...IMPORT_LIMITS, ...options.limits }, batchSize: 3, now: () => 1_800_000_000_000 },
    (message) => {
      if (message.type === 'import-progress') progress.push(message.progress);
      if (message.type === 'result' && message.request === 'import-conversations') outcome = message.result;
      options.onMessage?.(message, handle as (r: never) => Promise<void>);
    },
  );
  await handle({ type: 'import-conversations', id: 'import-1', file });
  return { progress, outcome };
}

async function stored() {
  return { conversations: await db.conversations.count(), messages: await db.messages.count(), pending: await db.pendingImports.count() };
}

describe('the conversation import worker', () => {
  let before: Awaited<ReturnType<typeof stored>>;
  beforeEach(async () => {
    await db.delete();
    await db.open();
    const existing = await createConversation({ title: '원래 대화' });
    await addMessage({ conversationId: existing.id, parentId: ROOT, role: 'user', content: '원래', status: 'complete' });
    before = await stored();
  });

  it('reads, checks and writes in batches with progress; future times are clamped to the import time', async () => {
    const { progress, outcome } = await runImport(exportBlob([4, 3], '안녕', 8e15));
    expect(outcome).toEqual({ outcome: 'imported', conversations: 2, messages: 7 });
    expect(progress.map((p) => `${p.phase} ${p.writtenMessages}/${p.totalMessages}`)).toEqual([
      'reading 0/0',
      'checking 0/0',
      'writing 0/7',
      'writing 3/7',
      'writing 6/7',
      'writing 7/7',
    ]);
    expect(await stored()).toEqual({ conversations: before.conversations + 2, messages: before.messages + 7, pending: 0 });
    const imported = (await listConversations()).filter((c) => c.title.startsWith('대화'));
    expect(imported.map((c) => c.updatedAt)).toEqual([1_800_000_000_000, 1_800_000_000_000]);
  });

  it('Cancel midway: the outcome says so and nothing of the file is kept', async () => {
    let cancelled = false;
    const { outcome } = await runImport(exportBlob([10]), {
      onMessage: (message, handle) => {
        if (!cancelled && message.type === 'import-progress' && message.progress.writtenMessages >= 3) {
          cancelled = true;
          void handle({ type: 'cancel-import', id: 'cancel-1', target: 'import-1' } as never);
        }
      },
    });
    expect(cancelled).toBe(true);
    expect(outcome).toEqual({ outcome: 'cancelled' });
    expect(await stored()).toEqual(before);
  });

  const caps: [string, Partial<ImportLimits>, Blob, object][] = [
    ['the file size', { fileBytes: 100 }, exportBlob([2]), { code: 'too-large', limitBytes: 100 }],
    ['messages in the file', { fileMessages: 5 }, exportBlob([3, 3]), { code: 'too-many-messages', limit: 5 }],
    ['messages in one conversation', { conversationMessages: 4 }, exportBlob([2, 5]), { code: 'conversation-too-long', title: '대화 1', limit: 4 }],
    [
      'one message’s length',
      { messageChars: 10 },
      exportBlob([2], '가'.repeat(11)),
      { code: 'text-too-long', path: 'conversations[0].messages[0].content', limit: 10 },
    ],
  ];
  it.each(caps)('a file over the cap on %s is refused with its limit, and nothing is written', async (_, limits, file, problem) => {
    expect((await runImport(file, { limits })).outcome).toEqual({ outcome: 'refused', problem });
    expect(await stored()).toEqual(before);
  });
});
