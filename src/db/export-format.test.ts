import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { db, ROOT, type MessageRecord } from './app-db.ts';
import { addConversations, addMessage, conversationsWithMessages, createConversation, newId } from './conversations.ts';
import type { Attachment } from '../model/attachments.ts';
import {
  buildExport,
  EXPORT_VERSION,
  MAX_IMPORT_BYTES,
  MAX_IMPORT_MESSAGE_CHARS,
  MAX_IMPORT_MESSAGES,
  parseExport,
  toNewRecords,
  type ExportFile,
} from './export-format.ts';

function sampleFile(): ExportFile {
  return {
    format: 'hanmadi-conversations',
    version: EXPORT_VERSION,
    exportedAt: '2024-03-05T12:00:00.000Z',
    conversations: [
      {
        id: 'c1',
        title: '날씨',
        createdAt: 1_700_000_000_000,
        updatedAt: 1_700_000_100_000,
        activeLeafId: 'm3',
        systemPrompt: '존댓말로 답하세요.',
        sampling: { temperature: 0, maxNewTokens: 8 },
        messages: [
          {
            id: 'm1',
            parentId: '',
            role: 'user',
            content: '오늘 날씨 어때요?',
            attachments: [{ name: '예보.txt', kind: 'text', size: 31, text: '내일은 맑고 따뜻합니다.', tokens: 12 }],
            createdAt: 1_700_000_000_000,
            status: 'complete',
          },
          { id: 'm2', parentId: 'm1', role: 'assistant', content: '맑아요', createdAt: 1_700_000_001_000, status: 'complete', modelId: 'local:tiny-llama' },
          { id: 'm3', parentId: 'm1', role: 'assistant', content: '흐려', createdAt: 1_700_000_002_000, status: 'streaming' },
        ],
      },
    ],
  };
}

const text = (value: unknown) => JSON.stringify(value);

function withChange(change: (file: ExportFile & Record<string, unknown>) => void): string {
  const file = sampleFile() as ExportFile & Record<string, unknown>;
  change(file);
  return text(file);
}

