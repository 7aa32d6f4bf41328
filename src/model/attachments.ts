/**
 * Documents attached to a user message: which files are accepted, and how their text reaches the
 * model. Pure, shared by the app (chat actions), the worker's counts (through the messages the
 * app sends) and the e2e reference, so all of them build the same prompt.
 *
 * The attached text goes into the user's turn, before the question, each document wrapped in a
 * `<document name="…">` … `</document>` block: the chat template then renders it like any user
 * content, and the model sees clearly where each document starts and ends and what it is called.
 * The text is sent as it was read (line endings unified): nothing is cut or rewritten.
 */

export type AttachmentKind = 'text' | 'markdown' | 'pdf';

/** A document as stored with its message. */
export interface Attachment {
  /** The file name as the user's system gave it. */
  name: string;
  kind: AttachmentKind;
  /** Bytes of the original file. */
  size: number;
  /** The extracted text (a PDF's text layer). */
  text: string;
  /** Tokens the document takes in the prompt, counted with the tokenizer of the model loaded when it was attached. */
  tokens?: number;
}

/** The longest file accepted, before reading it (a PDF's text is far smaller than the file). */
export const MAX_ATTACHMENT_BYTES = 32 * 1024 * 1024;
/**
 * The most text one attachment may hold: more than the longest context the app offers can take
 * (128K tokens are some 500K characters), and small enough that exports stay importable (32 MB).
 */
export const MAX_ATTACHMENT_CHARS = 1024 * 1024;

const KIND_BY_EXTENSION: Record<string, AttachmentKind> = { txt: 'text', md: 'markdown', markdown: 'markdown', pdf: 'pdf' };

/** The kind of a file by its name's extension (browsers give `.md` no reliable MIME type); null when not accepted. */
export function attachmentKindOf(fileName: string): AttachmentKind | null {
  const dot = fileName.lastIndexOf('.');
  if (dot < 0) return null;
  return KIND_BY_EXTENSION[fileName.slice(dot + 1).toLowerCase()] ?? null;
}

/** What the file picker offers. */
export const ACCEPTED_FILE_TYPES = '.txt,.md,.markdown,.pdf,text/plain,text/markdown,application/pdf';

/** Text as read from a file: no byte-order mark, `\n` line endings. */
export function normalizeDocumentText(text: string): string {
  return text.replace(/^\uFEFF/u, '').replace(/\r\n?/gu, '\n');
}

/** A file name safe inside the block's opening line: one line, no double quotes. */
export function promptFileName(name: string): string {
  return name
    .normalize('NFC')
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/"/gu, "'")
    .trim();
}

/** One document as the model sees it. */
export function documentBlock(attachment: Pick<Attachment, 'name' | 'text'>): string {
  return `<document name="${promptFileName(attachment.name)}">\n${attachment.text}\n</document>`;
}

/** The user turn's content: each document's block, then the question (absent when only documents were sent). */
export function userContentWithAttachments(question: string, attachments: readonly Pick<Attachment, 'name' | 'text'>[] = []): string {
  if (attachments.length === 0) return question;
  const blocks = attachments.map(documentBlock).join('\n\n');
  return question ? `${blocks}\n\n${question}` : blocks;
}
