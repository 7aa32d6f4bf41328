/** A stored model file as the store and its writer see it: which chunks it has, and why it cannot be used. */
import type { CodedError, ErrorCode } from '../lib/errors.ts';
import type { StoredFileRecord } from './app-db.ts';

/** A file's record and which chunks it has, read without touching any chunk's bytes. */
export interface FileStatus {
  record: StoredFileRecord;
  /** Complete chunks present (by index). */
  present: Set<number>;
  /** A chunk whose first bytes are stored (an interrupted download), if any. */
  partial: { index: number; size: number } | null;
}

/** Why a stored file cannot be used as it is. */
export class StoreError extends Error implements CodedError {
  constructor(
    readonly code: 'verification-failed' | 'chunk-corrupt' | 'file-missing' | 'source-changed',
    message: string,
    readonly path?: string,
    readonly chunk?: number,
  ) {
    super(message);
    this.name = 'StoreError';
  }

  get errorCode(): ErrorCode {
    return this.code === 'verification-failed' || this.code === 'source-changed' ? this.code : 'model-corrupt';
  }
}
