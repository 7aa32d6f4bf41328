/**
 * A catalog model's config.json, for the context-length setting: from the store when the model is
 * stored (offline, no request), else from its source — only when the user picked the model, never
 * on page open. Configs are small; each is read once per page.
 */
import { modelStore } from '../../db/model-store.ts';
import type { CatalogEntry } from '../../model/catalog.ts';
import type { HfLlamaConfig } from '../../model/config.ts';
import { checkConfigBounds, maxJsonBytes } from '../../model/input-bounds.ts';
import { readCappedText } from '../../lib/read-capped.ts';
import { hubUrl } from './hub-url.ts';

const cache = new Map<string, HfLlamaConfig>();

/** A config the context setting can plan from; one out of bounds is not (its load is refused with the reason). */
function parse(value: unknown): HfLlamaConfig | null {
  const config = value as HfLlamaConfig | null;
  if (typeof config !== 'object' || config === null || typeof config.max_position_embeddings !== 'number') return null;
  try {
    checkConfigBounds(config);
  } catch {
    return null;
  }
  return config;
}

function sourceUrl(entry: CatalogEntry): string | null {
  const source = entry.source;
  if (source.kind === 'url') return new URL('config.json', new URL(source.baseUrl, document.baseURI)).href;
  // A safetensors repo has the same config.json the in-browser conversion will store.
  if (source.kind === 'hf' || source.kind === 'hf-safetensors') return `${hubUrl()}/${source.repo}/resolve/${encodeURIComponent(source.revision)}/config.json`;
  return null;
}

export async function readModelConfig(entry: CatalogEntry, options: { network: boolean }): Promise<HfLlamaConfig | null> {
  const known = cache.get(entry.id);
  if (known) return known;
  let config = await modelStore
    .readFileBytes(entry.id, 'config.json')
    .then((bytes) => parse(JSON.parse(new TextDecoder().decode(bytes))))
    .catch(() => null); // not stored (yet)
  const url = sourceUrl(entry);
  if (!config && options.network && url) {
    try {
      const response = await fetch(url, { cache: 'no-cache' });
      if (response.ok) config = parse(JSON.parse(await readCappedText(response, 'config.json', maxJsonBytes('config.json'))));
    } catch {
      config = null; // offline or unreachable: the setting waits for the download
    }
  }
  if (config) cache.set(entry.id, config);
  return config;
}
