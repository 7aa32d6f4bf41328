/**
 * `npm run gguf -- --input <hf-dir> --output <file.gguf> [--type q4_0|f16|f32] [--name <name>]`
 * Writes a Hugging Face Llama-family checkpoint as one GGUF file for llama.cpp / wllama, streamed
 * tensor by tensor (a 4 GB checkpoint needs about one tensor's worth of memory).
 */
import { rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpointToGguf, GGUF_WEIGHT_TYPES, type GgufWeightType } from '../src/converter/gguf.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';

const usage = `usage: npm run gguf -- --input <hf-checkpoint-dir> --output <file.gguf> [--type ${GGUF_WEIGHT_TYPES.join('|')}] [--name <general.name>]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      input: { type: 'string' },
      output: { type: 'string' },
      type: { type: 'string', default: 'q4_0' },
      name: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.input || !values.output) {
    console.error(usage);
    process.exit(values.help ? 0 : 1);
  }
  const output = resolve(values.output);
  const started = Date.now();
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  try {
    const out = await directoryWriter(dirname(output)).openOutput(basename(output));
    const summary = await convertCheckpointToGguf(directoryReader(values.input), out, {
      type: values.type as GgufWeightType,
      name: values.name,
      onProgress(event) {
        if (event.kind === 'header') return;
        const width = 30;
        const filled = Math.round((event.bytesWritten / event.fileBytes) * width);
        process.stderr.write(
          `\r${values.type} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${event.done}/${event.total} tensors, ${mib(event.bytesWritten)}/${mib(event.fileBytes)} MiB`,
        );
      },
    });
    process.stderr.write(
      `\nWrote ${output} (${mib(summary.fileBytes)} MiB, ${summary.tensors.length} tensors) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  } catch (error) {
    // A half-written GGUF must not look like a model.
    await rm(output, { force: true });
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(`\nGGUF conversion failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
