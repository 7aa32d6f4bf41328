/**
 * A file stored as fixed-size chunks: how many there are, how long each is, and whether bytes
 * stored for one source can be continued for another. Pure, shared by the store and the workers.
 */

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

export function chunkLength(file: { size: number; chunkSize: number }, index: number): number {
  return Math.min(file.chunkSize, file.size - index * file.chunkSize);
}

/** What a download must match for stored bytes to be kept; anything else restarts the file. */
export interface FileIdentity {
  size: number;
  url?: string;
  sha256?: string;
  gitSha1?: string;
  etag?: string;
}

/** Whether bytes stored for `stored` can be continued as `wanted` (same size, and no hash or ETag that differs). */
export function sameContent(stored: FileIdentity, wanted: FileIdentity): boolean {
  const differs = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a !== b;
  return (
    stored.size === wanted.size && !differs(stored.sha256, wanted.sha256) && !differs(stored.gitSha1, wanted.gitSha1) && !differs(stored.etag, wanted.etag)
  );
}
