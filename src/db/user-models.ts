/**
 * Models the user added ("Add model") or imported from a folder, kept in Dexie (they were in
 * localStorage before storage moved here: features/models/user-models.ts moves old entries over).
 * Records are validated on read like catalog files: storage is user-editable.
 */
import { parseCatalogEntry, type CatalogEntry } from '../model/catalog.ts';
import { db, type UserModelRecord } from './app-db.ts';

/** A record as a catalog entry, or null when malformed. */
export function userModelEntry(record: UserModelRecord): CatalogEntry | null {
  const parsed = parseCatalogEntry(record);
  return parsed ? { ...parsed, user: true } : null;
}

export async function listUserModels(): Promise<CatalogEntry[]> {
  const records = await db.userModels.orderBy('addedAt').toArray();
  return records.map(userModelEntry).filter((e): e is CatalogEntry => e !== null);
}

export async function putUserModel(entry: Pick<CatalogEntry, 'id' | 'label' | 'source' | 'dtypes' | 'nativeContext'>): Promise<void> {
  const existing = await db.userModels.get(entry.id);
  await db.userModels.put({
    id: entry.id,
    label: entry.label,
    source: entry.source,
    dtypes: entry.dtypes,
    nativeContext: entry.nativeContext,
    addedAt: existing?.addedAt ?? Date.now(),
  });
}

export async function deleteUserModel(id: string): Promise<void> {
  await db.userModels.delete(id);
}

/** Adds entries that are not there yet (by id), e.g. from the old localStorage list. */
export async function addMissingUserModels(entries: readonly CatalogEntry[]): Promise<number> {
  return db.transaction('rw', db.userModels, async () => {
    let added = 0;
    for (const [i, entry] of entries.entries()) {
      if (await db.userModels.get(entry.id)) continue;
      await db.userModels.add({ id: entry.id, label: entry.label, source: entry.source, dtypes: entry.dtypes, nativeContext: entry.nativeContext, addedAt: i });
      added++;
    }
    return added;
  });
}
