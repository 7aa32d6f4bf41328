/**
 * A response body read whole, but never past a byte cap: a host's Content-Length is checked
 * before reading, and the stream is cancelled as soon as it passes the cap (a host may send no
 * length, or a wrong one), so a hostile "small" file cannot fill the page's memory.
 */
import { AppError } from './errors.ts';

export async function readCappedText(response: Response, file: string, limit: number): Promise<string> {
  const tooLarge = (bytes: number) => new AppError('file-too-large', `${file} is over ${limit} bytes.`, { file, bytes, limitBytes: limit });
  const declared = Number(response.headers.get('content-length'));
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(total);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
