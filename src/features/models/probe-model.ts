/**
 * "Add model" checks what the user typed before adding it: a folder URL must serve config.json
 * (and ideally our converter's manifest, which lists every file with its size); a Hugging Face
 * repo must list ONNX graphs. The result says which precisions exist and how big they are.
 */
import type { CatalogEntry, ModelDtype } from '../../model/catalog.ts';
import { dtypesFromFiles } from '../../model/model-files.ts';
import { connectAllowed } from '../../pwa/policy.ts';
import type { ParsedModelSource } from './user-models.ts';

type Source = Extract<ParsedModelSource, { ok: true }>['source'];

export type ProbeResult =
  | { ok: true; dtypes: Partial<Record<ModelDtype, number | null>>; nativeContext: number }
  | { ok: false; reason: 'unreachable' | 'not-a-model' | 'no-onnx' | 'blocked' };

const HF_HOST = 'https://huggingface.co';

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

function contextOf(config: unknown): number {
  const value = (config as { max_position_embeddings?: unknown })?.max_position_embeddings;
  return typeof value === 'number' && value > 0 ? value : 0;
}

/** The page's Content-Security-Policy (the built app has one in a <meta> tag; dev has none). */
function pagePolicy(): string | null {
  return document.querySelector<HTMLMetaElement>('meta[http-equiv="Content-Security-Policy"]')?.content ?? null;
}

export async function probeModel(source: Source): Promise<ProbeResult> {
  // A host outside connect-src fails like a network error; say why instead.
  const firstUrl = source.kind === 'url' ? `${source.baseUrl}config.json` : `${HF_HOST}/${source.repo}/resolve/main/config.json`;
  if (!connectAllowed(pagePolicy(), firstUrl, location.href)) return { ok: false, reason: 'blocked' };
  if (source.kind === 'url') {
    let config: unknown;
    try {
      config = await fetchJson(`${source.baseUrl}config.json`);
    } catch {
      return { ok: false, reason: 'unreachable' };
    }
    if (typeof config !== 'object' || config === null) return { ok: false, reason: 'not-a-model' };
    let dtypes: CatalogEntry['dtypes'] = {};
    try {
      const manifest = (await fetchJson(`${source.baseUrl}hanmadi-manifest.json`)) as { files?: { path: string; size: number }[] };
      dtypes = dtypesFromFiles(manifest.files ?? []);
    } catch {
      // Not converted by Hanmadi: the precisions come from the external-data list in config.json.
      const external = (config as { 'transformers.js_config'?: { use_external_data_format?: Record<string, unknown> } })['transformers.js_config']?.use_external_data_format;
      for (const name of Object.keys(external ?? {})) {
        const dtype = Object.keys(dtypesFromFiles([{ path: `onnx/${name}`, size: 0 }]))[0] as ModelDtype | undefined;
        if (dtype) dtypes[dtype] = null;
      }
    }
    if (Object.keys(dtypes).length === 0) return { ok: false, reason: 'no-onnx' };
    return { ok: true, dtypes, nativeContext: contextOf(config) };
  }
  const revision = encodeURIComponent(source.revision);
  let tree: unknown;
  let config: unknown;
  try {
    [tree, config] = await Promise.all([
      fetchJson(`${HF_HOST}/api/models/${source.repo}/tree/${revision}/onnx`),
      fetchJson(`${HF_HOST}/${source.repo}/resolve/${revision}/config.json`),
    ]);
  } catch {
    return { ok: false, reason: 'unreachable' };
  }
  const files = Array.isArray(tree) ? (tree as { path?: unknown; size?: unknown }[]).filter((f) => typeof f.path === 'string').map((f) => ({ path: String(f.path), size: Number(f.size) || 0 })) : [];
  const dtypes = dtypesFromFiles(files);
  if (Object.keys(dtypes).length === 0) return { ok: false, reason: 'no-onnx' };
  return { ok: true, dtypes, nativeContext: contextOf(config) };
}
