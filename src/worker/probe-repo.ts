/**
 * What a Hugging Face repo offers, for Add model, checked in the store worker (the converter's
 * Hub client and its planning stay off the page's thread): the repo is listed once (the revision
 * API with file sizes); ONNX graphs there make it an `hf` model that loads directly, otherwise a
 * safetensors checkpoint the converter supports makes it `hf-safetensors`, converted in the
 * browser on first load, with its stored size estimated before any weight is fetched. Failures
 * are the Hub client's errors, whose codes the page translates.
 */
import { checkpointOfRepo, estimateConversionSize, fetchModelRepo, fetchRepoFile, type HfHubOptions } from '../converter/hf-hub.ts';
import { checkConfigBounds } from '../model/input-bounds.ts';
import { dtypesFromFiles } from '../model/model-files.ts';
import type { RepoProbe } from './protocol.ts';

/**
 * The precisions an in-browser conversion offers: 4-bit for the GPU, and q8 (int8
 * DynamicQuantizeMatMul) for the CPU path, where onnxruntime-web's 4-bit matmul has no
 * WebAssembly kernel (`npm run bench:matmul`: 12× slower than int8 per decode step).
 */
export const CONVERTED_DTYPES = ['q4f16', 'q4', 'q8'] as const;

function contextOf(config: unknown): number {
  const value = (config as { max_position_embeddings?: unknown })?.max_position_embeddings;
  return typeof value === 'number' && value > 0 ? value : 0;
}

export async function probeRepo(repoId: string, revision: string | undefined, options: HfHubOptions): Promise<RepoProbe> {
  const repo = await fetchModelRepo(repoId, revision, options);
  const dtypes = dtypesFromFiles(repo.files);
  if (Object.keys(dtypes).length > 0) {
    const config = JSON.parse(new TextDecoder().decode(await fetchRepoFile(repo, 'config.json', options))) as unknown;
    checkConfigBounds(config);
    return { kind: 'hf', dtypes, nativeContext: contextOf(config) };
  }
  const checkpoint = await checkpointOfRepo(repo, { ...options, dtypes: CONVERTED_DTYPES });
  const estimate = estimateConversionSize(checkpoint, CONVERTED_DTYPES);
  const converted = Object.fromEntries(CONVERTED_DTYPES.map((d) => [d, estimate.perDtype[d]! + estimate.sharedBytes]));
  return { kind: 'hf-safetensors', dtypes: converted, nativeContext: contextOf(checkpoint.config) };
}
