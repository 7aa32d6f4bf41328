/**
 * The converter core's I/O contracts: where a checkpoint is read from (a folder in Node, HTTP
 * Range reads of a Hugging Face repo in a worker, memory in tests) and where the converted model
 * is written (files, IndexedDB, memory), plus the converter's typed error. No Node or DOM API.
 */
import type { CodedError } from '../lib/errors.ts';
import type { ByteSource } from './safetensors.ts';

export interface CheckpointReader {
  /** A small file's bytes, or null when absent. */
  readFile(name: string): Promise<Uint8Array | null>;
  /** A random-access view of a large file, or null when absent. */
  openFile(name: string): Promise<ByteSource | null>;
  /** Releases what openFile opened; called once the conversion ends. */
  close?(): Promise<void>;
}

export interface OutputStream {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /**
   * Makes everything written so far durable. Awaited before each resume checkpoint is handed out,
   * so a saved state never counts bytes the output could still lose.
   */
  flush?(): Promise<void>;
}

export interface ModelWriter {
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /** Creates (or truncates) a file for sequential writing. */
  openOutput(path: string): Promise<OutputStream>;
  /**
   * Reopens a file made by openOutput for appending at `offset`, discarding any bytes past it
   * (written after the last checkpoint). Must fail if the file is missing or shorter than
   * `offset`. Needed only to resume an interrupted conversion.
   */
  resumeOutput?(path: string, offset: number): Promise<OutputStream>;
}

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export type ConversionErrorCode =
  | 'missing-file'
  | 'invalid-file'
  | 'bad-dtype'
  | 'missing-tensor'
  /** A saved ConversionState does not belong to this checkpoint, config, dtypes or options. */
  | 'stale-state'
  /** The writer cannot reopen outputs, or an output no longer holds what the state says. */
  | 'cannot-resume';

export class ConversionError extends Error implements CodedError {
  readonly errorCode = 'conversion-failed';

  constructor(
    readonly code: ConversionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConversionError';
  }
}
