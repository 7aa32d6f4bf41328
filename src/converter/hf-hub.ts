/**
 * A Hugging Face model repo as a checkpoint to convert in the browser, with the public Hub API:
 * - `GET {host}/api/models/{repo}/revision/{revision}?blobs=true` gives the commit sha and every
 *   file with its size and, for LFS files, its sha256 (huggingface_hub's
 *   `model_info(files_metadata=True)`; siblings `{ rfilename, size, lfs: { sha256, size } }`);
 * - files are read from `{host}/{repo}/resolve/{sha}/{path}`, pinned to that commit, small ones
 *   whole and safetensors through HTTP Range reads (HttpByteSource).
 * Errors are HfHubError with a code, from the status and the Hub's X-Error-Code header as
 * huggingface_hub's hf_raise_for_status reads them (GatedRepo, RepoNotFound, RevisionNotFound).
 */
import type { CodedError, ErrorCode } from '../lib/errors.ts';
import type { ModelDtype } from '../model/catalog.ts';
import { UnsupportedModelError, type HfLlamaConfig, type LlamaShape } from '../model/config.ts';
import { graphFiles, OPTIONAL_SHARED_FILES, REQUIRED_SHARED_FILES } from '../model/model-files.ts';
import { checkConvertible, GRAPH_OPSETS, planConversion, TOKENIZER_FILES, type ConvertDtype } from './convert.ts';
import { fetchBytes, HttpByteSource, HttpSourceError, type HttpOptions } from './http-source.ts';
import type { CheckpointReader } from './model-io.ts';
import { encodeModel } from './onnx-proto.ts';
import { checkFileSize, maxJsonBytes, MAX_MODEL_FILE_BYTES } from '../model/input-bounds.ts';
import { storedExternalDataBytes } from '../model/size-estimate.ts';

export const HF_HUB_URL = 'https://huggingface.co';

export type HfHubErrorCode =
  | 'invalid-repo-id'
  /** The repo is gated and this visitor has no access (401/403). */
  | 'gated'
  /** No such repo (or a private one), revision or file. */
  | 'not-found'
  | 'unsupported-architecture'
  | 'no-safetensors'
  /** config.json or the tokenizer is missing. */
  | 'missing-file'
  | 'network'
  /** The Hub answered something this client does not understand. */
  | 'bad-response';

const HF_ERROR_CODES: Record<HfHubErrorCode, ErrorCode> = {
  network: 'download-failed',
  gated: 'repo-gated',
  'not-found': 'repo-not-found',
  'invalid-repo-id': 'repo-not-found',
  'missing-file': 'model-files-missing',
  'unsupported-architecture': 'unsupported-architecture',
  'no-safetensors': 'no-safetensors',
  'bad-response': 'load-failed',
};

export class HfHubError extends Error implements CodedError {
  constructor(
    readonly code: HfHubErrorCode,
    message: string,
    readonly status?: number,
    readonly params?: Record<string, number | string>,
  ) {
    super(message);
    this.name = 'HfHubError';
  }

  get errorCode(): ErrorCode {
    return HF_ERROR_CODES[this.code];
  }
}

export interface HfHubOptions extends Omit<HttpOptions, 'headers'> {
  /** The Hub's origin (default https://huggingface.co); tests use a local server. */
  host?: string;
  /** A Hugging Face access token, for gated repos the visitor has been granted. */
  accessToken?: string;
}

export interface HfRepoFile {
  path: string;
  size: number;
  /** sha256 of the content, for files stored with LFS (every safetensors file). */
  lfsSha256?: string;
  /** The git blob id: for files outside LFS, sha1 of "blob <size>\0" + content. */
  blobId?: string;
}

export interface HfModelRepo {
  host: string;
  repo: string;
  /** The revision asked for (branch, tag or commit). */
  revision: string;
  /** The commit it resolved to: every file is read at this commit. */
  sha: string;
  gated: false | 'auto' | 'manual';
  files: HfRepoFile[];
}

export interface HfCheckpoint extends HfModelRepo {
  config: HfLlamaConfig;
  shape: LlamaShape;
  /** The safetensors files the conversion reads (one, or the shards of the index). */
  weightFiles: HfRepoFile[];
  /** Bytes downloaded to convert: the weights read once, plus config, tokenizer and index files. */
  downloadBytes: number;
}

const SMALL_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'model.safetensors.index.json',
];

