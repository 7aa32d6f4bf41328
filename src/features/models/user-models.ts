/**
 * "Add model": parse what the user typed (the URL of a converted folder, or a Hugging Face repo
 * id) into a catalog entry. Entries live in Dexie (src/db/user-models.ts); the first versions
 * kept them in localStorage, and `migrateLegacyUserModels` moves those over once.
 */
import { addMissingUserModels } from '../../db/user-models.ts';
import type { CatalogEntry, ModelSource } from '../../model/catalog.ts';

export const USER_MODELS_STORAGE_KEY = 'hanmadi.userModels';

/** owner/name with an optional @revision, as on huggingface.co. */
const HF_REPO_ID = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\/([A-Za-z0-9][A-Za-z0-9_.-]*)(?:@([A-Za-z0-9_.\-/]+))?$/;

export type ParsedModelSource = { ok: true; source: Extract<ModelSource, { kind: 'url' } | { kind: 'hf' }> } | { ok: false };

export function parseModelSource(input: string): ParsedModelSource {
  const text = input.trim();
  if (/^https?:\/\//i.test(text)) {
    try {
      const url = new URL(text);
      url.hash = '';
      url.search = '';
      // transformers.js appends file names to the folder, so the folder URL must end with '/'.
      const baseUrl = url.href.endsWith('/') ? url.href : `${url.href}/`;
      return { ok: true, source: { kind: 'url', baseUrl } };
    } catch {
      return { ok: false };
    }
  }
  const match = HF_REPO_ID.exec(text);
  if (match && !text.includes('..')) return { ok: true, source: { kind: 'hf', repo: `${match[1]}/${match[2]}`, revision: match[3] ?? 'main' } };
  return { ok: false };
}

export function sourceKey(source: ModelSource): string {
  if (source.kind === 'url') return source.baseUrl;
  if (source.kind === 'imported') return `imported:${source.folder}`;
  return `${source.repo}@${source.revision}`;
}

export function userModelEntry(source: Extract<ModelSource, { kind: 'url' } | { kind: 'hf' } | { kind: 'hf-safetensors' }>, label: string): CatalogEntry {
  const key = sourceKey(source);
  const fallbackLabel = source.kind !== 'url' ? source.repo : key.replace(/\/$/, '').split('/').pop() || key;
  return {
    id: `user:${key}`,
    label: label.trim() || fallbackLabel,
    params: '?',
    languages: [],
    license: 'unknown',
    nativeContext: 0,
    dtypes: {},
    source,
    user: true,
  };
}

/** Reads the old localStorage list, dropping anything malformed (storage is user-editable). */
export function readUserModels(storage: Pick<Storage, 'getItem'>): CatalogEntry[] {
  try {
    const raw: unknown = JSON.parse(storage.getItem(USER_MODELS_STORAGE_KEY) ?? '[]');
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((item: unknown) => {
      if (typeof item !== 'object' || item === null) return [];
      const { source, label } = item as { source?: unknown; label?: unknown };
      if (typeof source !== 'object' || source === null) return [];
      const parsed = parseModelSource(sourceKey(source as ModelSource).replace(/@main$/, ''));
      if (!parsed.ok) return [];
      const revision = (source as { revision?: unknown }).revision;
      if (parsed.source.kind === 'hf' && typeof revision === 'string') parsed.source.revision = revision;
      return [userModelEntry(parsed.source, typeof label === 'string' ? label : '')];
    });
  } catch {
    return [];
  }
}

/**
 * Moves the old localStorage entries into Dexie (idempotent: existing ids are kept), then drops
 * the key — only after the write succeeded. Runs on the page, not in Dexie's upgrade, because
 * the upgrade may run in a worker, where localStorage does not exist.
 */
export async function migrateLegacyUserModels(storage: Pick<Storage, 'getItem' | 'removeItem'>): Promise<number> {
  if (storage.getItem(USER_MODELS_STORAGE_KEY) === null) return 0;
  const added = await addMissingUserModels(readUserModels(storage));
  storage.removeItem(USER_MODELS_STORAGE_KEY);
  return added;
}
