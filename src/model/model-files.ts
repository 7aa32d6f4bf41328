/**
 * The files of a transformers.js model folder (docs/model-format.md) and which precisions a file
 * list offers. Pure: shared by "Add model" probing, the downloader and the tests.
 */
import type { ModelDtype } from './catalog.ts';

export const DTYPE_FILE_SUFFIX: Record<ModelDtype, string> = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16' };

/** Files every precision needs besides its graph. */
export const SHARED_MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** `onnx/model_q4.onnx` → 'q4'; external data chunks (`…onnx_data`, `…onnx_data_1`) count too. */
export function dtypeOfFile(path: string): ModelDtype | null {
  const match = /^onnx\/model(_fp16|_q4f16|_q4)?\.onnx(?:_data(?:_\d+)?)?$/.exec(path);
  if (!match) return null;
  return match[1] === '_fp16' ? 'fp16' : match[1] === '_q4f16' ? 'q4f16' : match[1] === '_q4' ? 'q4' : 'fp32';
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
