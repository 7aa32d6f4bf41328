import { describe, expect, it } from 'vitest';
import { ROOT, type MessageRecord } from '../../db/app-db.ts';
import { conversationToMarkdown, fileStem } from './markdown-export.ts';

const labels = { untitled: 'New chat', systemPrompt: 'System prompt', attached: 'Attached:', you: 'You', assistant: 'Hanmadi', exported: 'Exported' };
const msg = (id: string, parentId: string, role: MessageRecord['role'], content: string, createdAt: number): MessageRecord => ({
  id,
  conversationId: 'c',
  parentId,
  role,
  content,
  createdAt,
  status: 'complete',
});

describe('conversationToMarkdown', () => {
  it('writes the visible thread only, with the system prompt quoted', () => {
    const messages = [
      msg('u', ROOT, 'user', '날씨 어때요?', 1),
      msg('a1', 'u', 'assistant', 'old version', 2),
      msg('a2', 'u', 'assistant', '| a | b |\n|---|---|\n| 1 | 2 |', 3),
    ];
    const md = conversationToMarkdown(
      {
        conversation: { id: 'c', title: '날씨\n이야기', createdAt: 0, updatedAt: 0, activeLeafId: 'a2', systemPrompt: '존댓말\n짧게', sampling: {} },
        messages,
      },
      labels,
    );
    expect(md).toBe('# 날씨 이야기\n\n> **System prompt**\n>\n> 존댓말\n> 짧게\n\n## You\n\n날씨 어때요?\n\n## Hanmadi\n\n| a | b |\n|---|---|\n| 1 | 2 |\n');
    expect(md).not.toContain('old version');
  });
});

describe('conversationToMarkdown: documents', () => {
  it('names the documents sent with a message, before its text, and a message of documents alone', () => {
    const ask = { ...msg('u1', '', 'user', '요약해 주세요', 1), attachments: [{ name: '회의록.txt', kind: 'text' as const, size: 10, text: '비밀 본문' }] };
    const alone = { ...msg('u2', 'u1', 'user', '', 2), attachments: [{ name: 'a`b.pdf', kind: 'pdf' as const, size: 10, text: 'x' }] };
    const md = conversationToMarkdown(
      { conversation: { id: 'c', title: 'T', createdAt: 0, updatedAt: 0, activeLeafId: 'u2', systemPrompt: '', sampling: {} }, messages: [ask, alone] },
      labels,
    );
    expect(md).toBe("# T\n\n## You\n\n*Attached:* `회의록.txt`\n\n요약해 주세요\n\n## You\n\n*Attached:* `a'b.pdf`\n");
    expect(md).not.toContain('비밀 본문');
  });
});

describe('fileStem', () => {
  it('keeps Hangul and Latin letters and digits', () => {
    expect(fileStem('오늘 날씨: 서울/부산?', 'x')).toBe('오늘-날씨-서울-부산');
    expect(fileStem('  ../../etc  ', 'x')).toBe('etc');
    expect(fileStem('!!!', 'conversation')).toBe('conversation');
    expect(fileStem('가'.repeat(80), 'x')).toHaveLength(40);
  });
});
