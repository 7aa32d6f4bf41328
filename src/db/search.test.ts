import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { db, ROOT, type ConversationRecord, type MessageRecord } from './app-db.ts';
import { addMessage, createConversation } from './conversations.ts';
import { findInText, normalizeForSearch, searchConversations, searchRecords, searchTerms } from './search.ts';

const conversation = (id: string, title: string, updatedAt: number): ConversationRecord => ({
  id,
  title,
  createdAt: updatedAt,
  updatedAt,
  activeLeafId: ROOT,
  systemPrompt: '',
  sampling: {},
});

const message = (id: string, conversationId: string, content: string, createdAt = 1): MessageRecord => ({
  id,
  conversationId,
  parentId: ROOT,
  role: 'user',
  content,
  createdAt,
  status: 'complete',
});

describe('findInText', () => {
  it('finds a Hangul word inside a sentence', () => {
    expect(findInText('오늘 날씨 어때요', searchTerms('날씨'))).toEqual({ before: '오늘 ', match: '날씨', after: ' 어때요' });
    expect(findInText('오늘 날씨 어때요', searchTerms('날씨가'))).toBeNull();
  });

  it('matches inside eojeol (particles attached) and across syllables', () => {
    expect(findInText('서울의날씨는맑아요', searchTerms('날씨'))?.match).toBe('날씨');
    expect(findInText('안녕하세요', searchTerms('녕하'))?.match).toBe('녕하');
  });

  it('treats decomposed (NFD) and precomposed (NFC) Hangul alike, both ways', () => {
    const nfd = '날씨'.normalize('NFD');
    expect(nfd).not.toBe('날씨');
    expect(findInText('오늘 날씨 어때요', searchTerms(nfd))?.match).toBe('날씨');
    expect(findInText('오늘 날씨 어때요'.normalize('NFD'), searchTerms('날씨'))).toEqual({ before: '오늘 ', match: '날씨', after: ' 어때요' });
  });

  it('ignores Latin case and keeps the text’s own case in the snippet', () => {
    expect(findInText('What should I WEAR today?', searchTerms('wear'))?.match).toBe('WEAR');
    expect(findInText('hello', searchTerms('HELLO'))?.match).toBe('hello');
  });

  it('needs every term, in any order, in the same text', () => {
    expect(findInText('부산 날씨는 맑음, Busan is sunny', searchTerms('sunny 날씨'))?.match).toBe('sunny');
    expect(findInText('부산 날씨', searchTerms('날씨 sunny'))).toBeNull();
  });

  it('clips long text around the match and folds line breaks', () => {
    const long = `${'가'.repeat(100)}\n날씨\n${'나'.repeat(100)}`;
    const snippet = findInText(long, searchTerms('날씨'))!;
    expect(snippet.before.startsWith('…')).toBe(true);
    expect(snippet.after.endsWith('…')).toBe(true);
    expect(snippet.before.length).toBeLessThanOrEqual(42);
    expect(`${snippet.before}${snippet.match}${snippet.after}`).not.toContain('\n');
  });

  it('finds text whose lower case changes length, without a misplaced highlight', () => {
    expect(findInText('İstanbul hava durumu', searchTerms('hava'))).toEqual({ before: '', match: '', after: 'İstanbul hava durumu' });
  });

  it('ignores the bare jamo of a syllable still being composed, but searches jamo-only terms as written', () => {
    expect(searchTerms('날ㅆ')).toEqual(['날']);
    expect(findInText('오늘 날씨 어때요', searchTerms('오늘 날ㅆ'))?.match).toBe('오늘');
    expect(searchTerms('ㅋㅋ')).toEqual(['ㅋㅋ']);
    expect(findInText('좋아요 ㅋㅋ', searchTerms('ㅋㅋ'))?.match).toBe('ㅋㅋ');
  });

  it('has no terms for a blank query', () => {
    expect(searchTerms('  \n ')).toEqual([]);
    expect(findInText('anything', [])).toBeNull();
    expect(normalizeForSearch('ÄB')).toBe('äb');
  });
});

describe('searchRecords: attached documents', () => {
  it('finds a word of a document or its name, says which document, and needs every term in one place', () => {
    const withDocument: MessageRecord = {
      ...message('d1', 'd', '요약해 주세요', 1),
      attachments: [
        { name: '계약서.pdf', kind: 'pdf', size: 900, text: '제1조 임대료는 매월 오십만 원으로 한다.' },
        { name: 'notes.md', kind: 'markdown', size: 20, text: 'Deposit due Friday' },
      ],
    };
    const hit = (query: string) => searchRecords(query, [conversation('d', '계약', 5)], [withDocument])[0];
    expect(hit('임대료')).toMatchObject({ message: { id: 'd1' }, attachmentName: '계약서.pdf', snippet: { match: '임대료' } });
    expect(hit('deposit')).toMatchObject({ attachmentName: 'notes.md', snippet: { match: 'Deposit' } });
    expect(hit('계약서 오십만')?.attachmentName).toBe('계약서.pdf');
    expect(hit('요약해')).toMatchObject({ message: { id: 'd1' } });
    expect(hit('요약해')?.attachmentName).toBeUndefined();
    // Terms spread over two documents are no hit (only the title could still match).
    expect(hit('임대료 friday')).toBeUndefined();
  });
});

describe('searchRecords', () => {
  const conversations = [conversation('a', '날씨 이야기', 10), conversation('b', 'Greetings', 30), conversation('c', '', 20)];
  const messages = [
    message('a1', 'a', '오늘 날씨 어때요', 1),
    message('b1', 'b', 'Hello there', 1),
    message('b2', 'b', 'hello again, 날씨는 좋아요', 2),
    message('c1', 'c', '내일 날씨는?', 1),
  ];

  it('returns one hit per conversation, most recently active first, with the newest matching message', () => {
    const hits = searchRecords('날씨', conversations, messages);
    expect(hits.map((h) => h.conversation.id)).toEqual(['b', 'c', 'a']);
    expect(hits[0].message?.id).toBe('b2');
  });

  it('matches titles when no message does', () => {
    const hits = searchRecords('이야기', conversations, messages);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ conversation: { id: 'a' }, snippet: { match: '이야기' } });
    expect(hits[0].message).toBeUndefined();
  });

  it('finds nothing for a blank or absent query', () => {
    expect(searchRecords('', conversations, messages)).toEqual([]);
    expect(searchRecords('없는말', conversations, messages)).toEqual([]);
  });
});

describe('searchConversations (IndexedDB)', () => {
  beforeEach(async () => {
    await db.delete();
    await db.open();
  });

  it('searches every stored message, earlier versions included', async () => {
    const weather = await createConversation({ title: 'Weather' });
    const user = await addMessage({ conversationId: weather.id, parentId: ROOT, role: 'user', content: '오늘 날씨 어때요', status: 'complete' });
    // An earlier version of the reply (a sibling that is no longer on the visible path).
    await addMessage({ conversationId: weather.id, parentId: user.id, role: 'assistant', content: 'Sunny and 맑음', status: 'complete' });
    await addMessage({ conversationId: weather.id, parentId: user.id, role: 'assistant', content: '흐림', status: 'complete' });
    const other = await createConversation({ title: 'Other' });
    await addMessage({ conversationId: other.id, parentId: ROOT, role: 'user', content: 'Nothing here', status: 'complete' });

    expect((await searchConversations('날씨')).map((h) => h.conversation.id)).toEqual([weather.id]);
    expect((await searchConversations('SUNNY')).map((h) => h.message?.content)).toEqual(['Sunny and 맑음']);
    expect(await searchConversations('   ')).toEqual([]);
  });
});