describe('parseExport', () => {
  it('accepts a valid file', () => {
    const result = parseExport(text(sampleFile()));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.conversations[0].messages).toHaveLength(3);
  });

  it('refuses text that is not JSON', () => {
    expect(parseExport('{"format": "hanmadi-conversations", ')).toEqual({ ok: false, problem: { code: 'not-json' } });
    expect(parseExport('')).toEqual({ ok: false, problem: { code: 'not-json' } });
  });

  it('refuses JSON that is not a Hanmadi export', () => {
    expect(parseExport('[1, 2]')).toEqual({ ok: false, problem: { code: 'not-hanmadi' } });
    expect(parseExport(text({ conversations: [] }))).toEqual({ ok: false, problem: { code: 'not-hanmadi' } });
    expect(parseExport('null')).toEqual({ ok: false, problem: { code: 'not-hanmadi' } });
  });

  it('reads a version 1 file (before attachments)', () => {
    const result = parseExport(
      withChange((f) => {
        (f as Record<string, unknown>).version = 1;
        delete f.conversations[0].messages[0].attachments;
      }),
    );
    expect(result.ok && result.conversations[0].messages[0]).toMatchObject({ content: '오늘 날씨 어때요?' });
  });

  it('refuses other versions, naming the version, and a file without one', () => {
    expect(parseExport(withChange((f) => ((f as Record<string, unknown>).version = 3)))).toEqual({
      ok: false,
      problem: { code: 'unknown-version', version: '3' },
    });
    expect(parseExport(withChange((f) => delete (f as Record<string, unknown>).version))).toEqual({ ok: false, problem: { code: 'invalid', path: 'version' } });
  });

  it('refuses oversized text before parsing it', () => {
    const big = ' '.repeat(MAX_IMPORT_BYTES) + text(sampleFile());
    expect(parseExport(big)).toEqual({ ok: false, problem: { code: 'too-large', limitBytes: MAX_IMPORT_BYTES } });
  });

  it('refuses a file without conversations', () => {
    expect(parseExport(withChange((f) => (f.conversations = [])))).toEqual({ ok: false, problem: { code: 'empty' } });
  });

  it.each([
    ['conversations', (f: ExportFile) => ((f as unknown as Record<string, unknown>).conversations = 'x')],
    ['conversations[0].title', (f: ExportFile) => ((f.conversations[0] as unknown as Record<string, unknown>).title = 5)],
    ['conversations[0].updatedAt', (f: ExportFile) => (f.conversations[0].updatedAt = -1)],
    ['conversations[0].createdAt', (f: ExportFile) => (f.conversations[0].createdAt = 1e20)],
    ['conversations[0].sampling.temperature', (f: ExportFile) => (f.conversations[0].sampling = { temperature: 'hot' as unknown as number })],
    ['conversations[0].messages[1].role', (f: ExportFile) => ((f.conversations[0].messages[1] as unknown as Record<string, unknown>).role = 'system')],
    ['conversations[0].messages[0].content', (f: ExportFile) => delete (f.conversations[0].messages[0] as Partial<MessageRecord>).content],
    ['conversations[0].messages[2].status', (f: ExportFile) => ((f.conversations[0].messages[2] as unknown as Record<string, unknown>).status = 'done')],
    ['conversations[0].messages[1].stats.reusedTokens', (f: ExportFile) => (f.conversations[0].messages[1].stats = { prefillTokens: 1 } as never)],
    ['conversations[0].messages[2].id', (f: ExportFile) => (f.conversations[0].messages[2].id = 'm1')],
    ['conversations[0].messages[1].parentId', (f: ExportFile) => (f.conversations[0].messages[1].parentId = 'nowhere')],
    ['conversations[0].activeLeafId', (f: ExportFile) => (f.conversations[0].activeLeafId = 'gone')],
    ['conversations[0].messages[2]', (f: ExportFile) => ((f.conversations[0].messages as unknown[])[2] = 'text')],
    [
      'conversations[0].messages[0].attachments',
      (f: ExportFile) => ((f.conversations[0].messages[0] as unknown as Record<string, unknown>).attachments = 'doc'),
    ],
    ['conversations[0].messages[0].attachments[0].name', (f: ExportFile) => (f.conversations[0].messages[0].attachments![0].name = 'virus.exe')],
    ['conversations[0].messages[0].attachments[0].kind', (f: ExportFile) => (f.conversations[0].messages[0].attachments![0].kind = 'docx' as never)],
    ['conversations[0].messages[0].attachments[0].size', (f: ExportFile) => (f.conversations[0].messages[0].attachments![0].size = -3)],
    [
      'conversations[0].messages[0].attachments[0].text',
      (f: ExportFile) => delete (f.conversations[0].messages[0].attachments![0] as Partial<Attachment>).text,
    ],
    ['conversations[0].messages[0].attachments[0].tokens', (f: ExportFile) => (f.conversations[0].messages[0].attachments![0].tokens = 1.5)],
    ['conversations[0].messages[0].attachments[0]', (f: ExportFile) => ((f.conversations[0].messages[0].attachments as unknown[])[0] = null)],
    [
      'conversations[0].messages[1].attachments',
      (f: ExportFile) => (f.conversations[0].messages[1].attachments = [{ name: 'a.txt', kind: 'text', size: 1, text: 'a' }]),
    ],
  ])('points at a malformed %s', (path, change) => {
    expect(parseExport(withChange(change))).toEqual({ ok: false, problem: { code: 'invalid', path } });
  });

  it('refuses a message tree with a cycle', () => {
    const cyclic = withChange((f) => {
      f.conversations[0].messages[0].parentId = 'm2';
    });
    expect(parseExport(cyclic)).toMatchObject({ ok: false, problem: { code: 'invalid' } });
  });

  it('refuses a message longer than the per-message cap, naming it', () => {
    const long = withChange((f) => (f.conversations[0].messages[1].content = 'ㅋ'.repeat(MAX_IMPORT_MESSAGE_CHARS + 1)));
    expect(parseExport(long)).toEqual({
      ok: false,
      problem: { code: 'text-too-long', path: 'conversations[0].messages[1].content', limit: MAX_IMPORT_MESSAGE_CHARS },
    });
  });

  it('drops unknown sampling keys but keeps known ones', () => {
    const result = parseExport(withChange((f) => (f.conversations[0].sampling = { topK: 20, mirostat: 2 } as never)));
    expect(result.ok && result.conversations[0].sampling).toEqual({ topK: 20 });
  });
});

/** One conversation whose messages form a single chain (message i answers i - 1), as compact JSON; `cyclic`: the first answers the last. */
function chainFile(count: number, cyclic = false): string {
  const id = (i: number) => i.toString(36);
  const messages = Array.from({ length: count }, (_, i) => ({
    id: id(i),
    parentId: i === 0 ? (cyclic ? id(count - 1) : '') : id(i - 1),
    role: i % 2 ? 'assistant' : 'user',
    content: '',
    createdAt: i,
    status: 'complete',
  }));
  const conversation = { id: 'c', title: '', createdAt: 0, updatedAt: 0, activeLeafId: id(count - 1), systemPrompt: '', sampling: {}, messages };
  return text({ format: 'hanmadi-conversations', version: EXPORT_VERSION, exportedAt: '', conversations: [conversation] });
}

/**
 * Times a parse (crafted files must not freeze the page: validation is linear) in CPU time, not
 * wall time: the machine running the tests may be shared, and waiting for a core is not work.
 */
function timedParse(file: string) {
  const start = process.cpuUsage();
  const result = parseExport(file);
  const used = process.cpuUsage(start);
  return { result, ms: (used.user + used.system) / 1000 };
}

