/**
 * What downloading one precision of a model means: the files transformers.js will read, where
 * each comes from, its size and what it must hash to. Per source:
 * - a converted folder (`url`) with our converter's hanmadi-manifest.json: sizes and SHA-256 from
 *   the manifest (docs/model-format.md); without a manifest, each file's size (and ETag) from a
 *   one-byte Range request, and only the size can be checked;
 * - a Hugging Face ONNX repo (`hf`): the revision pinned to its commit and per-file sizes with the
 *   LFS SHA-256 or the git blob id (hf-hub.ts resolveHfOnnxModel).
 * config.json is read here anyway (it says which external-data files exist), so its bytes come
 * along and are not fetched twice.
 */
import { MANIFEST_FILE } from '../converter/convert.ts';
import { resolveHfOnnxModel } from '../converter/hf-hub.ts';
import { fetchBytes, HttpByteSource, HttpSourceError, type HttpOptions } from '../converter/http-source.ts';
import type { ManifestFile } from '../converter/model-io.ts';
import type { FileIdentity } from '../lib/chunked-file.ts';
import type { ModelDtype, ModelSource } from '../model/catalog.ts';
import { graphFiles, OPTIONAL_SHARED_FILES, REQUIRED_SHARED_FILES } from '../model/model-files.ts';
import { AppError } from '../lib/errors.ts';

export interface PlannedFile extends FileIdentity {
  path: string;
  url: string;
  /**
   * Whether a response's ETag must stay the one recorded when the file was started. Plain hosts
   * can replace a file under the same URL; a Hub URL names a commit, whose files never change
   * (and whose LFS files come from a CDN with its own ETags).
   */
  checkEtag: boolean;
  /** The whole file, when planning already fetched it. */
  bytes?: Uint8Array;
}

export interface DownloadPlan {
  /** The commit a Hugging Face revision resolved to. */
  revision?: string;
  files: PlannedFile[];
}

export interface PlanOptions extends HttpOptions {
  /** The Hub's origin (tests use a local mock Hub). */
  hubHost?: string;
  /** A file's bytes when the store already has it whole with this identity (config.json is not fetched again). */
  storedFile?: (path: string, identity: FileIdentity) => Promise<Uint8Array | null>;
}

const isNotFound = (error: unknown) => error instanceof HttpSourceError && error.code === 'http-status' && (error.status === 404 || error.status === 410);

async function fetchOptional(url: string, options: HttpOptions): Promise<Uint8Array | null> {
  try {
    return await fetchBytes(url, options);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AppError('load-failed', `${what} is not valid JSON.`);
  }
}

function parseManifest(bytes: Uint8Array): Map<string, ManifestFile> {
  const files = (parseJson(bytes, MANIFEST_FILE) as { files?: unknown }).files;
  const valid = Array.isArray(files)
    ? files.filter(
        (f): f is ManifestFile => typeof f?.path === 'string' && Number.isSafeInteger(f.size) && f.size >= 0 && /^[0-9a-f]{64}$/i.test(String(f.sha256)),
      )
    : [];
  return new Map(valid.map((f) => [f.path, f]));
}

async function planFolder(baseUrl: string, dtype: ModelDtype, options: PlanOptions): Promise<DownloadPlan> {
  const urlOf = (path: string) => new URL(path, baseUrl).href;
  const manifestBytes = await fetchOptional(urlOf(MANIFEST_FILE), options);
  const manifest = manifestBytes ? parseManifest(manifestBytes) : null;
  let configEtag: string | undefined;
  const listed = manifest?.get('config.json');
  const storedConfig = listed ? await options.storedFile?.('config.json', { size: listed.size, sha256: listed.sha256.toLowerCase() }) : null;
  const configBytes =
    storedConfig ?? (await fetchOptional(urlOf('config.json'), { ...options, onResponse: (r) => (configEtag = r.headers.get('ETag') ?? undefined) }));
  if (!configBytes) throw new AppError('model-files-missing', `${urlOf('config.json')} was not found.`, { file: 'config.json' });
  const config = parseJson(configBytes, 'config.json');
  const required = [...REQUIRED_SHARED_FILES, ...graphFiles(config, dtype)];

  if (manifest) {
    const missing = required.filter((p) => !manifest.has(p));
    if (missing.length) throw new AppError('model-files-missing', `${MANIFEST_FILE} at ${baseUrl} lists no ${missing.join(', ')}.`, { file: missing[0] });
    const paths = [...required, ...OPTIONAL_SHARED_FILES.filter((p) => manifest.has(p))];
    return {
      files: paths.map((path) => {
        const entry = manifest.get(path)!;
        return {
          path,
          url: urlOf(path),
          size: entry.size,
          sha256: entry.sha256.toLowerCase(),
          checkEtag: true,
          ...(path === 'config.json' ? { bytes: configBytes } : {}),
        };
      }),
    };
  }

  // No manifest: one `bytes=0-0` request per file learns its size and ETag (and that Range works).
  const files: PlannedFile[] = [
    {
      path: 'config.json',
      url: urlOf('config.json'),
      size: configBytes.length,
      checkEtag: true,
      bytes: configBytes,
      ...(configEtag ? { etag: configEtag } : {}),
    },
  ];
  for (const path of [...required.slice(1), ...OPTIONAL_SHARED_FILES]) {
    let etag: string | undefined;
    try {
      const source = await HttpByteSource.open(urlOf(path), { ...options, onResponse: (r) => (etag = r.headers.get('ETag') ?? undefined) });
      files.push({ path, url: urlOf(path), size: source.size, checkEtag: true, ...(etag ? { etag } : {}) });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (required.includes(path)) throw new AppError('model-files-missing', `${urlOf(path)} was not found.`, { file: path });
    }
  }
  return { files };
}

/** The files to store for `dtype` of `source`; `revision` pins a Hub download already started. */
export async function planDownload(source: ModelSource, dtype: ModelDtype, options: PlanOptions, revision?: string): Promise<DownloadPlan> {
  switch (source.kind) {
    case 'url':
      return planFolder(source.baseUrl, dtype, options);
    case 'hf': {
      const model = await resolveHfOnnxModel(source.repo, revision ?? source.revision, dtype, {
        ...options,
        host: options.hubHost,
        knownFile: async (file) =>
          (await options.storedFile?.(file.path, {
            size: file.size,
            ...(file.lfsSha256 ? { sha256: file.lfsSha256 } : file.blobId ? { gitSha1: file.blobId } : {}),
          })) ?? null,
      });
      return {
        revision: model.sha,
        files: model.modelFiles.map((f) => ({
          path: f.path,
          url: f.url,
          size: f.size,
          ...(f.lfsSha256 ? { sha256: f.lfsSha256 } : f.blobId ? { gitSha1: f.blobId } : {}),
          checkEtag: false,
          ...(f.path === 'config.json' ? { bytes: model.configBytes } : {}),
        })),
      };
    }
    case 'hf-safetensors':
      throw new AppError('model-files-missing', `${source.repo} has no ONNX files yet: convert it first.`);
    case 'imported':
      throw new AppError('model-corrupt', `"${source.folder}" was imported from a folder and has no source to download from: import it again.`);
  }
}
