/**
 * The converter core's ModelWriter over the Dexie model store (runs in the store worker): a
 * model converted in the browser lands in the store exactly as a downloaded one does (files under
 * the model key, CHUNK_BYTES chunks with their digests), so the LLM worker loads it unchanged.
 *
 * - Small files (tokenizer, configs, the graph) arrive whole: their SHA-256 is known before the
 *   first byte is stored, and checked when the last one is (ChunkedFileWriter.finish).
 * - External-data chunks stream in; the plan gives their sizes up front, which the store needs.
 *   Their hash is known only once written: hf-conversion.ts reads each back at the end and checks
 *   it against the converter's (ModelStore.verifyWrittenFile).
 * - `flush()` does nothing on its own: the conversion's checkpoint saves the open chunks' unfinished
 *   bytes together with its ConversionState in one transaction (ModelStore.saveConversion), so the
 *   saved state never counts a byte the store could lose. Bytes written after it are dropped when
 *   the conversion resumes (`resumeOutput` truncates).
 * - Files transformers.js does not read are not stored: the converter's hanmadi-manifest.json (the
 *   store keeps each file's SHA-256 in its record instead) and special_tokens_map.json.
 */
import { ConversionError, type ModelWriter, type OutputStream } from '../converter/model-io.ts';
import { type ModelStore } from '../db/model-store.ts';
import { type ChunkedFileWriter } from '../db/chunked-file-writer.ts';
import { sha256Hex } from '../lib/digests.ts';

export interface StoreModelWriterOptions {
  /** Paths to store (what transformers.js reads for this precision); anything else is skipped. */
  keep: ReadonlySet<string>;
  /** The size of every external-data file the plan will write. */
  outputSizes: ReadonlyMap<string, number>;
  chunkSize?: number;
  /** Rewrites a small file before it is stored (config.json merged with other stored precisions). */
  transformFile?: (path: string, bytes: Uint8Array) => Promise<Uint8Array>;
}

export class StoreModelWriter implements ModelWriter {
  private readonly outputs = new Map<string, ChunkedFileWriter>();

  constructor(
    private readonly store: ModelStore,
    private readonly modelKey: string,
    private readonly options: StoreModelWriterOptions,
  ) {}

  async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    if (!this.options.keep.has(path)) return;
    const content = this.options.transformFile ? await this.options.transformFile(path, bytes) : bytes;
    const identity = { size: content.length, sha256: await sha256Hex(content) };
    let writer = await this.open(path, identity);
    if (writer.done && writer.file.verified) return; // written before an interruption, same bytes
    if (writer.offset > 0 || writer.missing.length > 0) {
      await this.store.resetFile(this.modelKey, path);
      writer = await this.open(path, identity);
    }
    await writer.write(content);
    await writer.finish();
  }

  async openOutput(path: string): Promise<OutputStream> {
    const size = this.plannedSize(path);
    await this.store.resetFile(this.modelKey, path);
    const writer = await this.open(path, { size });
    this.outputs.set(path, writer);
    return this.stream(writer);
  }

  async resumeOutput(path: string, offset: number): Promise<OutputStream> {
    return this.stream(await this.outputAt(path, offset));
  }

  /** The writer of an external-data file standing at `offset` (bytes past it dropped), e.g. to save a checkpoint. */
  async outputAt(path: string, offset: number): Promise<ChunkedFileWriter> {
    const size = this.plannedSize(path);
    const writer = this.outputs.get(path) ?? (await this.open(path, { size }));
    if (writer.file.size !== size || writer.file.sha256) throw new ConversionError('cannot-resume', `${path} in the store is not the planned output.`);
    await writer.truncate(offset);
    this.outputs.set(path, writer);
    return writer;
  }

  private plannedSize(path: string): number {
    const size = this.options.outputSizes.get(path);
    if (size === undefined) throw new ConversionError('cannot-resume', `${path} is not an output of the planned conversion.`);
    return size;
  }

  private open(path: string, identity: { size: number; sha256?: string }): Promise<ChunkedFileWriter> {
    return this.store.openWriter(this.modelKey, path, identity, { chunkSize: this.options.chunkSize });
  }

  private stream(writer: ChunkedFileWriter): OutputStream {
    return {
      write: (bytes) => writer.write(bytes),
      // Durability comes with the checkpoint (see the file comment).
      flush: async () => undefined,
      close: async () => {
        if (writer.offset !== writer.file.size) {
          throw new ConversionError('invalid-file', `${writer.file.path}: ${writer.offset} bytes written, ${writer.file.size} planned.`);
        }
      },
    };
  }
}
