/**
 * Imports a model folder chosen by the user (directory picker or `<input webkitdirectory>`) into
 * the store, so it loads like a downloaded model, offline. Every precision the folder holds
 * completely (its graph, the external data config.json announces, the shared files) is stored;
 * files are read in chunks with File.slice, never whole. With our converter's
 * hanmadi-manifest.json every file must match its size and SHA-256; without it, what is stored
 * is what was read (each chunk's digest is recorded either way, for later checks on load).
 */
import { MANIFEST_FILE } from '../converter/convert.ts';
import type { ManifestFile } from '../converter/model-io.ts';
import type { ChunkedFileWriter } from '../db/chunked-file-writer.ts';
import type { ModelStore } from '../db/model-store.ts';
import { MODEL_DTYPES, type ModelDtype } from '../model/catalog.ts';
import { graphFiles, OPTIONAL_SHARED_FILES, REQUIRED_SHARED_FILES } from '../model/model-files.ts';
import { checkQuota } from './downloader.ts';
import { AppError } from '../lib/errors.ts';
import type { DownloadFileProgress, DownloadProgress, ImportResult } from './protocol.ts';

export interface FolderFile {
  /** Path inside the chosen folder, with or without the folder's own name first. */
  path: string;
  file: Blob;
}

/** Paths relative to the model folder: a common first segment (the folder's name) is dropped. */
export function relativePaths(files: readonly FolderFile[]): Map<string, Blob> {
  const split = files.map((f) => ({ parts: f.path.replace(/\\/g, '/').split('/').filter(Boolean), file: f.file }));
  const first = split[0]?.parts[0];
  const common = split.length > 0 && split.every((f) => f.parts.length > 1 && f.parts[0] === first);
  return new Map(split.map((f) => [(common ? f.parts.slice(1) : f.parts).join('/'), f.file]));
}

async function readJson(file: Blob | undefined, name: string): Promise<unknown> {
  if (!file) return undefined;
  try {
    return JSON.parse(await file.text());
  } catch {
    throw new AppError('import-invalid', `${name} in the folder is not valid JSON.`, { file: name });
  }
}

export interface ImportOptions {
  modelKey: string;
  label: string;
  /** The folder's name, shown as the model's source. */
  folder: string;
  estimate?: () => Promise<{ usage?: number; quota?: number } | null>;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export async function importFolder(store: ModelStore, folderFiles: readonly FolderFile[], options: ImportOptions): Promise<ImportResult> {
  const files = relativePaths(folderFiles);
  const config = await readJson(files.get('config.json'), 'config.json');
  if (typeof config !== 'object' || config === null)
    throw new AppError('import-invalid', 'The folder has no config.json: choose the folder that holds config.json and onnx/.', { file: 'config.json' });
  const manifestJson = (await readJson(files.get(MANIFEST_FILE), MANIFEST_FILE)) as { files?: ManifestFile[] } | undefined;
  const manifest = new Map((manifestJson?.files ?? []).filter((f) => typeof f?.path === 'string').map((f) => [f.path, f]));

  const shared = [...REQUIRED_SHARED_FILES, ...OPTIONAL_SHARED_FILES.filter((p) => files.has(p))];
  const dtypes = MODEL_DTYPES.filter((dtype) => [...REQUIRED_SHARED_FILES, ...graphFiles(config, dtype)].every((p) => files.has(p)));
  if (dtypes.length === 0) {
    throw new AppError(
      'import-invalid',
      'No complete ONNX precision in the folder (config.json, tokenizer.json, tokenizer_config.json and onnx/model*.onnx with its external data).',
    );
  }
  const perDtype = new Map(dtypes.map((d) => [d, [...shared, ...graphFiles(config, d)]]));
  const paths = [...new Set([...perDtype.values()].flat())];
  const total = paths.reduce((sum, p) => sum + files.get(p)!.size, 0);

  const available = await checkQuota(options, total);

  for (const path of paths) {
    const expected = manifest.get(path);
    if (expected && expected.size !== files.get(path)!.size) {
      throw new AppError('import-invalid', `${path} has ${files.get(path)!.size} bytes; the folder's manifest says ${expected.size}.`, { file: path });
    }
  }

  const progress: DownloadFileProgress[] = paths.map((path) => ({ path, loaded: 0, total: files.get(path)!.size, state: 'queued' }));
  const emit = (phase: DownloadProgress['phase']) =>
    options.onProgress?.({
      modelKey: options.modelKey,
      dtype: dtypes[0],
      phase,
      files: progress.map((f) => ({ ...f })),
      loaded: progress.reduce((s, f) => s + f.loaded, 0),
      total,
      neededBytes: total,
      availableBytes: available,
    });

  const sizes: Partial<Record<ModelDtype, number>> = {};
  for (const [dtype, list] of perDtype) {
    sizes[dtype] = list.reduce((sum, p) => sum + files.get(p)!.size, 0);
    await store.putModel({
      modelKey: options.modelKey,
      dtype,
      label: options.label,
      source: { kind: 'imported', folder: options.folder },
      files: list,
      totalBytes: sizes[dtype]!,
    });
  }
  let writer: ChunkedFileWriter | null = null;
  try {
    for (const [i, path] of paths.entries()) {
      options.signal?.throwIfAborted();
      const file = files.get(path)!;
      writer = await store.openWriter(options.modelKey, path, {
        size: file.size,
        ...(manifest.get(path) ? { sha256: manifest.get(path)!.sha256.toLowerCase() } : {}),
      });
      progress[i].state = 'downloading';
      emit('downloading');
      while (writer.offset < file.size) {
        options.signal?.throwIfAborted();
        const end = Math.min(file.size, writer.offset + writer.file.chunkSize);
        // The next slice is read while this one's chunk is committed; the slice itself is what is stored (no copy).
        const slice = file.slice(writer.offset, end);
        await writer.append(new Uint8Array(await slice.arrayBuffer()), slice);
        progress[i].loaded = writer.offset;
        emit('downloading');
      }
      try {
        await writer.finish();
      } catch (error) {
        throw new AppError('import-invalid', error instanceof Error ? error.message : String(error), { file: path });
      }
      progress[i].state = 'done';
    }
    for (const dtype of dtypes) await store.markCompleteIfStored(options.modelKey, dtype);
  } catch (error) {
    // A failed import leaves nothing half-made behind (no queued chunk lands after the deletion).
    await writer?.drain().catch(() => undefined);
    for (const dtype of dtypes) await store.deleteModel(options.modelKey, dtype).catch(() => undefined);
    throw error;
  }
  emit('done');
  const context = (config as { max_position_embeddings?: unknown }).max_position_embeddings;
  return {
    modelKey: options.modelKey,
    dtypes,
    sizes,
    nativeContext: typeof context === 'number' && context > 0 ? context : 0,
    verified: paths.every((p) => manifest.has(p)) ? 'sha256' : 'size',
  };
}
