/**
 * `npm run convert -- --input <hf-dir> --output <dir> --dtype fp32,q4 [--attention gqa|plain] [--embedding quantized|float]`
 * Converts a Hugging Face Llama-family checkpoint into a folder transformers.js loads
 * (`--attention plain`: the standard-op attention instead of GroupQueryAttention;
 * `--embedding float`: q4/q4f16 with the float token embedding of earlier versions, for comparison).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint, SUPPORTED_DTYPES, TOKENIZER_FILES, type ConvertDtype } from '../src/converter/convert.ts';
import type { AttentionKind, EmbeddingLayout } from '../src/model/graph-format.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';

const usage = `usage: npm run convert -- --input <hf-checkpoint-dir> --output <dir> [--dtype ${SUPPORTED_DTYPES.join(',')}] [--attention gqa|plain] [--embedding quantized|float]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      input: { type: 'string' },
      output: { type: 'string' },
      dtype: { type: 'string', default: 'q4' },
      attention: { type: 'string' },
      embedding: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.input || !values.output) {
    console.error(usage);
    process.exit(values.help ? 0 : 1);
  }
  const dtypes = values.dtype.split(',').map((d) => d.trim()) as ConvertDtype[];
  if (values.attention !== undefined && values.attention !== 'gqa' && values.attention !== 'plain') {
    console.error(`--attention must be gqa or plain, got "${values.attention}".\n${usage}`);
    process.exit(1);
  }
  const attention = values.attention as AttentionKind | undefined;
  if (values.embedding !== undefined && values.embedding !== 'quantized' && values.embedding !== 'float') {
    console.error(`--embedding must be quantized or float, got "${values.embedding}".\n${usage}`);
    process.exit(1);
  }
  const embedding = values.embedding as EmbeddingLayout | undefined;
  // A checkpoint saved by `model.save_pretrained` alone has no tokenizer: convert it anyway (it
  // loads in transformers.js for token ids) and say what Hanmadi will need to chat with it.
  const missingTokenizer = TOKENIZER_FILES.filter((name) => !existsSync(join(values.input!, name)));
  if (missingTokenizer.length > 0) {
    console.warn(
      `Warning: ${missingTokenizer.join(' and ')} not found in ${values.input}; copy them into ${values.output} before chatting with the model in Hanmadi.`,
    );
  }
  const started = Date.now();
  await convertCheckpoint(directoryReader(values.input), directoryWriter(values.output), {
    dtypes,
    attention,
    embedding,
    tokenizerOptional: true,
    onProgress(event) {
      if (event.kind !== 'tensor') return;
      const width = 30;
      const filled = Math.round((event.done / event.total) * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${event.done}/${event.total} tensors, ${(event.bytesWritten / 2 ** 20).toFixed(0)} MiB written`,
      );
    },
  });
  // The kernel's own high-water mark (KiB on Linux and macOS): the peak, not a sample of it.
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  process.stderr.write(
    `\nConverted ${values.input} → ${values.output} (${dtypes.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s, peak memory ${peakMiB.toFixed(0)} MiB (max RSS)\n`,
  );
}

main().catch((error: unknown) => {
  console.error(`\nConversion failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
