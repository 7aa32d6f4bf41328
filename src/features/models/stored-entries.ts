/**
 * The store is the source of truth for what is stored: every model with a stored record stays in
 * the picker even when its catalog entry cannot be read (offline, the catalog file gone, the entry
 * removed). Each one the catalog lacks gets an entry built from its stored records (label, source,
 * the precisions stored with their sizes), complete or partly stored, so a complete one loads and
 * chats from IndexedDB alone and a partial one shows what is missing (the picker reads the stored
 * bytes live).
 */
import type { StoredModelRecord } from '../../db/app-db.ts';
import type { CatalogEntry } from '../../model/catalog.ts';

export function entriesForStoredModels(records: readonly StoredModelRecord[], known: ReadonlySet<string>): CatalogEntry[] {
  const byKey = new Map<string, CatalogEntry>();
  for (const record of records) {
    if (known.has(record.modelKey)) continue;
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
