/**
 * The text of a plain-text document in the encodings Korean files come in: UTF-8 (with or without
 * a byte-order mark), UTF-16 with its byte-order mark (what Windows Notepad long wrote as
 * "Unicode"), and EUC-KR, still the default of older Korean Windows software. Each candidate is
 * decoded strictly (`fatal`), so a file is never shown half garbled: it is read as the first
 * encoding it is valid in, or refused. The WHATWG `euc-kr` decoder is Microsoft's code page 949,
 * which also covers the 8,822 Hangul syllables EUC-KR proper lacks.
 */

export type DocumentEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'euc-kr';

/** The encoding a byte-order mark names, and the mark's length; null without one. */
function byteOrderMark(bytes: Uint8Array): { encoding: DocumentEncoding; length: number } | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

/**
 * Control characters no text file holds (tab, line feed, form feed and carriage return aside),
 * C1 included: how binary data shows itself where it happens to decode (code page 949 takes most
 * byte pairs, and NUL is valid everywhere).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NOT_TEXT = /[\u0000-\u0008\u000B\u000E-\u001F\u007F-\u009F]/;

function decodeStrictly(bytes: Uint8Array, encoding: DocumentEncoding): string | null {
  let text: string;
  try {
    // ignoreBOM: the mark, if any, was looked at (and skipped) by the caller.
    text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
  return NOT_TEXT.test(text) ? null : text;
}

/**
 * A document's text and the encoding it was read in: the one its byte-order mark names, else
 * UTF-8 if the bytes are valid UTF-8, else EUC-KR if they are valid there; null when none fits
 * (a binary file, or another legacy encoding such as Latin-1 or Shift_JIS), or when the text
 * holds control characters no text file has.
 */
export function decodeDocumentText(bytes: Uint8Array): { text: string; encoding: DocumentEncoding } | null {
  const mark = byteOrderMark(bytes);
  if (mark) {
    const text = decodeStrictly(bytes.subarray(mark.length), mark.encoding);
    return text === null ? null : { text, encoding: mark.encoding };
  }
  for (const encoding of ['utf-8', 'euc-kr'] as const) {
    const text = decodeStrictly(bytes, encoding);
    if (text !== null) return { text, encoding };
  }
  return null;
}
