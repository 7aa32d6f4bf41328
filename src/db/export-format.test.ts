import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { db, ROOT, type MessageRecord } from './app-db.ts';
import { addMessage, conversationsWithMessages, createConversation, newId } from './conversations.ts';
import { writeImport } from './conversation-import.ts';
import type { Attachment } from '../model/attachments.ts';
import { buildExport, EXPORT_VERSION, IMPORT_LIMITS, parseExport, validateExport, toNewRecords, type ExportFile } from './export-format.ts';

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
    const big = ' '.repeat(IMPORT_LIMITS.fileBytes) + text(sampleFile());
    expect(parseExport(big)).toEqual({ ok: false, problem: { code: 'too-large', limitBytes: IMPORT_LIMITS.fileBytes } });
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
    const long = withChange((f) => (f.conversations[0].messages[1].content = 'ㅋ'.repeat(IMPORT_LIMITS.messageChars + 1)));
    expect(parseExport(long)).toEqual({
      ok: false,
      problem: { code: 'text-too-long', path: 'conversations[0].messages[1].content', limit: IMPORT_LIMITS.messageChars },
    });
  });

  it('drops unknown sampling keys but keeps known ones', () => {
    const result = parseExport(withChange((f) => (f.conversations[0].sampling = { topK: 20, mirostat: 2 } as never)));
    expect(result.ok && result.conversations[0].sampling).toEqual({ topK: 20 });
  });
});

/** One conversation whose messages form a single chain (message i answers i - 1); `cyclic`: the first answers the last. */
function chain(count: number, cyclic = false) {
  const id = (i: number) => i.toString(36);
  const messages = Array.from({ length: count }, (_, i) => ({
    id: id(i),
    parentId: i === 0 ? (cyclic ? id(count - 1) : '') : id(i - 1),
    role: i % 2 ? 'assistant' : 'user',
    content: '',
    createdAt: i,
    status: 'complete',
  }));
  const conversation = { id: 'c', title: '긴 대화', createdAt: 0, updatedAt: 0, activeLeafId: id(count - 1), systemPrompt: '', sampling: {}, messages };
  return { format: 'hanmadi-conversations', version: EXPORT_VERSION, exportedAt: '', conversations: [conversation] };
}

/** Validation's steps for a parsed file, with every count limit out of the way. */
function stepsFor(file: unknown): { steps: number; ok: boolean } {
  const steps = { count: 0 };
  const limits = { ...IMPORT_LIMITS, fileMessages: Infinity, conversationMessages: Infinity };
  const result = validateExport(file, { limits, steps });
  return { steps: steps.count, ok: result.ok };
}

describe('import limits', () => {
  it('visits each message of a chain a bounded number of times (30,000 and 300,000 messages)', () => {
    const small = stepsFor(chain(30_000));
    const large = stepsFor(chain(300_000));
    expect(small.ok && large.ok).toBe(true);
    // Read once, indexed once, walked once: three visits each, whatever the length.
    expect(small.steps).toBe(3 * 30_000);
    expect(large.steps).toBe(3 * 300_000);
  });

  it('finds a cycle through a chain in a bounded number of visits too', () => {
    const { steps, ok } = stepsFor(chain(300_000, true));
    expect(ok).toBe(false);
    expect(steps).toBeLessThanOrEqual(3 * 300_000 + 1);
  });

  it('refuses a conversation over the per-conversation cap before reading its messages, naming it and the cap', () => {
    const steps = { count: 0 };
    const result = validateExport(chain(IMPORT_LIMITS.conversationMessages + 1), { limits: IMPORT_LIMITS, steps });
    expect(result).toEqual({ ok: false, problem: { code: 'conversation-too-long', title: '긴 대화', limit: IMPORT_LIMITS.conversationMessages } });
    expect(steps.count).toBe(0);
  });

  it('refuses a file over the per-file message cap before reading any message', () => {
    const half = chain(IMPORT_LIMITS.fileMessages / 2 + 1);
    const file = { ...half, conversations: [half.conversations[0], { ...half.conversations[0], id: 'd' }] };
    const steps = { count: 0 };
    expect(validateExport(file, { limits: IMPORT_LIMITS, steps })).toEqual({
      ok: false,
      problem: { code: 'too-many-messages', limit: IMPORT_LIMITS.fileMessages },
    });
    expect(steps.count).toBe(0);
  });

  it('accepts a 200,000-message conversation, the largest e2e import', () => {
    const text = JSON.stringify(chain(200_000));
    expect(new Blob([text]).size).toBeLessThan(IMPORT_LIMITS.fileBytes);
    expect(parseExport(text).ok).toBe(true);
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
    await writeImport(toNewRecords(parsed.conversations, newId));

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
