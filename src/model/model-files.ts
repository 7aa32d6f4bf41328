/**
 * The files of a transformers.js model folder (docs/model-format.md) and which precisions a file
 * list offers. Pure: shared by "Add model" probing, the downloader and the tests.
 */
import { checkConfigBounds } from './input-bounds.ts';
import type { ModelDtype } from './catalog.ts';

/** transformers.js 4.3.1's file suffixes (DEFAULT_DTYPE_SUFFIX_MAPPING in its utils/dtypes.js): q8 is `_quantized`. */
export const DTYPE_FILE_SUFFIX: Record<ModelDtype, string> = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16', q8: '_quantized' };

/** Files every precision needs besides its graph. */
export const SHARED_MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

const DTYPE_OF_SUFFIX = new Map(Object.entries(DTYPE_FILE_SUFFIX).map(([dtype, suffix]) => [suffix, dtype as ModelDtype]));

/** `onnx/model_q4.onnx` → 'q4'; external data chunks (`…onnx_data`, `…onnx_data_1`) count too. */
export function dtypeOfFile(path: string): ModelDtype | null {
  const match = /^onnx\/model(_fp16|_q4f16|_q4|_quantized)?\.onnx(?:_data(?:_\d+)?)?$/.exec(path);
  return match ? (DTYPE_OF_SUFFIX.get(match[1] ?? '') ?? null) : null;
}

/** Download size per precision found in a file list (graph + external data + shared files). */
export function dtypesFromFiles(files: readonly { path: string; size: number }[]): Partial<Record<ModelDtype, number>> {
  const shared = files.filter((f) => (SHARED_MODEL_FILES as readonly string[]).includes(f.path)).reduce((sum, f) => sum + f.size, 0);
  const out: Partial<Record<ModelDtype, number>> = {};
  for (const file of files) {
    const dtype = dtypeOfFile(file.path);
    if (dtype) out[dtype] = (out[dtype] ?? shared) + file.size;
  }
  // A graph without its .onnx file (only data) is not loadable.
  for (const dtype of Object.keys(out) as ModelDtype[]) {
    if (!files.some((f) => f.path === `onnx/model${DTYPE_FILE_SUFFIX[dtype]}.onnx`)) delete out[dtype];
  }
  return out;
}

/** Files transformers.js reads for every precision; generation_config.json is optional (read with fatal=false). */
export const REQUIRED_SHARED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;
export const OPTIONAL_SHARED_FILES = ['generation_config.json'] as const;

/**
 * How many external-data files transformers.js 4.3.1 loads for a graph: config.json's
 * `transformers.js_config.use_external_data_format`, either one value (true = 1) or per file
 * name (`model_q4.onnx`, then the base name `model`), as in its model-loader.js.
 */
export function externalDataChunks(config: unknown, dtype: ModelDtype): number {
  // A crafted count would become an array of that many file names.
  checkConfigBounds(config);
  const format = (config as { 'transformers.js_config'?: { use_external_data_format?: unknown } } | null)?.['transformers.js_config']?.use_external_data_format;
  if (!format) return 0;
  if (typeof format === 'object') {
    const byName = format as Record<string, unknown>;
    const value = byName[`model${DTYPE_FILE_SUFFIX[dtype]}.onnx`] ?? byName.model ?? 0;
    return Math.max(0, Math.floor(Number(value) || 0));
  }
  return Math.max(0, Math.floor(Number(format) || 0));
}

/** The graph and external-data paths of a precision, in the order transformers.js names them. */
export function graphFiles(config: unknown, dtype: ModelDtype): string[] {
  const graph = `onnx/model${DTYPE_FILE_SUFFIX[dtype]}.onnx`;
  const chunks = externalDataChunks(config, dtype);
  return [graph, ...Array.from({ length: chunks }, (_, i) => `${graph}_data${i === 0 ? '' : `_${i}`}`)];
}
