/**
 * "Add model" checks what the user typed before adding it: a folder URL must serve config.json
 * (and ideally our converter's manifest, which lists every file with its size). A Hugging Face
 * repo is listed once (the revision API with file sizes): ONNX graphs there make it an `hf` model
 * that loads directly; otherwise a safetensors checkpoint the converter supports makes it
 * `hf-safetensors`, converted in the browser on first load, with its stored size estimated.
 */
import type { CatalogEntry, ModelDtype } from '../../model/catalog.ts';
import { dtypesFromFiles } from '../../model/model-files.ts';
import { connectAllowed } from '../../pwa/policy.ts';
import { hubUrl } from './hub-url.ts';
import type { ParsedModelSource } from './user-models.ts';

type Source = Extract<ParsedModelSource, { ok: true }>['source'];

export type ProbeFailure = 'unreachable' | 'not-a-model' | 'no-onnx' | 'blocked' | 'gated' | 'not-found' | 'unsupported-architecture' | 'no-safetensors';

export type ProbeResult =
  | { ok: true; kind: 'url' | 'hf' | 'hf-safetensors'; dtypes: Partial<Record<ModelDtype, number | null>>; nativeContext: number }
  | { ok: false; reason: ProbeFailure };

/** The precisions an in-browser conversion offers (4-bit: what a browser runs). */
const CONVERTED_DTYPES = ['q4f16', 'q4'] as const;

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

function contextOf(config: unknown): number {
  const value = (config as { max_position_embeddings?: unknown })?.max_position_embeddings;
  return typeof value === 'number' && value > 0 ? value : 0;
}

async function probeFolder(baseUrl: string): Promise<ProbeResult> {
  let config: unknown;
  try {
    config = await fetchJson(`${baseUrl}config.json`);
  } catch {
    return { ok: false, reason: 'unreachable' };
  }
  if (typeof config !== 'object' || config === null) return { ok: false, reason: 'not-a-model' };
  let dtypes: CatalogEntry['dtypes'] = {};
  try {
    const manifest = (await fetchJson(`${baseUrl}hanmadi-manifest.json`)) as { files?: { path: string; size: number }[] };
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
  return { ok: true, kind: 'url', dtypes, nativeContext: contextOf(config) };
}

/** The page's Content-Security-Policy (the built app has one in a <meta> tag; dev has none). */
function pagePolicy(): string | null {
  return document.querySelector<HTMLMetaElement>('meta[http-equiv="Content-Security-Policy"]')?.content ?? null;
}

export async function probeModel(source: Source): Promise<ProbeResult> {
  // A host outside connect-src fails like a network error; say why instead.
  const firstUrl = source.kind === 'url' ? `${source.baseUrl}config.json` : `${hubUrl()}/${source.repo}/resolve/main/config.json`;
  if (!connectAllowed(pagePolicy(), firstUrl, location.href)) return { ok: false, reason: 'blocked' };
  if (source.kind === 'url') return probeFolder(source.baseUrl);
  // Loaded on demand: the converter core is not part of the page's first bundle.
  const { checkpointOfRepo, estimateConversionSize, fetchModelRepo, fetchRepoFile, HfHubError } = await import('../../converter/hf-hub.ts');
  const options = { host: hubUrl(), maxAttempts: 2 };
  const failure = (error: unknown): ProbeResult => {
    if (!(error instanceof HfHubError)) return { ok: false, reason: 'unreachable' };
    const reasons: Partial<Record<string, ProbeFailure>> = {
      gated: 'gated',
      'not-found': 'not-found',
      'invalid-repo-id': 'not-found',
      'unsupported-architecture': 'unsupported-architecture',
      'no-safetensors': 'no-safetensors',
      'missing-file': 'not-a-model',
    };
    return { ok: false, reason: reasons[error.code] ?? 'unreachable' };
  };
  try {
    const repo = await fetchModelRepo(source.repo, source.revision, options);
    const dtypes = dtypesFromFiles(repo.files);
    if (Object.keys(dtypes).length > 0) {
      const config = JSON.parse(new TextDecoder().decode(await fetchRepoFile(repo, 'config.json', options))) as unknown;
      return { ok: true, kind: 'hf', dtypes, nativeContext: contextOf(config) };
    }
    // No ONNX: a checkpoint the browser can convert? (checked before any weight is fetched)
    const checkpoint = await checkpointOfRepo(repo, { ...options, dtypes: CONVERTED_DTYPES });
    const estimate = estimateConversionSize(checkpoint, CONVERTED_DTYPES);
    const converted = Object.fromEntries(CONVERTED_DTYPES.map((d) => [d, estimate.perDtype[d]! + estimate.sharedBytes]));
    return { ok: true, kind: 'hf-safetensors', dtypes: converted, nativeContext: contextOf(checkpoint.config) };
  } catch (error) {
    return failure(error);
  }
}
