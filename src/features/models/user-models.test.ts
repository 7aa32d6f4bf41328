import { describe, expect, it } from 'vitest';
import { parseModelSource, readUserModels, userModelEntry, USER_MODELS_STORAGE_KEY, writeUserModels } from './user-models.ts';

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
    expect(parseModelSource(' https://example.com/models/kanana-nano ')).toEqual({ ok: true, source: { kind: 'url', baseUrl: 'https://example.com/models/kanana-nano/' } });
    expect(parseModelSource('http://localhost:8080/m/?x=1#y')).toEqual({ ok: true, source: { kind: 'url', baseUrl: 'http://localhost:8080/m/' } });
  });

  it('accepts Hugging Face repo ids with an optional revision', () => {
    expect(parseModelSource('onnx-community/EXAONE-3.5-2.4B-Instruct')).toEqual({ ok: true, source: { kind: 'hf', repo: 'onnx-community/EXAONE-3.5-2.4B-Instruct', revision: 'main' } });
    expect(parseModelSource('me/model@v1.0')).toEqual({ ok: true, source: { kind: 'hf', repo: 'me/model', revision: 'v1.0' } });
  });

  it('rejects everything else', () => {
    for (const bad of ['', 'model', 'a/b/c', 'ftp://x/y', 'javascript:alert(1)', 'https://', 'owner/..', '/abs/path', 'own er/name']) {
      expect(parseModelSource(bad).ok, bad).toBe(false);
    }
  });
});

describe('user model storage', () => {
  it('round-trips entries and ignores malformed storage', () => {
    const storage = memoryStorage();
    const hf = parseModelSource('me/model@dev');
    const url = parseModelSource('https://cdn.example/kanana/');
    if (!hf.ok || !url.ok) throw new Error('fixtures must parse');
    const entries = [userModelEntry(hf.source, ''), userModelEntry(url.source, 'My Kanana')];
    writeUserModels(storage, entries);
    expect(readUserModels(storage)).toEqual(entries);
    expect(readUserModels(storage).map((e) => e.label)).toEqual(['me/model', 'My Kanana']);
    storage.setItem(USER_MODELS_STORAGE_KEY, '{"not":"a list"}');
    expect(readUserModels(storage)).toEqual([]);
    storage.setItem(USER_MODELS_STORAGE_KEY, '[{"source":{"kind":"url","baseUrl":"javascript:alert(1)"}}, 7, null]');
    expect(readUserModels(storage)).toEqual([]);
  });
});
