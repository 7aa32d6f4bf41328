import { describe, expect, it } from 'vitest';
import { decodeDocumentText } from './text-encoding.ts';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((b) => parseInt(b, 16)));

/** UTF-16 code units as bytes in the given order (the test's own encoder: TextEncoder writes UTF-8 only). */
function utf16(text: string, order: 'le' | 'be'): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 * i + (order === 'le' ? 0 : 1)] = unit & 0xff;
    out[2 * i + (order === 'le' ? 1 : 0)] = unit >> 8;
  }
  return out;
}

describe('decodeDocumentText', () => {
  it('reads EUC-KR bytes as the Hangul they encode (KS X 1001 code points, written out by hand)', () => {
    // 한 = C7 D1, 글 = B1 DB, 회 = C8 B8, 의 = C0 C7, 록 = B7 CF, 월 = BF F9; ASCII stays one byte.
    // (Code page 949's extra syllables, outside KS X 1001, decode in browsers; Node's ICU decoder
    // lacks them, so the e2e test attaches the EUC-KR file in Chromium.)
    const bytes = hex('C7 D1 B1 DB 20 C8 B8 C0 C7 B7 CF 3A 20 36 BF F9');
    expect(decodeDocumentText(bytes)).toEqual({ text: '한글 회의록: 6월', encoding: 'euc-kr' });
  });

  it('reads UTF-8 with and without its byte-order mark, and prefers it where both would decode', () => {
    const text = '회의록\n결정: 6월 출시';
    const plain = new TextEncoder().encode(text);
    expect(decodeDocumentText(plain)).toEqual({ text, encoding: 'utf-8' });
    expect(decodeDocumentText(new Uint8Array([0xef, 0xbb, 0xbf, ...plain]))).toEqual({ text, encoding: 'utf-8' });
    expect(decodeDocumentText(new TextEncoder().encode('plain ASCII'))).toEqual({ text: 'plain ASCII', encoding: 'utf-8' });
  });

  it('reads UTF-16 in either byte order by its byte-order mark, without keeping the mark', () => {
    const text = '계약서 제1조 (목적)';
    expect(decodeDocumentText(new Uint8Array([0xff, 0xfe, ...utf16(text, 'le')]))).toEqual({ text, encoding: 'utf-16le' });
    expect(decodeDocumentText(new Uint8Array([0xfe, 0xff, ...utf16(text, 'be')]))).toEqual({ text, encoding: 'utf-16be' });
  });

  it('refuses bytes that are no text in any of them, rather than showing them garbled', () => {
    expect(decodeDocumentText(hex('89 50 4E 47 0D 0A 1A 0A 00 00 00 0D'))).toBeNull(); // a PNG header (valid code page 949, but NUL and SUB)
    expect(decodeDocumentText(new Uint8Array(16))).toBeNull(); // NUL is valid UTF-8, and no text
    expect(decodeDocumentText(hex('63 61 66 E9 20 61 75 20 6C 61 69 74'))).toBeNull(); // "café au lait" in Latin-1
    expect(decodeDocumentText(new Uint8Array([0xff, 0xfe, 0x00, 0xd8]))).toBeNull(); // UTF-16LE: a lone high surrogate
  });
});
