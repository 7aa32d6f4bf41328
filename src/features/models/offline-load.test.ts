import { describe, expect, it } from 'vitest';
import type { StoredModelSummary } from '../../db/model-store.ts';
import { missingBytes, offlineLoad } from './offline-load.ts';

function summary(modelKey: string, dtype: StoredModelSummary['dtype'], totalBytes: number, storedBytes: number): StoredModelSummary {
  return {
    modelKey,
    dtype,
    label: modelKey,
    source: { kind: 'url', baseUrl: 'https://example.invalid/' },
    files: [],
    totalBytes,
    storedBytes,
    status: storedBytes >= totalBytes ? 'complete' : 'partial',
    createdAt: 1,
    lastUsedAt: 1,
  };
}

describe('offlineLoad', () => {
  const stored = [summary('a', 'q4', 100, 100), summary('a', 'q8', 200, 50), summary('b', 'q4', 300, 120), summary('b', 'q8', 400, 380)];

  it('loads offline from a complete precision: any for Auto, the chosen one otherwise', () => {
    expect(offlineLoad(stored, 'a', 'auto')).toEqual({ loadable: true });
    expect(offlineLoad(stored, 'a', 'q4')).toEqual({ loadable: true });
    expect(offlineLoad(stored, 'a', 'q8')).toEqual({ loadable: false, missingBytes: 150 });
  });

  it('a partly stored model is not loadable offline and says what the closest precision lacks', () => {
    expect(offlineLoad(stored, 'b', 'auto')).toEqual({ loadable: false, missingBytes: 20 });
    expect(offlineLoad(stored, 'b', 'q4')).toEqual({ loadable: false, missingBytes: 180 });
  });

  it('a model with nothing stored is not loadable offline and lacks everything', () => {
    expect(offlineLoad(stored, 'c', 'auto')).toEqual({ loadable: false, missingBytes: null });
    expect(offlineLoad(stored, 'a', 'fp32')).toEqual({ loadable: false, missingBytes: null });
  });
});

describe('missingBytes', () => {
  it('is what the most complete partial precision lacks, or null when none is partial', () => {
    expect(missingBytes([summary('b', 'q4', 300, 120), summary('b', 'q8', 400, 380)])).toBe(20);
    expect(missingBytes([summary('a', 'q4', 100, 100)])).toBeNull();
  });
});
