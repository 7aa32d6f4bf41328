/**
 * Models stored on this device stay in the picker even when their catalog entry cannot be read
 * (offline, the catalog file gone, the entry removed): each complete stored model the catalog
 * lacks gets an entry built from its stored record, with the precisions stored, so it loads and
 * chats from IndexedDB alone.
 */
import type { StoredModelRecord } from '../../db/app-db.ts';
import type { CatalogEntry } from '../../model/catalog.ts';

export function entriesForStoredModels(records: readonly StoredModelRecord[], known: ReadonlySet<string>): CatalogEntry[] {
  const byKey = new Map<string, CatalogEntry>();
  for (const record of records) {
    if (record.status !== 'complete' || known.has(record.modelKey)) continue;
    const entry = byKey.get(record.modelKey) ?? {
      id: record.modelKey,
      label: record.label,
      params: '',
      languages: [],
      license: '',
      nativeContext: 0,
      dtypes: {},
      source: record.source,
      ...(record.modelKey.startsWith('local:') ? { test: true } : {}),
    };
    entry.dtypes[record.dtype] = record.totalBytes;
    byKey.set(record.modelKey, entry);
  }
  return [...byKey.values()];
}
