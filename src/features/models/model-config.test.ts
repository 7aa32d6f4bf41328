/**
 * Where the context-length setting reads a model's config.json: the store first (offline, no
 * request), the model's source only when allowed (the user picked the model, never page open),
 * unreadable or unreachable configs give null, and each config is read once.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { modelStore } from '../../db/model-store.ts';
import type { CatalogEntry } from '../../model/catalog.ts';
import { HUB_URL_STORAGE_KEY } from './hub-url.ts';
import { readModelConfig } from './model-config.ts';

const entry = (id: string, source: CatalogEntry['source']): CatalogEntry => ({
  id,
  label: id,
  params: '1M',
  languages: ['ko'],
  license: 'test',
  nativeContext: 0,
  dtypes: { q4: null },
  source,
});

const config = { model_type: 'llama', max_position_embeddings: 64 };
let fetched: string[];
let answer: () => Response;

beforeEach(() => {
  fetched = [];
  answer = () => Response.json(config);
  vi.stubGlobal('document', { baseURI: 'http://app.test/hanmadi/' });
  vi.stubGlobal('fetch', (input: RequestInfo | URL) => {
    fetched.push(String(input));
    return Promise.resolve(answer());
  });
});

afterEach(() => vi.unstubAllGlobals());

async function store(modelKey: string, text: string) {
  const bytes = new TextEncoder().encode(text);
  const writer = await modelStore.openWriter(modelKey, 'config.json', { size: bytes.length });
  await writer.write(bytes);
  await writer.finish();
}

describe('readModelConfig', () => {
  it('reads a stored config without any request, and only once', async () => {
    await store('stored', JSON.stringify({ ...config, max_position_embeddings: 32768 }));
    const e = entry('stored', { kind: 'url', baseUrl: 'models/stored/' });
    const first = await readModelConfig(e, { network: true });
    expect(first).toMatchObject({ max_position_embeddings: 32768 });
    expect(fetched).toEqual([]);
    expect(await readModelConfig(e, { network: false })).toBe(first); // cached
  });

  it('asks the source only when the network is allowed (relative URL folders and Hugging Face repos)', async () => {
    const local = entry('local', { kind: 'url', baseUrl: 'models/local/tiny/' });
    expect(await readModelConfig(local, { network: false })).toBeNull();
    expect(fetched).toEqual([]);
    expect(await readModelConfig(local, { network: true })).toEqual(config);
    const hub = entry('hub', { kind: 'hf', repo: 'org/name', revision: 'main' });
    expect(await readModelConfig(hub, { network: true })).toEqual(config);
    // A safetensors repo (converted in the browser) from the configured Hub mirror.
    vi.stubGlobal('localStorage', { getItem: (key: string) => (key === HUB_URL_STORAGE_KEY ? 'http://hub.test/mirror/' : null) });
    expect(await readModelConfig(entry('st', { kind: 'hf-safetensors', repo: 'org/st', revision: 'v1' }), { network: true })).toEqual(config);
    expect(fetched).toEqual([
      'http://app.test/hanmadi/models/local/tiny/config.json',
      'https://huggingface.co/org/name/resolve/main/config.json',
      'http://hub.test/mirror/org/st/resolve/v1/config.json',
    ]);
    await readModelConfig(local, { network: true });
    expect(fetched).toHaveLength(3); // read once per page
  });

  it('gives null for a config without max_position_embeddings, an HTTP error, a network failure or an imported model', async () => {
    answer = () => Response.json({ model_type: 'llama' });
    expect(await readModelConfig(entry('odd', { kind: 'url', baseUrl: 'a/' }), { network: true })).toBeNull();
    answer = () => new Response('missing', { status: 404 });
    expect(await readModelConfig(entry('gone', { kind: 'url', baseUrl: 'b/' }), { network: true })).toBeNull();
    answer = () => {
      throw new TypeError('Failed to fetch');
    };
    expect(await readModelConfig(entry('offline', { kind: 'url', baseUrl: 'c/' }), { network: true })).toBeNull();
    await store('broken', '{ not json');
    expect(await readModelConfig(entry('broken', { kind: 'imported', folder: 'x' }), { network: true })).toBeNull();
    expect(fetched).toHaveLength(3);
  });
});
