import { describe, expect, it } from 'vitest';
import type { StoredModelRecord } from '../../db/app-db.ts';
import { entriesForStoredModels } from './stored-entries.ts';

function record(modelKey: string, dtype: StoredModelRecord['dtype'], status: StoredModelRecord['status'], totalBytes = 100): StoredModelRecord {
  return {
    modelKey,
    dtype,
    label: `Label of ${modelKey}`,
    source: { kind: 'url', baseUrl: `https://example.invalid/${modelKey}/` },
    files: ['config.json'],
    totalBytes,
    status,
    createdAt: 1,
    lastUsedAt: 1,
  };
}

describe('entriesForStoredModels', () => {
  it('lists complete stored models the catalog lacks, with their stored precisions only', () => {
    const records = [
      record('local:tiny-llama', 'q8', 'complete', 17),
      record('local:tiny-llama', 'q4', 'complete', 45),
      record('local:tiny-llama', 'fp32', 'partial'),
      record('user:gone', 'q4', 'partial'),
      record('local:listed', 'q4', 'complete'),
    ];
    const entries = entriesForStoredModels(records, new Set(['local:listed']));
    expect(entries).toEqual([
      {
        id: 'local:tiny-llama',
        label: 'Label of local:tiny-llama',
        params: '',
        languages: [],
        license: '',
        nativeContext: 0,
        dtypes: { q8: 17, q4: 45 },
        source: records[0].source,
        test: true,
      },
    ]);
  });
});