/** Hub repo names: letters, digits, '-', '_', '.'; no '--' or '..'; not starting or ending with '-' or '.'. */
const REPO_PART = /^(?![-.])(?!.*(--|\.\.))[\w.-]{1,96}(?<![-.])$/;

/** `owner/name` from a repo id or a huggingface.co model URL. */
export function parseRepoId(input: string): string {
  const trimmed = input
    .trim()
    .replace(/^https?:\/\/(www\.)?huggingface\.co\//, '')
    .replace(/\/+$/, '');
  const parts = trimmed.split('/');
  if (parts.length !== 2 || !parts.every((p) => REPO_PART.test(p))) {
    throw new HfHubError('invalid-repo-id', `"${input}" is not a Hugging Face model id (owner/name).`);
  }
  return trimmed;
}

export function hfFileUrl(host: string, repo: string, revision: string, path: string): string {
  return `${host}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

const httpOptions = (options: HfHubOptions): HttpOptions => ({
  ...options,
  headers: options.accessToken ? { Authorization: `Bearer ${options.accessToken}` } : undefined,
});

/** Maps an HTTP failure to the Hub's meaning (status and X-Error-Code). */
function hubError(error: unknown, what: string, gated: boolean): unknown {
  if (!(error instanceof HttpSourceError)) return error;
  if (error.code === 'network') return new HfHubError('network', `Could not reach the Hub for ${what}: ${error.message}`);
  // Range, size and framing problems keep their own HttpSourceError code.
  if (error.code !== 'http-status') return error;
  const { status, serverCode } = error;
  if (serverCode === 'GatedRepo' || (gated && (status === 401 || status === 403))) {
    return new HfHubError(
      'gated',
      `${what} is in a gated repo: accept its conditions on Hugging Face and sign in with an access token that has access.`,
      status,
    );
  }
  if (serverCode === 'RepoNotFound' || serverCode === 'RevisionNotFound' || serverCode === 'EntryNotFound' || status === 404 || status === 401) {
    // The Hub answers 401 for missing and private repos alike when no token is sent.
    return new HfHubError('not-found', `${what} was not found on the Hub (or is private).`, status);
  }
  return new HfHubError('bad-response', `${what}: ${error.message}`, status);
}

interface ApiSibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256?: string; size?: number };
}

/** The commit a revision points to and the files there. */
export async function fetchModelRepo(repoId: string, revision = 'main', options: HfHubOptions = {}): Promise<HfModelRepo> {
  const repo = parseRepoId(repoId);
  const host = (options.host ?? HF_HUB_URL).replace(/\/+$/, '');
  const url = `${host}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let body: Uint8Array;
  try {
    body = await fetchBytes(url, httpOptions(options));
  } catch (error) {
    throw hubError(error, `${repo}@${revision}`, false);
  }
  let info: { sha?: unknown; gated?: unknown; siblings?: unknown };
  try {
    info = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new HfHubError('bad-response', `The Hub's answer for ${repo} is not JSON.`);
  }
  if (typeof info.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha) || !Array.isArray(info.siblings)) {
    throw new HfHubError('bad-response', `The Hub's answer for ${repo} has no commit sha or file list.`);
  }
  const files = (info.siblings as ApiSibling[]).map((s): HfRepoFile => {
    const size = s.size ?? s.lfs?.size;
    if (typeof s.rfilename !== 'string' || typeof size !== 'number') throw new HfHubError('bad-response', `The Hub listed a file of ${repo} without its size.`);
    if (!Number.isSafeInteger(size) || size < 0) throw new HfHubError('bad-response', `The Hub listed ${repo}/${s.rfilename} with a size of ${size}.`);
    checkFileSize(`${repo}/${s.rfilename}`, size, MAX_MODEL_FILE_BYTES);
    return {
      path: s.rfilename,
      size,
      ...(s.lfs?.sha256 ? { lfsSha256: s.lfs.sha256 } : {}),
      ...(typeof s.blobId === 'string' && /^[0-9a-f]{40}$/.test(s.blobId) ? { blobId: s.blobId } : {}),
    };
  });
  const gated = info.gated === 'auto' || info.gated === 'manual' ? info.gated : false;
  return { host, repo, revision, sha: info.sha, gated, files };
}

/** A file of the repo, whole (small files only). */
export async function fetchRepoFile(repo: HfModelRepo, path: string, options: HfHubOptions = {}): Promise<Uint8Array> {
  // Read whole, so capped by the listed size before the request.
  const listed = repo.files.find((f) => f.path === path);
  if (listed) checkFileSize(`${repo.repo}/${path}`, listed.size, maxJsonBytes(path));
  try {
    return await fetchBytes(hfFileUrl(repo.host, repo.repo, repo.sha, path), httpOptions(options));
  } catch (error) {
    throw hubError(error, `${repo.repo}/${path}`, repo.gated !== false);
  }
}

