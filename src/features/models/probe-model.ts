/**
 * "Add model" checks what the user typed before adding it: a folder URL must serve config.json
 * (and ideally our converter's manifest, which lists every file with its size); a Hugging Face
 * repo is probed by the store worker (src/worker/probe-repo.ts: ONNX files to load directly, or
 * a checkpoint to convert in the browser, with its stored size estimated).
 */
import type { CatalogEntry, ModelDtype } from '../../model/catalog.ts';
import { dtypesFromFiles } from '../../model/model-files.ts';
import { connectAllowed } from '../../pwa/policy.ts';
import { AppError, type ErrorCode } from '../../lib/errors.ts';
import { readCappedText } from '../../lib/read-capped.ts';
import { checkConfigBounds, maxJsonBytes } from '../../model/input-bounds.ts';
import { EngineRequestError } from '../../worker/rpc-client.ts';
import { storeClient } from '../../worker/store-client.ts';
import { hubUrl } from './hub-url.ts';
import type { ParsedModelSource } from './user-models.ts';

type Source = Extract<ParsedModelSource, { ok: true }>['source'];

export type ProbeFailure =
  | 'unreachable'
  | 'not-a-model'
  | 'no-onnx'
  | 'blocked'
  | 'gated'
  | 'not-found'
  | 'unsupported-architecture'
  | 'no-safetensors'
  | 'config-out-of-bounds'
  | 'file-too-large';

export type ProbeResult =
  | { ok: true; kind: 'url' | 'hf' | 'hf-safetensors'; dtypes: Partial<Record<ModelDtype, number | null>>; nativeContext: number }
  | { ok: false; reason: ProbeFailure; params?: Record<string, number | string> };

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`${response.status}`);
  const path = new URL(url).pathname;
  return JSON.parse(await readCappedText(response, path, maxJsonBytes(path)));
}

/** A typed refusal of what the host serves (too large, out of bounds) as the dialog's reason. */
function boundsFailure(error: unknown): ProbeFailure | null {
  const code = error instanceof AppError ? error.code : null;
  return code === 'config-out-of-bounds' || code === 'file-too-large' ? code : null;
}

function contextOf(config: unknown): number {
  const value = (config as { max_position_embeddings?: unknown })?.max_position_embeddings;
  return typeof value === 'number' && value > 0 ? value : 0;
}

async function probeFolder(baseUrl: string): Promise<ProbeResult> {
  let config: unknown;
  try {
    config = await fetchJson(`${baseUrl}config.json`);
    checkConfigBounds(config);
  } catch (error) {
    return { ok: false, reason: boundsFailure(error) ?? 'unreachable' };
  }
  if (typeof config !== 'object' || config === null) return { ok: false, reason: 'not-a-model' };
  let dtypes: CatalogEntry['dtypes'] = {};
  try {
    const manifest = (await fetchJson(`${baseUrl}hanmadi-manifest.json`)) as { files?: { path: string; size: number }[] };
    dtypes = dtypesFromFiles(manifest.files ?? []);
  } catch (error) {
    const failure = boundsFailure(error);
    if (failure) return { ok: false, reason: failure };
    // Not converted by Hanmadi: the precisions come from the external-data list in config.json.
    const external = (config as { 'transformers.js_config'?: { use_external_data_format?: Record<string, unknown> } })['transformers.js_config']
      ?.use_external_data_format;
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
  try {
    const probe = await storeClient().probeRepo(source.repo, source.revision, hubUrl());
    return { ok: true, ...probe };
  } catch (error) {
    const code = error instanceof EngineRequestError ? error.value.code : null;
    const reasons: Partial<Record<ErrorCode, ProbeFailure>> = {
      'repo-gated': 'gated',
      'repo-not-found': 'not-found',
      'unsupported-architecture': 'unsupported-architecture',
      'no-safetensors': 'no-safetensors',
      'model-files-missing': 'not-a-model',
      'config-out-of-bounds': 'config-out-of-bounds',
      'file-too-large': 'file-too-large',
    };
    const params = error instanceof EngineRequestError ? error.value.params : undefined;
    return { ok: false, reason: (code && reasons[code]) ?? 'unreachable', ...(params ? { params } : {}) };
  }
}
