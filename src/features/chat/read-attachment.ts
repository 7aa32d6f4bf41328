/**
 * A file the user attached, read into an Attachment: `.txt` and `.md` as text in UTF-8, UTF-16
 * or EUC-KR (src/model/text-encoding.ts), `.pdf` through pdf.js (pdf-text.ts). A file the app
 * does not take, one too large, one in no encoding it reads, one that cannot be read and one
 * without any text each get their own translated error, naming the file; nothing is half-read or cut.
 */
import { AppError } from '../../lib/errors.ts';
import { attachmentKindOf, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_CHARS, normalizeDocumentText, type Attachment } from '../../model/attachments.ts';
import { decodeDocumentText } from '../../model/text-encoding.ts';
import { pdfText } from './pdf-text.ts';

export async function readAttachment(file: File): Promise<Attachment> {
  const name = file.name;
  const kind = attachmentKindOf(name);
  if (!kind) throw new AppError('attachment-unsupported', `${name}: only .txt, .md and .pdf files can be attached.`, { name });
  if (file.size > MAX_ATTACHMENT_BYTES) {
    throw new AppError('attachment-too-large', `${name} is ${file.size} bytes.`, { name, bytes: file.size, limitBytes: MAX_ATTACHMENT_BYTES });
  }
  let text: string | null;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    text = kind === 'pdf' ? await pdfText(bytes) : (decodeDocumentText(bytes)?.text ?? null);
  } catch (error) {
    throw new AppError('attachment-unreadable', `${name}: ${error instanceof Error ? error.message : String(error)}`, { name });
  }
  if (text === null) throw new AppError('attachment-encoding', `${name} is not UTF-8, UTF-16 or EUC-KR text.`, { name });
  text = normalizeDocumentText(text);
  if (!text.trim()) throw new AppError('attachment-empty', `${name} has no text.`, { name });
  if (text.length > MAX_ATTACHMENT_CHARS) {
    throw new AppError('attachment-too-large', `${name} holds ${text.length} characters.`, { name, bytes: file.size, limitBytes: MAX_ATTACHMENT_BYTES });
  }
  return { name, kind, size: file.size, text };
}
