/** Node file-system adapters for the converter core (random-access reads, streamed writes). */
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CheckpointReader, ModelWriter, OutputStream } from './convert.ts';
import type { ByteSource } from './safetensors.ts';

export function directoryReader(dir: string): CheckpointReader {
  const opened: { close(): Promise<void> }[] = [];
  return {
    async close() {
      await Promise.all(opened.splice(0).map((handle) => handle.close()));
    },
    async readFile(name) {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async openFile(name): Promise<ByteSource | null> {
      let handle;
      try {
        handle = await open(join(dir, name), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      opened.push(handle);
      const { size } = await handle.stat();
      const file = handle;
      return {
        size,
        async read(offset, length) {
          const buffer = new Uint8Array(length);
          let filled = 0;
          while (filled < length) {
            const { bytesRead } = await file.read(buffer, filled, length - filled, offset + filled);
            if (bytesRead === 0) throw new Error(`${name}: unexpected end of file`);
            filled += bytesRead;
          }
          return buffer;
        },
      };
    },
  };
}

export function directoryWriter(dir: string): ModelWriter {
  return {
    async writeFile(path, bytes) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), bytes);
    },
    async openOutput(path): Promise<OutputStream> {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      const handle = await open(join(dir, path), 'w');
      return {
        write: async (bytes) => {
          await handle.write(bytes);
        },
        close: () => handle.close(),
      };
    },
    async resumeOutput(path, offset): Promise<OutputStream> {
      const handle = await open(join(dir, path), 'r+');
      const { size } = await handle.stat();
      if (size < offset) {
        await handle.close();
        throw new Error(`${path} has ${size} bytes, fewer than the ${offset} to resume from`);
      }
      await handle.truncate(offset);
      let position = offset;
      return {
        write: async (bytes) => {
          await handle.write(bytes, 0, bytes.length, position);
          position += bytes.length;
        },
        close: () => handle.close(),
      };
    },
  };
}
