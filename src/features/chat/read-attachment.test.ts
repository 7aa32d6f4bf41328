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

  it('refuses other kinds, oversized files and files without text, naming the file', async () => {
    expect(await failure(new File(['x'], 'photo.png'))).toMatchObject({ code: 'attachment-unsupported', params: { name: 'photo.png' } });
    const big = new File([new Uint8Array(MAX_ATTACHMENT_BYTES + 1)], 'big.txt');
    expect(await failure(big)).toMatchObject({ code: 'attachment-too-large', params: { name: 'big.txt', bytes: MAX_ATTACHMENT_BYTES + 1 } });
    expect(await failure(new File([' \n\t '], 'blank.txt'))).toMatchObject({ code: 'attachment-empty', params: { name: 'blank.txt' } });
  });
});
