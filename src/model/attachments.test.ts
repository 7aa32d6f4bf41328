import { describe, expect, it } from 'vitest';
import { attachmentKindOf, documentBlock, normalizeDocumentText, promptFileName, userContentWithAttachments } from './attachments.ts';

describe('attachments', () => {
  it('accepts .txt, .md and .pdf by extension, in any case, and nothing else', () => {
    expect(attachmentKindOf('회의록.txt')).toBe('text');
    expect(attachmentKindOf('README.MD')).toBe('markdown');
    expect(attachmentKindOf('notes.markdown')).toBe('markdown');
    expect(attachmentKindOf('계약서.final.PDF')).toBe('pdf');
    expect(attachmentKindOf('photo.png')).toBeNull();
    expect(attachmentKindOf('txt')).toBeNull();
    expect(attachmentKindOf('archive.pdf.zip')).toBeNull();
  });

  it('reads text without a byte-order mark and with \\n line endings', () => {
    expect(normalizeDocumentText('\uFEFF첫 줄\r\n둘째 줄\r셋째 줄\n')).toBe('첫 줄\n둘째 줄\n셋째 줄\n');
  });

  it('keeps a file name on one line without double quotes, in NFC', () => {
    const decomposed = '계약서.txt'.normalize('NFD');
    expect(promptFileName(decomposed)).toBe('계약서.txt');
    expect(promptFileName('a "quoted"\nname.md')).toBe("a 'quoted' name.md");
  });

  it('puts each document in a named block before the question, its text unchanged', () => {
    const text = '제1조 (목적)\n이 계약은 …\n\n  들여쓰기도 그대로';
    expect(documentBlock({ name: '계약서.txt', text })).toBe(`<document name="계약서.txt">\n${text}\n</document>`);
    expect(
      userContentWithAttachments('요약해 주세요.', [
        { name: '계약서.txt', text },
        { name: 'b.md', text: '# B' },
      ]),
    ).toBe(`<document name="계약서.txt">\n${text}\n</document>\n\n<document name="b.md">\n# B\n</document>\n\n요약해 주세요.`);
  });

  it('leaves a message without attachments as it is, and sends documents alone without a trailing question', () => {
    expect(userContentWithAttachments('안녕하세요')).toBe('안녕하세요');
    expect(userContentWithAttachments('', [{ name: 'a.txt', text: '가나다' }])).toBe('<document name="a.txt">\n가나다\n</document>');
  });
});
