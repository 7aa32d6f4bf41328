import { describe, expect, it } from 'vitest';
import { EngineError, toEngineError } from './engine-error.ts';

describe('toEngineError', () => {
  it('keeps the code of errors the engine raised itself', () => {
    expect(toEngineError(new EngineError('context-overflow', 'too long', { tokens: 9 }), 'generate')).toEqual({
      code: 'context-overflow',
      detail: 'too long',
      params: { tokens: 9 },
    });
  });

  it('recognises device loss, memory exhaustion and missing files from runtime messages', () => {
    expect(toEngineError(new Error('[WebGPU] device was lost: destroyed'), 'generate').code).toBe('device-lost');
    expect(toEngineError(new Error('Failed to allocate a buffer of size 4294967296'), 'load').code).toBe('out-of-memory');
    expect(toEngineError(new RangeError('Array buffer allocation failed'), 'load').code).toBe('out-of-memory');
    expect(toEngineError(new Error('Could not locate file: "http://x/onnx/model_q4.onnx".'), 'load').code).toBe('model-files-missing');
  });

  it('falls back to the phase', () => {
    expect(toEngineError(new Error('weird'), 'load')).toEqual({ code: 'load-failed', detail: 'Error: weird' });
    expect(toEngineError('weird', 'generate')).toEqual({ code: 'generation-failed', detail: 'weird' });
  });
});