function parseJsonFile<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw new HfHubError('bad-response', `${what} is not valid JSON.`);
  }
}

/**
 * Resolves a repo and checks, before any weight is downloaded, that it can be converted: access
 * (gated), a Llama-family config (the converter's own checks), safetensors weights (one file or a
 * complete sharded index) and a tokenizer.
 */
export async function resolveHfCheckpoint(
  repoId: string,
  revision = 'main',
  options: HfHubOptions & { dtypes?: readonly ConvertDtype[] } = {},
): Promise<HfCheckpoint> {
  return checkpointOfRepo(await fetchModelRepo(repoId, revision, options), options);
}

/** resolveHfCheckpoint for a repo whose file listing is already fetched (Add model has it). */
export async function checkpointOfRepo(repo: HfModelRepo, options: HfHubOptions & { dtypes?: readonly ConvertDtype[] } = {}): Promise<HfCheckpoint> {
  const byPath = new Map(repo.files.map((f) => [f.path, f]));
  if (!byPath.has('config.json')) throw new HfHubError('missing-file', `${repo.repo} has no config.json: not a Hugging Face transformers model.`);
  const config = parseJsonFile<HfLlamaConfig>(await fetchRepoFile(repo, 'config.json', options), `${repo.repo}/config.json`);
  let shape: LlamaShape;
  try {
    shape = checkConvertible(config, options.dtypes ?? ['q4', 'q4f16']).shape;
  } catch (error) {
    if (error instanceof UnsupportedModelError) throw new HfHubError('unsupported-architecture', `${repo.repo}: ${error.message}`, undefined, error.params);
    throw error;
  }

  let weightPaths: string[];
  const index = byPath.get('model.safetensors.index.json');
  if (index) {
    const { weight_map: weightMap } = parseJsonFile<{ weight_map?: Record<string, string> }>(
      await fetchRepoFile(repo, index.path, options),
      `${repo.repo}/${index.path}`,
    );
    weightPaths = [...new Set(Object.values(weightMap ?? {}))];
    const missing = weightPaths.filter((p) => !byPath.has(p));
    if (weightPaths.length === 0 || missing.length) {
      throw new HfHubError(
        'no-safetensors',
        `${repo.repo}: model.safetensors.index.json lists shards that are not in the repo (${missing.join(', ') || 'none listed'}).`,
      );
    }
  } else if (byPath.has('model.safetensors')) {
    weightPaths = ['model.safetensors'];
  } else {
    const other = repo.files.some((f) => /\.(bin|pt|pth|gguf)$/.test(f.path)) ? ' (it has PyTorch or GGUF weights only)' : '';
    throw new HfHubError('no-safetensors', `${repo.repo} has no safetensors weights${other}; only safetensors checkpoints can be converted.`);
  }
  for (const name of TOKENIZER_FILES) {
    if (!byPath.has(name)) throw new HfHubError('missing-file', `${repo.repo} has no ${name}: the converted model needs the checkpoint's tokenizer.`);
  }
  const weightFiles = weightPaths.map((p) => byPath.get(p)!);
  const smallBytes = SMALL_FILES.reduce((sum, name) => sum + (byPath.get(name)?.size ?? 0), 0);
  const downloadBytes = weightFiles.reduce((sum, f) => sum + f.size, 0) + smallBytes;
  return { ...repo, config, shape, weightFiles, downloadBytes };
}

export interface HfOnnxFile extends HfRepoFile {
  /** The file at the pinned commit. */
  url: string;
}

export interface HfOnnxModel extends HfModelRepo {
  /** config.json's bytes (read to know the external-data files); stored as they are. */
  configBytes: Uint8Array;
  /** What transformers.js reads for the precision: shared files, the graph and its external data. */
  modelFiles: HfOnnxFile[];
}

/**
 * Resolves a transformers.js-ready repo (ONNX graphs under onnx/) for one precision: pins the
 * revision to its commit and lists the files transformers.js will read — the shared files, the
 * graph and the external data config.json announces — with their sizes and hashes (LFS sha256,
 * or the git blob id for small files), so a download can be verified file by file.
 */
