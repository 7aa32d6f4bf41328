/**
 * Sane maxima for what comes from outside (a Hub repo anyone can add, a folder, a file): checked
 * before anything is allocated or planned from it, so a crafted `num_hidden_layers: 1e7` or
 * `use_external_data_format: 1e9` is a translated error with nothing stored, not a frozen worker
 * or a billion-entry array. The maxima are far above any model a browser can run (the largest
 * Llama has 126 layers, a 16K hidden size and a 128K vocabulary) and far below what would hurt.
 */
import { AppError } from '../lib/errors.ts';

/** config.json sizes: each, when present, must be a positive integer up to its maximum. */
export const CONFIG_MAXIMA = {
  hidden_size: 65_536,
  intermediate_size: 262_144,
  num_hidden_layers: 1_024,
  num_attention_heads: 1_024,
  num_key_value_heads: 1_024,
  head_dim: 4_096,
  vocab_size: 4_194_304,
  max_position_embeddings: 16_777_216,
} as const;

/** External-data files of one graph (transformers.js names them `_data`, `_data_1`, …; 2 GB each at most). */
export const MAX_EXTERNAL_DATA_FILES = 1_024;

/** One file of a model repo, as listed by its host. */
export const MAX_MODEL_FILE_BYTES = 256 * 1024 ** 3;

/** Small JSON files read whole: a tokenizer.json (Llama 3's is 9 MB) may be large, the others are kilobytes. */
export function maxJsonBytes(path: string): number {
  return path.endsWith('tokenizer.json') ? 128 * 1024 ** 2 : 16 * 1024 ** 2;
}

function outOfBounds(field: string, value: unknown, max: number): AppError {
  return new AppError('config-out-of-bounds', `config.json: ${field} is ${JSON.stringify(value)}, not an integer from 1 to ${max}.`, {
    field,
    value: typeof value === 'number' ? value : String(value).slice(0, 40),
    max,
  });
}

const isCount = (value: unknown, max: number) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= max;

/** The external-data counts config.json announces (one value, or one per graph file name); every one within the maximum. */
function checkExternalData(format: unknown): void {
  if (format === undefined || format === null || typeof format === 'boolean') return;
  const values = typeof format === 'object' ? Object.values(format as Record<string, unknown>) : [format];
  for (const value of values) {
    if (typeof value === 'boolean') continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_EXTERNAL_DATA_FILES) {
      throw outOfBounds('use_external_data_format', value, MAX_EXTERNAL_DATA_FILES);
    }
  }
}

/**
 * Throws a `config-out-of-bounds` AppError (field, value, max) for a config.json whose sizes or
 * external-data counts are outside what this app plans for; fields that are absent are not checked
 * (each consumer requires what it needs).
 */
export function checkConfigBounds(config: unknown): void {
  if (typeof config !== 'object' || config === null) return;
  const fields = config as Record<string, unknown>;
  for (const [field, max] of Object.entries(CONFIG_MAXIMA)) {
    if (fields[field] !== undefined && fields[field] !== null && !isCount(fields[field], max)) throw outOfBounds(field, fields[field], max);
  }
  const jsConfig = fields['transformers.js_config'];
  if (typeof jsConfig === 'object' && jsConfig !== null) checkExternalData((jsConfig as Record<string, unknown>).use_external_data_format);
}

/** Throws `file-too-large` (file, bytes, limitBytes) for a file over `limit` bytes, before it is read. */
export function checkFileSize(file: string, bytes: number, limit: number): void {
  if (!(bytes <= limit))
    throw new AppError('file-too-large', `${file} is ${bytes} bytes, more than the ${limit} this app reads.`, { file, bytes, limitBytes: limit });
}
