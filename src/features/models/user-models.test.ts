import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { db } from '../../db/app-db.ts';
import { listUserModels } from '../../db/user-models.ts';
import { migrateLegacyUserModels, parseModelSource, readUserModels, userModelEntry, USER_MODELS_STORAGE_KEY } from './user-models.ts';

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (k) => items.get(k) ?? null,
    key: (i) => [...items.keys()][i] ?? null,
    removeItem: (k) => void items.delete(k),
    setItem: (k, v) => void items.set(k, v),
  };
}

describe('parseModelSource', () => {
  it('accepts http(s) folder URLs and normalizes the trailing slash', () => {
    expect(parseModelSource(' https://example.com/models/kanana-nano ')).toEqual({
      ok: true,
      source: { kind: 'url', baseUrl: 'https://example.com/models/kanana-nano/' },
    });
    expect(parseModelSource('http://localhost:8080/m/?x=1#y')).toEqual({ ok: true, source: { kind: 'url', baseUrl: 'http://localhost:8080/m/' } });
  });

  it('accepts Hugging Face repo ids with an optional revision', () => {
    expect(parseModelSource('onnx-community/EXAONE-3.5-2.4B-Instruct')).toEqual({
      ok: true,
      source: { kind: 'hf', repo: 'onnx-community/EXAONE-3.5-2.4B-Instruct', revision: 'main' },
    });
    expect(parseModelSource('me/model@v1.0')).toEqual({ ok: true, source: { kind: 'hf', repo: 'me/model', revision: 'v1.0' } });
  });

  it('rejects everything else', () => {
    for (const bad of ['', 'model', 'a/b/c', 'ftp://x/y', 'javascript:alert(1)', 'https://', 'owner/..', '/abs/path', 'own er/name']) {
      expect(parseModelSource(bad).ok, bad).toBe(false);
    }
  });
});

/** What the first versions wrote to localStorage: source and label only. */
function writeLegacy(storage: Storage, entries: readonly { source: unknown; label: string }[]): void {
  storage.setItem(USER_MODELS_STORAGE_KEY, JSON.stringify(entries.map((e) => ({ source: e.source, label: e.label }))));
}

describe('user model storage', () => {
  it('reads the old localStorage list and ignores malformed storage', () => {
    const storage = memoryStorage();
    const hf = parseModelSource('me/model@dev');
    const url = parseModelSource('https://cdn.example/kanana/');
    if (!hf.ok || !url.ok) throw new Error('fixtures must parse');
    const entries = [userModelEntry(hf.source, ''), userModelEntry(url.source, 'My Kanana')];
    writeLegacy(storage, entries);
    expect(readUserModels(storage)).toEqual(entries);
    expect(readUserModels(storage).map((e) => e.label)).toEqual(['me/model', 'My Kanana']);
    storage.setItem(USER_MODELS_STORAGE_KEY, '{"not":"a list"}');
    expect(readUserModels(storage)).toEqual([]);
    storage.setItem(USER_MODELS_STORAGE_KEY, '[{"source":{"kind":"url","baseUrl":"javascript:alert(1)"}}, 7, null]');
    expect(readUserModels(storage)).toEqual([]);
  });
});

describe('moving user models from localStorage to Dexie', () => {
  it('moves every valid entry once, keeps entries already in Dexie, and drops the old key', async () => {
    await db.userModels.clear();
    const storage = memoryStorage();
    const hf = parseModelSource('me/model@dev');
    const url = parseModelSource('https://cdn.example/kanana/');
    if (!hf.ok || !url.ok) throw new Error('fixtures must parse');
    writeLegacy(storage, [
      userModelEntry(hf.source, ''),
      userModelEntry(url.source, 'My Kanana'),
      { source: { kind: 'url', baseUrl: 'javascript:x' }, label: 'bad' },
    ]);
    await db.userModels.put({ id: 'user:me/model@dev', label: 'Renamed', source: hf.source, dtypes: { q4: 1 }, nativeContext: 0, addedAt: 5 });

    expect(await migrateLegacyUserModels(storage)).toBe(1);
    expect(storage.getItem(USER_MODELS_STORAGE_KEY)).toBeNull();
    expect((await listUserModels()).map((e) => [e.id, e.label, e.user])).toEqual([
      ['user:https://cdn.example/kanana/', 'My Kanana', true],
      ['user:me/model@dev', 'Renamed', true],
    ]);
    expect(await migrateLegacyUserModels(storage)).toBe(0);
  });
});
