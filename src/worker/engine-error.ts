/**
 * Maps whatever ONNX Runtime, WebGPU or transformers.js threw onto the protocol's typed error
 * codes, which the UI translates. The detail (the original message) is kept for the curious.
 */
import type { EngineErrorCode, EngineErrorValue } from './protocol.ts';

/** An error the engine raises on purpose, already carrying its code. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    detail?: string,
    readonly params?: Record<string, number | string>,
  ) {
    super(detail ?? code);
    this.name = 'EngineError';
  }

  toValue(): EngineErrorValue {
    return { code: this.code, detail: this.message, ...(this.params ? { params: this.params } : {}) };
  }
}

const PATTERNS: [EngineErrorCode, RegExp][] = [
  ['device-lost', /device (is |was )?lost|device.*destroyed|GPUDevice.*(lost|destroyed)|Instance dropped|context lost/i],
  ['out-of-memory', /out of memory|\bOOM\b|failed to allocate|allocation failed|Array buffer allocation|exceeds the max(imum)?|maxBufferSize|maxStorageBufferBindingSize|too large for|not enough memory|memory access out of bounds/i],
  ['model-files-missing', /could not locate file|file was not found|not found locally|ModelFileNotFoundError|\b404\b|missing file/i],
];

export function toEngineError(error: unknown, phase: 'load' | 'generate'): EngineErrorValue {
  if (error instanceof EngineError) return error.toValue();
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  for (const [code, pattern] of PATTERNS) if (pattern.test(detail)) return { code, detail };
  return { code: phase === 'load' ? 'load-failed' : 'generation-failed', detail };
}
