/**
 * The browser's storage manager for this origin (navigator.storage): how much is used and
 * allowed, and whether stored data is persistent (not cleared by the browser under pressure).
 * persist() exists on pages only (not in workers), so the page asks, after the first model is
 * stored and when a message is first saved in a page — Chromium decides from site engagement,
 * other browsers may prompt.
 */
export interface StorageEstimateBytes {
  usage: number;
  quota: number;
}

/**
 * Chromium (kStaticStorageQuota, on by default since ~M120) reports every origin's quota as its
 * usage + 10 GiB, whatever the real limit, so that quota cannot fingerprint a device: that
 * figure says nothing about the space really left, and the real limit only shows when a write
 * fails (QuotaExceededError). Other browsers report their real quota.
 */
const CHROMIUM_STATIC_QUOTA_HEADROOM = 10 * 1024 ** 3;

/** Bytes the origin may still store, or null when the browser does not really say. */
export function availableBytes(estimate: { usage?: number; quota?: number } | null | undefined): number | null {
  if (!estimate || typeof estimate.usage !== 'number' || typeof estimate.quota !== 'number') return null;
  const headroom = estimate.quota - estimate.usage;
  return headroom === CHROMIUM_STATIC_QUOTA_HEADROOM ? null : Math.max(0, headroom);
}

function manager(): StorageManager | null {
  return (globalThis.navigator as Navigator | undefined)?.storage ?? null;
}

export async function storageEstimate(): Promise<StorageEstimateBytes | null> {
  const estimate = await manager()
    ?.estimate?.()
    .catch(() => null);
  return estimate && typeof estimate.usage === 'number' && typeof estimate.quota === 'number' ? { usage: estimate.usage, quota: estimate.quota } : null;
}

export async function isPersisted(): Promise<boolean | null> {
  return (
    (await manager()
      ?.persisted?.()
      .catch(() => null)) ?? null
  );
}

/** Asks for persistent storage unless it is granted already; null when the browser has no such API. */
export async function requestPersistence(): Promise<boolean | null> {
  const storage = manager();
  if (!storage?.persist) return null;
  if (await isPersisted()) return true;
  return storage.persist().catch(() => false);
}
