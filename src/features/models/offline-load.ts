/**
 * Whether Load can work without the network: only from precisions stored completely. Offline,
 * 'auto' needs some complete precision of the model (where Auto would pick another one, Load asks
 * first and offers the stored one: second-download.ts); a precision chosen by hand must itself be
 * complete. What is missing is said in bytes, from the best partial
 * precision, so the picker can tell the user how much a connection would have to fetch.
 */
import type { StoredModelSummary } from '../../db/model-store.ts';
import type { ModelDtype } from '../../model/catalog.ts';

export type OfflineLoad = { loadable: true } | { loadable: false; missingBytes: number | null };

export function offlineLoad(stored: readonly StoredModelSummary[], modelId: string, dtype: ModelDtype | 'auto'): OfflineLoad {
  const usable = stored.filter((m) => m.modelKey === modelId && (dtype === 'auto' || m.dtype === dtype));
  if (usable.some((m) => m.status === 'complete')) return { loadable: true };
  return { loadable: false, missingBytes: missingBytes(usable) };
}

/** The bytes a partly stored model still lacks (its most complete precision), or null when none is partial. */
export function missingBytes(models: readonly StoredModelSummary[]): number | null {
  const partial = models.filter((m) => m.status !== 'complete');
  return partial.length ? Math.min(...partial.map((m) => Math.max(0, m.totalBytes - m.storedBytes))) : null;
}
