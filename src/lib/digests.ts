/** Content digests of model files: SHA-256 (native, crypto.subtle) and the git blob id the Hub lists for small files. */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

/** The Hub's id of a file kept in git (not LFS): sha1 of "blob <size>\0" + content. */
export function gitBlobSha1(content: Uint8Array): string {
  return bytesToHex(
    sha1
      .create()
      .update(new TextEncoder().encode(`blob ${content.length}\0`))
      .update(content)
      .digest(),
  );
}