describe('import limits', () => {
  it('validates a chain of the largest allowed length in linear time', () => {
    const { result, ms } = timedParse(chainFile(MAX_IMPORT_MESSAGES));
    expect(result.ok && result.conversations[0].messages.length).toBe(MAX_IMPORT_MESSAGES);
    expect(ms).toBeLessThan(2000);
  });

  it('finds a cycle through a chain of the largest allowed length in linear time', () => {
    const { result, ms } = timedParse(chainFile(MAX_IMPORT_MESSAGES, true));
    expect(result).toMatchObject({ ok: false, problem: { code: 'invalid' } });
    expect(ms).toBeLessThan(2000);
  });

  it('refuses a 300k-message chain (it fits in 32 MB) at once, before validating it', () => {
    const file = chainFile(300_000);
    expect(new Blob([file]).size).toBeLessThan(MAX_IMPORT_BYTES);
    const { result, ms } = timedParse(file);
    expect(result).toEqual({ ok: false, problem: { code: 'too-many-messages', limit: MAX_IMPORT_MESSAGES } });
    expect(ms).toBeLessThan(2000);
  });
});

describe('toNewRecords', () => {
  it('clamps times in the future to the import time', () => {
    const result = parseExport(withChange((f) => ((f.conversations[0].updatedAt = 8e15), (f.conversations[0].messages[2].createdAt = 8e15))));
    if (!result.ok) throw new Error('must parse');
    const now = 1_800_000_000_000;
    const [{ conversation, messages }] = toNewRecords(result.conversations, newId, now);
    expect(conversation.updatedAt).toBe(now);
    expect(conversation.createdAt).toBe(1_700_000_000_000);
    expect(messages.map((m) => m.createdAt)).toEqual([1_700_000_000_000, 1_700_000_001_000, now]);
  });

  it('gives every conversation and message a new id and keeps the tree', () => {
    const result = parseExport(text(sampleFile()));
    if (!result.ok) throw new Error('sample must parse');
    let n = 0;
    const [{ conversation, messages }] = toNewRecords(result.conversations, () => `new-${++n}`);
    expect(conversation.id).toBe('new-1');
    expect(messages.map((m) => m.id)).toEqual(['new-2', 'new-3', 'new-4']);
    expect(messages.map((m) => m.parentId)).toEqual([ROOT, 'new-2', 'new-2']);
    expect(messages.every((m) => m.conversationId === 'new-1')).toBe(true);
    expect(conversation.activeLeafId).toBe('new-4');
    // A reply that was still streaming when exported is marked interrupted.
    expect(messages[2].status).toBe('interrupted');
    expect(messages[0].attachments).toEqual([{ name: '예보.txt', kind: 'text', size: 31, text: '내일은 맑고 따뜻합니다.', tokens: 12 }]);
    expect(messages[1].attachments).toBeUndefined();
    expect(conversation).toMatchObject({
      title: '날씨',
      systemPrompt: '존댓말로 답하세요.',
      sampling: { temperature: 0, maxNewTokens: 8 },
      updatedAt: 1_700_000_100_000,
    });
  });
});

describe('export → import round trip (IndexedDB)', () => {
  beforeEach(async () => {
    await db.delete();
    await db.open();
  });

  it('imports a copy beside the original, overwriting nothing', async () => {
    const original = await createConversation({ title: 'Round trip', systemPrompt: 'Be brief.' });
    const user = await addMessage({ conversationId: original.id, parentId: ROOT, role: 'user', content: '안녕', status: 'complete' });
    await addMessage({ conversationId: original.id, parentId: user.id, role: 'assistant', content: '**반가워요**', status: 'stopped' });
    const document: Attachment = { name: '회의록.md', kind: 'markdown', size: 40, text: '# 회의록\n예산은 삼백만 원입니다.', tokens: 20 };
    await addMessage({ conversationId: original.id, parentId: user.id, role: 'user', content: '요약해 줘', attachments: [document], status: 'complete' });

    const file = JSON.stringify(buildExport(await conversationsWithMessages()));
    const parsed = parseExport(file);
    if (!parsed.ok) throw new Error(`round trip failed: ${JSON.stringify(parsed.problem)}`);
    await addConversations(toNewRecords(parsed.conversations, newId));

    const all = await conversationsWithMessages();
    expect(all).toHaveLength(2);
    const copy = all.find((c) => c.conversation.id !== original.id)!;
    expect(copy.conversation).toMatchObject({ title: 'Round trip', systemPrompt: 'Be brief.' });
    expect(copy.messages.map((m) => m.content).sort()).toEqual(['**반가워요**', '안녕', '요약해 줘']);
    expect(copy.messages.find((m) => m.content === '요약해 줘')?.attachments).toEqual([document]);
    expect(copy.messages.some((m) => m.id === user.id)).toBe(false);
    expect(await db.messages.where('conversationId').equals(original.id).count()).toBe(3);
  });
});
