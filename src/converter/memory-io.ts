/**
 * In-memory checkpoint reader and model writer for the converter core: tests, and any caller
 * that wants the converted files as bytes. The writer supports resumeOutput, and keeps what a
 * stream wrote even if it was never closed, as a real store would after a crash.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import type { CheckpointReader, ModelWriter, OutputStream } from './model-io.ts';
import { memorySource, type ByteSource } from './safetensors.ts';

/** A checkpoint held as file name → bytes; `onRead` sees every random-access read. */
export function memoryCheckpointReader(files: Record<string, Uint8Array>, onRead?: (file: string, offset: number, length: number) => void): CheckpointReader {
  return {
    readFile: async (name) => files[name] ?? null,
    openFile: async (name): Promise<ByteSource | null> => {
      const bytes = files[name];
      if (!bytes) return null;
      const source = memorySource(bytes);
      return {
        size: source.size,
        read: (offset, length) => {
          onRead?.(name, offset, length);
          return source.read(offset, length);
        },
      };
    },
  };
}

export class MemoryModelWriter implements ModelWriter {
  private readonly files = new Map<string, Uint8Array[]>();

  async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    this.files.set(path, [bytes.slice()]);
  }

  async openOutput(path: string): Promise<OutputStream> {
    const parts: Uint8Array[] = [];
    this.files.set(path, parts);
    return this.stream(parts);
  }

  async resumeOutput(path: string, offset: number): Promise<OutputStream> {
    const current = this.get(path);
    if (!current || current.length < offset) throw new Error(`${path} holds ${current?.length ?? 0} bytes, fewer than ${offset}`);
    const parts = [current.slice(0, offset)];
    this.files.set(path, parts);
    return this.stream(parts);
  }

  /** A file's bytes, or undefined. */
  get(path: string): Uint8Array | undefined {
    const parts = this.files.get(path);
    return parts && concatBytes(...parts);
  }

  paths(): string[] {
    return [...this.files.keys()].sort();
  }

  private stream(parts: Uint8Array[]): OutputStream {
    let closed = false;
    return {
      write: async (bytes) => {
        if (closed) throw new Error('write after close');
        parts.push(bytes.slice());
      },
      close: async () => {
        closed = true;
      },
    };
  }
}
