/**
 * Documents for the attachment tests, made in the test: a Korean PDF drawn with pdf-lib in Noto
 * Sans CJK KR (Debian's fonts-noto-cjk), embedded as a subset the way PDF writers do (a CID font
 * with a ToUnicode map), so extracting its text is pdf.js's real work and not a copy of a string.
 */
import { readFileSync } from 'node:fs';
import fontkit from '@pdf-lib/fontkit';
import { PDFDocument } from 'pdf-lib';

export const NOTO_CJK = '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc';
/** The Korean face of the collection. */
const KOREAN_FACE = 'NotoSansCJKkr-Regular';

/** A one-page A4 PDF with `lines` drawn one under another. */
export async function koreanPdf(lines: readonly string[]): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  // The font file is a collection (.ttc): pdf-lib asks fontkit for "the" font, so pick the Korean face.
  pdf.registerFontkit({ create: (data: Uint8Array) => fontkit.create(data, KOREAN_FACE) } as unknown as typeof fontkit);
  const font = await pdf.embedFont(readFileSync(NOTO_CJK), { subset: true });
  const page = pdf.addPage([595, 842]);
  lines.forEach((line, i) => page.drawText(line, { x: 50, y: 780 - i * 24, size: 14, font }));
  return Buffer.from(await pdf.save());
}

/**
 * A PDF as older Korean writers made them: the font is not embedded, only named as a CID font of
 * Adobe's Korean character collection with the predefined `UniKS-UCS2-H` CMap, and the text holds
 * UCS-2 codes. Reading it needs pdf.js's CMaps (UniKS-UCS2-H, then Adobe-Korea1-UCS2 for the
 * Unicode), which the app serves itself. Written by hand: pdf-lib always embeds its fonts.
 */
export function koreanPdfWithPredefinedCMap(lines: readonly string[]): Buffer {
  const ucs2 = (text: string) =>
    Array.from(text)
      .map((c) => c.charCodeAt(0).toString(16).padStart(4, '0'))
      .join('');
  const content = ['BT', '/F1 14 Tf', '50 780 Td', '18 TL', ...lines.map((line, i) => `${i > 0 ? 'T* ' : ''}<${ucs2(line)}> Tj`), 'ET'].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 6 0 R >>',
    '<< /Type /Font /Subtype /Type0 /BaseFont /HYGoThic-Medium /Encoding /UniKS-UCS2-H /DescendantFonts [5 0 R] >>',
    '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HYGoThic-Medium /CIDSystemInfo << /Registry (Adobe) /Ordering (Korea1) /Supplement 2 >> /DW 1000 >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/**
 * `text` encoded as EUC-KR, the way older Korean software saves it: ASCII as is, every other
 * character as its KS X 1001 byte pair. The table is the inverse of Node's own EUC-KR decoder
 * over all 94 × 94 pairs, so the bytes come from an independent implementation (ICU), not from
 * the app's decoder; a character outside KS X 1001 throws.
 */
export function eucKr(text: string): Buffer {
  const decoder = new TextDecoder('euc-kr', { fatal: true });
  const pairs = new Map<string, [number, number]>();
  for (let lead = 0xa1; lead <= 0xfe; lead++) {
    for (let trail = 0xa1; trail <= 0xfe; trail++) {
      let char: string;
      try {
        char = decoder.decode(Uint8Array.of(lead, trail));
      } catch {
        continue;
      }
      if (char.length === 1 && !pairs.has(char)) pairs.set(char, [lead, trail]);
    }
  }
  const bytes: number[] = [];
  for (const char of text) {
    if (char.charCodeAt(0) < 0x80) bytes.push(char.charCodeAt(0));
    else {
      const pair = pairs.get(char);
      if (!pair) throw new Error(`${char} is not in KS X 1001`);
      bytes.push(...pair);
    }
  }
  return Buffer.from(bytes);
}
