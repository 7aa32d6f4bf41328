/**
 * The model catalog: what the picker offers. `public/models.json` lists the real models; the
 * dev/preview server adds the locally generated test models (`models/local.json`); "Add model"
 * adds the user's own. Entries are validated on read (the files are data, not code).
 */
import type { ModelSizing } from './config.ts';

/** ONNX precisions, named as transformers.js names them (file suffixes in docs/model-format.md). */
export const MODEL_DTYPES = ['q4f16', 'q4', 'q8', 'fp16', 'fp32'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

export type ModelSource =
  /** A folder of converted files (config.json, onnx/…) on any static host with CORS. */
  | { kind: 'url'; baseUrl: string }
  /** A transformers.js-ready repository on the Hugging Face Hub. */
  | { kind: 'hf'; repo: string; revision: string }
  /** Safetensors only (no ONNX published): converted in the browser on first download. */
  | { kind: 'hf-safetensors'; repo: string; revision: string }
  /** Imported from a folder on this device: exists only in the store, nothing to download. */
  | { kind: 'imported'; folder: string };

export interface CatalogEntry {
  id: string;
  label: string;
  /** Human-readable parameter count, e.g. "2.1B". */
  params: string;
  languages: string[];
  /** SPDX id or licence name; `licenseNote` says what it means for users (e.g. non-commercial). */
  license: string;
  licenseNote?: string;
  /** Native context window in tokens (0 when unknown until the config is read). */
  nativeContext: number;
  /**
   * Size in bytes per available precision (null: available, size unknown until resolved): what is
   * downloaded, or for an hf-safetensors source what its conversion stores.
   */
  dtypes: Partial<Record<ModelDtype, number | null>>;
  source: ModelSource;
  /**
   * The model's dimensions (from its config.json), so that whether it fits this device can be told
   * on a first visit, before anything is fetched (src/model/device-fit.ts).
   */
  sizing?: ModelSizing;
  /**
   * Korean benchmark scores as the model's makers publish them (their model card or README),
   * named as theirs: `source` says whose numbers they are. Benchmarks differ between models.
   */
  koreanScores?: KoreanScores;
  /** A tiny generated model for tests and demos: speaks gibberish. */
  test?: boolean;
  /** Added by the user with "Add model". */
  user?: boolean;
  homepage?: string;
}

export interface KoreanScores {
  /** Whose numbers, e.g. "Kakao's README". */
  source: string;
  scores: { benchmark: string; value: string }[];
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function parseKoreanScores(value: unknown): KoreanScores | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (!isString(v.source) || !Array.isArray(v.scores)) return null;
  const scores = v.scores.filter((s): s is { benchmark: string; value: string } => {
    const score = s as Record<string, unknown> | null;
    return typeof score === 'object' && score !== null && isString(score.benchmark) && isString(score.value);
  });
  return scores.length ? { source: v.source, scores: scores.map(({ benchmark, value }) => ({ benchmark, value })) } : null;
}

function parseSource(value: unknown): ModelSource | null {
  if (typeof value !== 'object' || value === null) return null;
  const s = value as Record<string, unknown>;
  if (s.kind === 'url' && isString(s.baseUrl)) return { kind: 'url', baseUrl: s.baseUrl.endsWith('/') ? s.baseUrl : `${s.baseUrl}/` };
  if ((s.kind === 'hf' || s.kind === 'hf-safetensors') && isString(s.repo)) {
    return { kind: s.kind, repo: s.repo, revision: isString(s.revision) ? s.revision : 'main' };
  }
  if (s.kind === 'imported' && isString(s.folder)) return { kind: 'imported', folder: s.folder };
  return null;
}

const SIZING_COUNTS = ['layers', 'hidden', 'intermediate', 'heads', 'kvHeads', 'headDim', 'vocab'] as const;

function parseSizing(value: unknown): ModelSizing | null {
  if (typeof value !== 'object' || value === null) return null;
  const s = value as Record<string, unknown>;
  if (!SIZING_COUNTS.every((key) => Number.isInteger(s[key]) && (s[key] as number) > 0) || typeof s.tied !== 'boolean') return null;
  return { ...(Object.fromEntries(SIZING_COUNTS.map((key) => [key, s[key]])) as Omit<ModelSizing, 'tied'>), tied: s.tied };
}

/** One entry from untrusted JSON, or null when it is malformed. */
export function parseCatalogEntry(value: unknown): CatalogEntry | null {
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Record<string, unknown>;
  const source = parseSource(e.source);
  if (!isString(e.id) || !isString(e.label) || !source) return null;
  const dtypes: CatalogEntry['dtypes'] = {};
  const sizing = parseSizing(e.sizing);
  if (typeof e.dtypes === 'object' && e.dtypes !== null) {
    for (const dtype of MODEL_DTYPES) {
      const size = (e.dtypes as Record<string, unknown>)[dtype];
      if (size === null || (typeof size === 'number' && size >= 0)) dtypes[dtype] = size;
    }
  }
  return {
    id: e.id,
    label: e.label,
    params: isString(e.params) ? e.params : '?',
    languages: Array.isArray(e.languages) ? e.languages.filter(isString) : [],
    license: isString(e.license) ? e.license : 'unknown',
    ...(isString(e.licenseNote) ? { licenseNote: e.licenseNote } : {}),
    nativeContext: typeof e.nativeContext === 'number' && e.nativeContext > 0 ? e.nativeContext : 0,
    dtypes,
    source,
    ...(sizing ? { sizing } : {}),
    ...(parseKoreanScores(e.koreanScores) ? { koreanScores: parseKoreanScores(e.koreanScores)! } : {}),
    ...(e.test === true ? { test: true } : {}),
    ...(isString(e.homepage) ? { homepage: e.homepage } : {}),
  };
}

/** A catalog file: `{ "models": [...] }`; malformed entries are dropped, not fatal. */
export function parseCatalog(json: unknown): CatalogEntry[] {
  const models = typeof json === 'object' && json !== null ? (json as { models?: unknown }).models : undefined;
  if (!Array.isArray(models)) return [];
  return models.map(parseCatalogEntry).filter((e): e is CatalogEntry => e !== null);
}

/** Whether loading this entry first converts its safetensors checkpoint in the browser. */
export function convertsInBrowser(entry: Pick<CatalogEntry, 'source'>): boolean {
  return entry.source.kind === 'hf-safetensors';
}

/**
 * The precision to load: the preferred one for the device if the model has it, else the best
 * available that the device can run (fp16 kinds need shader-f16 on WebGPU; WASM runs fp32 kinds,
 * q4 and q8). q8 first on WASM: its DynamicQuantizeMatMul is onnxruntime's fast int8 CPU kernel,
 * where a 4-bit MatMulNBits dequantizes its whole weight on every call (~20× slower). Never q8 on
 * WebGPU: that EP has no DynamicQuantizeMatMul, so ONNX Runtime would run every projection on
 * the CPU.
 */
export function chooseDtype(entry: Pick<CatalogEntry, 'dtypes'>, device: RunDevice): ModelDtype | null {
  const available = Object.keys(entry.dtypes) as ModelDtype[];
  return runnableDtypes(device).find((d) => available.includes(d)) ?? null;
}

export interface RunDevice {
  kind: 'webgpu' | 'wasm';
  shaderF16: boolean;
}

/** The precisions a device runs, best first (see chooseDtype). */
export function runnableDtypes(device: RunDevice): ModelDtype[] {
  if (device.kind === 'wasm') return ['q8', 'q4', 'fp32'];
  return device.shaderF16 ? ['q4f16', 'q4', 'fp16', 'fp32'] : ['q4', 'fp32'];
}
