/**
 * Upgrades keep what the user made. Each earlier schema of the database is frozen here as it
 * shipped; a database written with it (conversations, a message tree with versions, documents on
 * a message) is opened with the app's current schema, and every conversation and message must be
 * found unchanged, with the tables added since usable. A future version's upgrade that loses or
 * rewrites a message fails here. (Attachments needed no version: they are an optional, unindexed
 * field of the message, so a message from before them simply has none.)
 */
import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { AppDB, ROOT, type ConversationRecord, type MessageRecord } from './app-db.ts';

/** The stores of each shipped version, cumulative, as `AppDB` declared them. */
const SHIPPED_SCHEMAS: Record<number, Record<string, string>> = {
  1: { conversations: 'id, updatedAt', messages: 'id, conversationId, [conversationId+parentId]' },
  2: {
    storedModels: '[modelKey+dtype], lastUsedAt',
    modelFiles: '[modelKey+path]',
    modelChunks: '[modelKey+path+index]',
    userModels: 'id, addedAt',
  },
  3: { pendingImports: 'id' },
};

const conversations: ConversationRecord[] = [
  { id: 'c1', title: '서울 날씨', createdAt: 1_000, updatedAt: 5_000, activeLeafId: 'm4', systemPrompt: '한국어로 답하세요.', sampling: { temperature: 0.3 } },
  { id: 'c2', title: 'Empty', createdAt: 2_000, updatedAt: 2_000, activeLeafId: ROOT, systemPrompt: '', sampling: {} },
];

function messagesFor(version: number): MessageRecord[] {
  const base = (id: string, parentId: string, role: MessageRecord['role'], content: string, createdAt: number): MessageRecord => ({
    id,
    conversationId: 'c1',
    parentId,
    role,
    content,
    createdAt,
    status: 'complete',
  });
  const list: MessageRecord[] = [
    base('m1', ROOT, 'user', '오늘 서울 날씨 어때요?', 1_100),
    {
      ...base('m2', 'm1', 'assistant', '맑고 따뜻합니다.', 1_200),
      modelId: 'kanana-nano-2.1b',
      stats: {
        prefillTokens: 12,
        reusedTokens: 0,
        promptTokens: 12,
        timeToFirstTokenMs: 80,
        prefillTokensPerSecond: 150,
        decodeTokens: 5,
        decodeTokensPerSecond: 20,
        totalMs: 330,
      },
    },
    base('m3', ROOT, 'user', '내일은요?', 3_000), // an edited version of m1: same parent
    { ...base('m4', 'm3', 'assistant', '비가 옵니다', 3_100), status: 'stopped' },
  ];
  // Documents arrived while version 3 was current.
  if (version >= 3) list[2] = { ...list[2], attachments: [{ name: '예보.txt', kind: 'text', size: 42, text: '내일 서울: 비, 12도', tokens: 9 }] };
  return list;
}

const opened: Dexie[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) db.close();
});

async function writeWithShippedSchema(name: string, version: number): Promise<void> {
  const old = new Dexie(name);
  for (let v = 1; v <= version; v++) old.version(v).stores(SHIPPED_SCHEMAS[v]);
  await old.open();
  await old.table('conversations').bulkAdd(conversations);
  await old.table('messages').bulkAdd(messagesFor(version));
  old.close();
}

describe('AppDB upgrades', () => {
  it('knows every shipped version (a new version must be frozen here too)', () => {
    const current = new AppDB('hanmadi-migration-current');
    opened.push(current);
    expect(current.verno).toBe(Math.max(...Object.keys(SHIPPED_SCHEMAS).map(Number)));
  });

  for (const version of Object.keys(SHIPPED_SCHEMAS).map(Number)) {
    it(`opens a database written by version ${version} and finds every conversation and message unchanged`, async () => {
      const name = `hanmadi-migration-v${version}`;
      await writeWithShippedSchema(name, version);

      const db = new AppDB(name);
      opened.push(db);
      await db.open();
      expect(db.verno).toBe(new AppDB('x').verno);
      expect(await db.conversations.orderBy('updatedAt').toArray()).toEqual([conversations[1], conversations[0]]);
      const stored = await db.messages.where('conversationId').equals('c1').sortBy('createdAt');
      expect(stored).toEqual(messagesFor(version));
      // The indexes the app reads a thread with still work.
      expect(await db.messages.where({ conversationId: 'c1', parentId: ROOT }).primaryKeys()).toEqual(['m1', 'm3']);

      // The tables added since are there and writable; a new message may carry documents.
      await db.pendingImports.add({ id: 'import-1', conversationIds: ['c1'], startedAt: 6_000 });
      await db.messages.add({ ...messagesFor(version)[0], id: 'm5', attachments: [{ name: 'a.md', kind: 'markdown', size: 3, text: '# a' }] });
      expect((await db.messages.get('m5'))?.attachments?.[0].text).toBe('# a');
    });
  }
});
