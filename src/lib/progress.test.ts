import { describe, expect, it } from 'vitest';
import { bytesPerSecond, etaSeconds, recordProgress, SPEED_WINDOW_MS } from './progress.ts';

describe('download progress', () => {
  it('computes speed from the samples in the window and the ETA from it', () => {
    let p = recordProgress(undefined, { file: 'onnx/model_q4.onnx_data', loaded: 0, total: 10_000, status: 'progress' }, 1000);
    expect(bytesPerSecond(p)).toBeNull();
    expect(etaSeconds(p)).toBeNull();
    p = recordProgress(p, { file: 'onnx/model_q4.onnx_data', loaded: 2000, total: 10_000, status: 'progress' }, 2000);
    expect(bytesPerSecond(p)).toBe(2000);
    expect(etaSeconds(p)).toBe(4);
  });

  it('forgets samples older than the window so the speed tracks the current rate', () => {
    let p = recordProgress(undefined, { file: 'f', loaded: 0, total: 100_000, status: 'progress' }, 0);
    p = recordProgress(p, { file: 'f', loaded: 1000, total: 100_000, status: 'progress' }, 1000);
    p = recordProgress(p, { file: 'f', loaded: 41_000, total: 100_000, status: 'progress' }, 1000 + SPEED_WINDOW_MS);
    expect(p.samples.map((s) => s.atMs)).toEqual([1000, 1000 + SPEED_WINDOW_MS]);
    expect(bytesPerSecond(p)).toBeCloseTo(40_000 / (SPEED_WINDOW_MS / 1000));
  });

  it('reports zero seconds left once a file is complete', () => {
    const p = recordProgress(undefined, { file: 'f', loaded: 50, total: 50, status: 'done' }, 0);
    expect(etaSeconds(p)).toBe(0);
  });
});
