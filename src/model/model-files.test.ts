import { describe, expect, it } from 'vitest';
import { dtypeOfFile, dtypesFromFiles } from './model-files.ts';

describe('model files', () => {
  it('names the precision of graph and external-data files', () => {
    expect(dtypeOfFile('onnx/model.onnx')).toBe('fp32');
    expect(dtypeOfFile('onnx/model_q4.onnx_data')).toBe('q4');
    expect(dtypeOfFile('onnx/model_q4f16.onnx_data_2')).toBe('q4f16');
    expect(dtypeOfFile('onnx/model_fp16.onnx')).toBe('fp16');
    expect(dtypeOfFile('onnx/model_quantized.onnx_data_1')).toBe('q8');
    expect(dtypeOfFile('onnx/model_int8.onnx')).toBeNull();
    expect(dtypeOfFile('config.json')).toBeNull();
  });

  it('sums graph, data and shared files per precision, ignoring orphan data', () => {
    const files = [
      { path: 'config.json', size: 10 },
      { path: 'tokenizer.json', size: 100 },
      { path: 'onnx/model_q4.onnx', size: 5 },
      { path: 'onnx/model_q4.onnx_data', size: 1000 },
      { path: 'onnx/model_q4f16.onnx_data', size: 700 },
      { path: 'README.md', size: 3 },
    ];
    expect(dtypesFromFiles(files)).toEqual({ q4: 1115 });
  });
});
