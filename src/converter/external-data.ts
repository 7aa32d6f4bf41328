/**
 * External data of one converted graph. The layout is a pure function of the weights' sizes in
 * write order: chunk files `<graph>_data`, `<graph>_data_1`, ... (the transformers.js naming),
 * a tensor never spans two, and a chunk closes when the next tensor would pass the limit. The
 * sink writes bytes in exactly that order and hashes each chunk with a SHA-256 whose state can be
 * saved, so writing can stop after any tensor and resume at the recorded offset.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { ConversionError, type ManifestFile, type ModelWriter, type OutputStream } from './model-io.ts';
import { ResumableSha256, type Sha256State } from '../lib/resumable-sha256.ts';

export interface ExternalLocation {
  /** Chunk file name, relative to the .onnx file (the TensorProto `location`). */
  location: string;
  offset: number;
  length: number;
}

export function externalChunkName(graphFileName: string, index: number): string {
  return `${graphFileName}_data${index === 0 ? '' : `_${index}`}`;
}

/** Where each weight (given in write order) goes. */
export function layoutExternalData(byteLengths: number[], graphFileName: string, maxChunkBytes: number): ExternalLocation[] {
  let chunk = 0;
  let offset = 0;
  return byteLengths.map((length) => {
    if (offset > 0 && offset + length > maxChunkBytes) {
      chunk++;
      offset = 0;
    }
    const placed = { location: externalChunkName(graphFileName, chunk), offset, length };
    offset += length;
    return placed;
  });
}

/** A chunk being written: enough to reopen it and go on hashing. */
export interface OpenChunkState {
  /** Path inside the model folder (`onnx/<chunk name>`). */
  path: string;
  size: number;
  sha256: Sha256State;
}

/** Serialisable progress of one graph's external data. */
export interface ExternalDataState {
  closed: ManifestFile[];
  open: OpenChunkState | null;
}

export const emptyExternalDataState = (): ExternalDataState => ({ closed: [], open: null });

interface ActiveChunk {
  path: string;
  size: number;
  /** null until reopen() resumes it from `saved` (hash-wasm's create is async). */
  hasher: ResumableSha256 | null;
  saved?: Sha256State;
  /** null until the first write after a resume reopens the file. */
  stream: OutputStream | null;
}

export class ExternalDataSink {
  private readonly closed: ManifestFile[];
  private active: ActiveChunk | null;

  constructor(
    private readonly writer: ModelWriter,
    /** The folder of the .onnx file inside the model folder (chunk paths are `${dir}/${location}`). */
    private readonly dir: string,
    state: ExternalDataState = emptyExternalDataState(),
  ) {
    this.closed = state.closed.map((f) => ({ ...f }));
    this.active = state.open ? { path: state.open.path, size: state.open.size, hasher: null, saved: state.open.sha256, stream: null } : null;
  }

  /** Writes `bytes` at `offsetInWeight` of the weight placed at `target`; writes must follow the layout. */
  async write(target: ExternalLocation, offsetInWeight: number, bytes: Uint8Array): Promise<void> {
    const path = `${this.dir}/${target.location}`;
    if (this.active?.path !== path) {
      await this.closeActive();
      if (this.closed.some((f) => f.path === path)) throw new Error(`External data ${path} is already closed.`);
      this.active = { path, size: 0, hasher: await ResumableSha256.create(), stream: await this.writer.openOutput(path) };
    }
    const chunk = this.active;
    if (chunk.size !== target.offset + offsetInWeight) {
      throw new Error(`External data ${path}: writing at ${target.offset + offsetInWeight}, but ${chunk.size} bytes are written.`);
    }
    chunk.stream ??= await this.reopen(chunk);
    await chunk.stream.write(bytes);
    chunk.hasher!.update(bytes);
    chunk.size += bytes.length;
  }

  async flush(): Promise<void> {
    await this.active?.stream?.flush?.();
  }

  /** The state to save once flush() has returned. */
  snapshot(): ExternalDataState {
    const open = this.active ? { path: this.active.path, size: this.active.size, sha256: this.active.hasher?.exportState() ?? this.active.saved! } : null;
    return { closed: this.closed.map((f) => ({ ...f })), open };
  }

  /** Closes the last chunk; returns every chunk's manifest entry in order. */
  async finish(): Promise<ManifestFile[]> {
    await this.closeActive();
    return this.closed.map((f) => ({ ...f }));
  }

  private async reopen(chunk: ActiveChunk): Promise<OutputStream> {
    if (!this.writer.resumeOutput) {
      throw new ConversionError('cannot-resume', 'This model writer cannot reopen outputs, so the conversion cannot resume.');
    }
    try {
      chunk.hasher ??= await ResumableSha256.create(chunk.saved);
      return await this.writer.resumeOutput(chunk.path, chunk.size);
    } catch (error) {
      throw new ConversionError(
        'cannot-resume',
        `Cannot reopen ${chunk.path} at byte ${chunk.size}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async closeActive(): Promise<void> {
    const chunk = this.active;
    if (!chunk) return;
    // Reopening a chunk that was never written to again still checks and trims it to the saved size.
    chunk.stream ??= await this.reopen(chunk);
    await chunk.stream.close();
    this.closed.push({ path: chunk.path, size: chunk.size, sha256: bytesToHex(chunk.hasher!.digest()) });
    this.active = null;
  }
}
