import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.ts';
import { MAX_ATTACHMENT_BYTES } from '../../model/attachments.ts';
import { readAttachment } from './read-attachment.ts';

async function failure(file: File): Promise<AppError> {
  const error = await readAttachment(file).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('readAttachment (text files)', () => {
  it('reads UTF-8 text without a byte-order mark and with \\n line endings, keeping name, kind and size', async () => {
    const bytes = new TextEncoder().encode('\uFEFF회의록\r\n결정: 6월 출시');
    const attachment = await readAttachment(new File([bytes], '회의록.md'));
    expect(attachment).toEqual({ name: '회의록.md', kind: 'markdown', size: bytes.length, text: '회의록\n결정: 6월 출시' });
  });

  it('reads EUC-KR and UTF-16 files, and refuses one in no encoding it reads, naming it', async () => {
    const euckr = Uint8Array.from([0xc8, 0xb8, 0xc0, 0xc7, 0xb7, 0xcf]); // 회의록
    expect(await readAttachment(new File([euckr], 'old.txt'))).toMatchObject({ text: '회의록', size: 6 });
    const utf16 = Uint8Array.from([0xff, 0xfe, 0xc4, 0xac, 0x7d, 0xc5]); // BOM, 계약 in UTF-16LE
    expect(await readAttachment(new File([utf16], 'notes.md'))).toMatchObject({ text: '계약', kind: 'markdown' });
    const latin1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61, 0x75]); // "café au" in Latin-1
    expect(await failure(new File([latin1], 'menu.txt'))).toMatchObject({ code: 'attachment-encoding', params: { name: 'menu.txt' } });
  });

  it('refuses other kinds, oversized files and files without text, naming the file', async () => {
    expect(await failure(new File(['x'], 'photo.png'))).toMatchObject({ code: 'attachment-unsupported', params: { name: 'photo.png' } });
    const big = new File([new Uint8Array(MAX_ATTACHMENT_BYTES + 1)], 'big.txt');
    expect(await failure(big)).toMatchObject({ code: 'attachment-too-large', params: { name: 'big.txt', bytes: MAX_ATTACHMENT_BYTES + 1 } });
    expect(await failure(new File([' \n\t '], 'blank.txt'))).toMatchObject({ code: 'attachment-empty', params: { name: 'blank.txt' } });
  });
});
