import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { resolveLlamaShape, type HfLlamaConfig } from './config.ts';
import { checkConfigBounds, checkFileSize, CONFIG_MAXIMA, MAX_EXTERNAL_DATA_FILES } from './input-bounds.ts';
import { externalDataChunks, graphFiles } from './model-files.ts';

const TINY: HfLlamaConfig = {
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 256,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 4096,
};

function refusal(run: () => unknown): { code: string; params?: Record<string, unknown> } | null {
  try {
    run();
    return null;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { code: error.code, params: error.params };
  }
}

describe('checkConfigBounds', () => {
  it('accepts a real shape and the largest allowed one', () => {
    expect(refusal(() => checkConfigBounds(TINY))).toBeNull();
    expect(refusal(() => checkConfigBounds({ ...TINY, ...CONFIG_MAXIMA }))).toBeNull();
  });

  it.each([
    ['num_hidden_layers', 1e7],
    ['hidden_size', 1e9],
    ['vocab_size', 2 ** 40],
    ['num_attention_heads', 0],
    ['intermediate_size', -1],
    ['max_position_embeddings', Infinity],
    ['head_dim', 12.5],
    ['num_key_value_heads', '8'],
  ] as const)('refuses %s = %s, naming the field and its maximum, before the shape is planned', (field, value) => {
    const config = { ...TINY, [field]: value } as HfLlamaConfig;
    const expected = { code: 'config-out-of-bounds', params: expect.objectContaining({ field, max: CONFIG_MAXIMA[field] }) };
    expect(refusal(() => checkConfigBounds(config))).toEqual(expected);
    expect(refusal(() => resolveLlamaShape(config))).toEqual(expected);
  });

  it('refuses a crafted external-data count instead of naming a billion files', () => {
    const config = { ...TINY, 'transformers.js_config': { use_external_data_format: { 'model_q4.onnx': 1e9 } } };
    const expected = { code: 'config-out-of-bounds', params: expect.objectContaining({ field: 'use_external_data_format', max: MAX_EXTERNAL_DATA_FILES }) };
    expect(refusal(() => graphFiles(config, 'q4'))).toEqual(expected);
    expect(refusal(() => externalDataChunks({ 'transformers.js_config': { use_external_data_format: -3 } }, 'q4'))).toMatchObject({
      code: 'config-out-of-bounds',
    });
    // Real values still count as before.
    expect(graphFiles({ 'transformers.js_config': { use_external_data_format: { 'model_q4.onnx': 2 } } }, 'q4')).toEqual([
      'onnx/model_q4.onnx',
      'onnx/model_q4.onnx_data',
      'onnx/model_q4.onnx_data_1',
    ]);
    expect(externalDataChunks({ 'transformers.js_config': { use_external_data_format: true } }, 'q4')).toBe(1);
  });
});

describe('checkFileSize', () => {
  it('refuses a file over its cap, and NaN, with the sizes', () => {
    expect(refusal(() => checkFileSize('config.json', 10, 10))).toBeNull();
    expect(refusal(() => checkFileSize('config.json', 11, 10))).toEqual({ code: 'file-too-large', params: { file: 'config.json', bytes: 11, limitBytes: 10 } });
    expect(refusal(() => checkFileSize('x', Number.NaN, 10))).toMatchObject({ code: 'file-too-large' });
  });
});
