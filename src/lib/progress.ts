/**
 * Download progress per file: bytes, speed over a sliding window of recent samples, and ETA.
 * Pure, so it is unit-tested without a worker.
 */
export interface ProgressSample {
  atMs: number;
  loaded: number;
}

export interface FileProgress {
  file: string;
  loaded: number;
  total: number;
  status: string;
  samples: ProgressSample[];
}

/** Samples older than this are dropped: the speed follows the current rate, not the average since start. */
export const SPEED_WINDOW_MS = 3000;

export function recordProgress(
  previous: FileProgress | undefined,
  update: { file: string; loaded: number; total: number; status: string },
  atMs: number,
): FileProgress {
  const kept = (previous?.samples ?? []).filter((s) => atMs - s.atMs <= SPEED_WINDOW_MS && s.loaded <= update.loaded);
  return {
    file: update.file,
    loaded: update.loaded,
    total: Math.max(update.total, update.loaded),
    status: update.status,
    samples: [...kept, { atMs, loaded: update.loaded }],
  };
}

/** Bytes per second over the window, or null when there is not yet enough to say. */
export function bytesPerSecond(progress: Pick<FileProgress, 'samples'>): number | null {
  const { samples } = progress;
  if (samples.length < 2) return null;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const elapsedMs = last.atMs - first.atMs;
  if (elapsedMs <= 0) return null;
  return ((last.loaded - first.loaded) * 1000) / elapsedMs;
}

/** Seconds left at the current speed; null when unknown (no speed yet, or stalled). */
export function etaSeconds(progress: FileProgress): number | null {
  if (progress.loaded >= progress.total) return 0;
  const speed = bytesPerSecond(progress);
  if (!speed || speed <= 0) return null;
  return (progress.total - progress.loaded) / speed;
}