export async function resolveHfOnnxModel(
  repoId: string,
  revision: string,
  dtype: ModelDtype,
  options: HfHubOptions & {
    /** config.json's bytes when already kept (e.g. stored) for this listing's size and blob id; saves a request. */
    knownFile?: (file: HfRepoFile) => Promise<Uint8Array | null>;
  } = {},
): Promise<HfOnnxModel> {
  const repo = await fetchModelRepo(repoId, revision, options);
  const byPath = new Map(repo.files.map((f) => [f.path, f]));
  const configFile = byPath.get('config.json');
  if (!configFile) throw new HfHubError('missing-file', `${repo.repo} has no config.json: not a transformers.js model.`);
  const configBytes = (await options.knownFile?.(configFile)) ?? (await fetchRepoFile(repo, 'config.json', options));
  const config = parseJsonFile<unknown>(configBytes, `${repo.repo}/config.json`);
  const wanted = [...REQUIRED_SHARED_FILES, ...graphFiles(config, dtype)];
  const missing = wanted.filter((p) => !byPath.has(p));
  if (missing.length) throw new HfHubError('missing-file', `${repo.repo} has no ${missing.join(', ')} for ${dtype}.`);
  const paths = [...wanted, ...OPTIONAL_SHARED_FILES.filter((p) => byPath.has(p))];
  const modelFiles = paths.map((path) => ({ ...byPath.get(path)!, url: hfFileUrl(repo.host, repo.repo, repo.sha, path) }));
  return { ...repo, configBytes, modelFiles };
}

/**
 * Reads the repo at its pinned commit for convertCheckpoint: files not in the listing are absent
 * without a request; safetensors files are Range-read with their listed size.
 */
export function hfCheckpointReader(repo: HfModelRepo, options: HfHubOptions = {}): CheckpointReader {
  const byPath = new Map(repo.files.map((f) => [f.path, f]));
  return {
    async readFile(name) {
      return byPath.has(name) ? fetchRepoFile(repo, name, options) : null;
    },
    async openFile(name) {
      const file = byPath.get(name);
      if (!file) return null;
      const source = await HttpByteSource.open(hfFileUrl(repo.host, repo.repo, repo.sha, name), { ...httpOptions(options), size: file.size });
      return {
        size: source.size,
        read: async (offset, length) => {
          try {
            return await source.read(offset, length);
          } catch (error) {
            throw hubError(error, `${repo.repo}/${name}`, repo.gated !== false);
          }
        },
      };
    },
  };
}

/** What config.json gains (transformers.js_config) plus the manifest (~150 bytes a file), rounded up. */
const MANIFEST_AND_CONFIG_SLACK = 4096;

export interface ConversionSizeEstimate {
  /** Bytes fetched from the Hub. */
  downloadBytes: number;
  /** Bytes stored for each dtype's graph and external data. */
  perDtype: Partial<Record<ConvertDtype, number>>;
  /** Bytes stored once whatever the dtypes (tokenizer, configs, manifest), rounded up by a few KiB. */
  sharedBytes: number;
  /** sharedBytes plus every requested dtype. */
  storedBytes: number;
}

/** What converting `checkpoint` to `dtypes` downloads and stores, known before anything is fetched. */
export function estimateConversionSize(checkpoint: HfCheckpoint, dtypes: readonly ConvertDtype[] = ['q4', 'q4f16']): ConversionSizeEstimate {
  const { rope } = checkConvertible(checkpoint.config, dtypes);
  const plan = planConversion(checkpoint.shape, rope, dtypes, Number.MAX_SAFE_INTEGER);
  const perDtype: Partial<Record<ConvertDtype, number>> = {};
  for (const dtype of dtypes) {
    // The graph file's size comes from encoding the weightless plan (exact for one external chunk).
    const graphBytes = encodeModel({ graph: plan.graphs.get(dtype)!, opsets: GRAPH_OPSETS }).length;
    perDtype[dtype] = storedExternalDataBytes(checkpoint.shape, dtype) + graphBytes;
  }
  const sizeOf = (name: string) => checkpoint.files.find((f) => f.path === name)?.size ?? 0;
  const copied = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'].reduce(
    (s, n) => s + sizeOf(n),
    0,
  );
  const sharedBytes = copied + MANIFEST_AND_CONFIG_SLACK;
  const storedBytes = sharedBytes + Object.values(perDtype).reduce((a, b) => a + b, 0);
  return { downloadBytes: checkpoint.downloadBytes, perDtype, sharedBytes, storedBytes };
}
