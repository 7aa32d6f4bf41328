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

const entry = (r: StoredModelRecord, dtypes: Record<string, number>, test = false) => ({
  id: r.modelKey,
  label: r.label,
  params: '',
  languages: [],
  license: '',
  nativeContext: 0,
  dtypes,
  source: r.source,
  ...(test ? { test: true } : {}),
});

describe('entriesForStoredModels', () => {
  it('lists stored models the catalog lacks, complete or partly stored, with the precisions stored and their sizes', () => {
    const records = [
      record('local:tiny-llama', 'q8', 'complete', 17),
      record('local:tiny-llama', 'q4', 'complete', 45),
      record('local:tiny-llama', 'fp32', 'partial', 120),
      record('user:gone', 'q4', 'partial', 300),
      record('local:listed', 'q4', 'complete'),
    ];
    expect(entriesForStoredModels(records, new Set(['local:listed']))).toEqual([
      entry(records[0], { q8: 17, q4: 45, fp32: 120 }, true),
      entry(records[3], { q4: 300 }),
    ]);
  });

  it('lists every stored model when there is no catalog at all (offline on a first reload, say)', () => {
    const records = [
      record('kanana-nano-2.1b-instruct', 'q4f16', 'complete', 1_300),
      record('local:tiny-llama', 'q8', 'complete', 17),
      record('import:my-folder', 'q4', 'partial', 40),
    ];
    expect(entriesForStoredModels(records, new Set())).toEqual([
      entry(records[0], { q4f16: 1_300 }),
      entry(records[1], { q8: 17 }, true),
      entry(records[2], { q4: 40 }),
    ]);
  });
});
