import { describe, expect, it } from 'vitest';
import { HfHubError } from '../converter/hf-hub.ts';
import { HttpSourceError } from '../converter/http-source.ts';
import { ConversionError } from '../converter/model-io.ts';
import { SafetensorsError } from '../converter/safetensors.ts';
import { StoreError } from './stored-file.ts';
import { UnsupportedModelError } from '../model/config.ts';
import { AppError, engineErrorOf, ERROR_CODES, storageErrorOf } from '../lib/errors.ts';

describe('engineErrorOf', () => {
  it('keeps the code of errors the engine raised itself', () => {
    expect(engineErrorOf(new AppError('context-overflow', 'too long', { tokens: 9 }), 'generate')).toEqual({
      code: 'context-overflow',
      detail: 'too long',
      params: { tokens: 9 },
    });
  });

  it('recognises device loss, memory exhaustion and missing files from runtime messages', () => {
    expect(engineErrorOf(new Error('[WebGPU] device was lost: destroyed'), 'generate').code).toBe('device-lost');
    expect(engineErrorOf(new Error('Failed to allocate a buffer of size 4294967296'), 'load').code).toBe('out-of-memory');
    expect(engineErrorOf(new RangeError('Array buffer allocation failed'), 'load').code).toBe('out-of-memory');
    expect(engineErrorOf(new Error('Could not locate file: "http://x/onnx/model_q4.onnx".'), 'load').code).toBe('model-files-missing');
  });

  it('falls back to the phase', () => {
    expect(engineErrorOf(new Error('weird'), 'load')).toEqual({ code: 'load-failed', detail: 'Error: weird' });
    expect(engineErrorOf('weird', 'generate')).toEqual({ code: 'generation-failed', detail: 'weird' });
  });
});

describe('storageErrorOf', () => {
  const url = 'https://x/f';
  const cases: [unknown, string][] = [
    [new StoreError('verification-failed', 'hash', 'onnx/model.onnx'), 'verification-failed'],
    [new StoreError('source-changed', 'etag'), 'source-changed'],
    [new StoreError('chunk-corrupt', 'digest'), 'model-corrupt'],
    [new StoreError('file-missing', 'gone'), 'model-corrupt'],
    [new HttpSourceError('range-unsupported', 'no ranges', url), 'range-unsupported'],
    [new HttpSourceError('size-changed', 'size', url), 'source-changed'],
    [new HttpSourceError('http-status', '404', url, 404), 'model-files-missing'],
    [new HttpSourceError('http-status', '500', url, 500), 'download-failed'],
    [new HfHubError('gated', 'gated', 401), 'repo-gated'],
    [new HfHubError('invalid-repo-id', 'bad id'), 'repo-not-found'],
    [new HfHubError('bad-response', 'odd'), 'load-failed'],
    [new UnsupportedModelError('mistral'), 'unsupported-architecture'],
    [new ConversionError('missing-tensor', 'no lm_head'), 'conversion-failed'],
    [new SafetensorsError('bad header'), 'conversion-failed'],
    [new TypeError('Failed to fetch'), 'download-failed'],
    [Object.assign(new Error('wrapped'), { name: 'DatabaseClosedError', inner: new DOMException('full', 'QuotaExceededError') }), 'quota-exceeded'],
    [new Error('weird'), 'unknown'],
  ];

  it("maps each lower layer's error onto its protocol code", () => {
    for (const [error, code] of cases) expect(storageErrorOf(error).code, String(error)).toBe(code);
  });

  it('names the file: the one given, else the one the error knows', () => {
    expect(storageErrorOf(new StoreError('chunk-corrupt', 'digest', 'onnx/model.onnx_data')).params).toEqual({ file: 'onnx/model.onnx_data' });
    expect(storageErrorOf(new TypeError('Failed to fetch'), 'config.json').params).toEqual({ file: 'config.json' });
  });

  it("carries what a lower layer's error says beside its code (which feature is unsupported)", () => {
    const qwen = new UnsupportedModelError('qwen2', { unsupported: 'qkv-bias', value: 'qwen2' });
    expect(storageErrorOf(qwen).params).toEqual({ unsupported: 'qkv-bias', value: 'qwen2' });
    expect(storageErrorOf(new HfHubError('unsupported-architecture', 'a/b: qwen2', undefined, qwen.params), 'config.json').params).toEqual({
      unsupported: 'qkv-bias',
      value: 'qwen2',
      file: 'config.json',
    });
  });

  it('keeps an AppError as it is', () => {
    const error = new AppError('quota-insufficient', 'no room', { needed: 2, available: 1 });
    expect(storageErrorOf(error)).toBe(error);
  });

  it('only produces listed codes', () => {
    for (const [error] of cases) expect(ERROR_CODES).toContain(storageErrorOf(error).code);
  });
});
