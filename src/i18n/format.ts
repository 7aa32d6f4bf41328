/** Numbers shown to people, shared by every feature and the app shell. */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** 1536 → "1.5 KB" (decimal-free below 10 units is too coarse for small fixtures, so one decimal). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`;
}

/** Error params as shown: byte counts (`needed`, `available`, `bytes`) formatted, the rest as they are. */
export function formatErrorParams(params: Record<string, number | string> | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = { ...params };
  for (const key of ['needed', 'available', 'bytes']) if (typeof out[key] === 'number') out[key] = formatBytes(out[key] as number);
  return out;
}
