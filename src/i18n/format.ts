/**
 * Dates, numbers and byte sizes as shown to people, shared by every feature and the app shell.
 * Dates and numbers follow the UI language (Intl), so Korean readers see `2024. 3. 5.` and `오후 3:04`
 * and English readers `Mar 5, 2024` and `3:04 PM`. Formatters are cached per language.
 */
import en from './en.json' with { type: 'json' };

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();

function formatter<T extends Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => T): T {
  let f = cache.get(key);
  if (!f) cache.set(key, (f = make()));
  return f as T;
}

const dayKey = (d: Date) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;

/** A time today, otherwise a date: for lists where the recent past matters most. */
export function formatShortDate(timestamp: number, language: string, now = Date.now()): string {
  const date = new Date(timestamp);
  if (dayKey(date) === dayKey(new Date(now))) {
    return formatter(`time:${language}`, () => new Intl.DateTimeFormat(language, { timeStyle: 'short' })).format(date);
  }
  return formatter(`date:${language}`, () => new Intl.DateTimeFormat(language, { dateStyle: 'medium' })).format(date);
}

export function formatDateTime(timestamp: number, language: string): string {
  return formatter(`datetime:${language}`, () => new Intl.DateTimeFormat(language, { dateStyle: 'long', timeStyle: 'short' })).format(new Date(timestamp));
}

export function formatNumber(value: number, language: string, options: Intl.NumberFormatOptions = {}): string {
  return formatter(`number:${language}:${JSON.stringify(options)}`, () => new Intl.NumberFormat(language, options)).format(value);
}

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
  for (const key of ['needed', 'available', 'bytes', 'limitBytes', 'keptBytes', 'totalBytes'])
    if (typeof out[key] === 'number') out[key] = formatBytes(out[key] as number);
  return out;
}

type UnsupportedFeatureKey = keyof typeof en.errors.unsupported;

/**
 * The key of the sentence that says what exactly is unsupported (`errors.unsupported.<feature>`),
 * shown after an unsupported-architecture message; null when the error does not say.
 */
export function unsupportedFeatureKey(params: Record<string, number | string> | undefined): `errors.unsupported.${UnsupportedFeatureKey}` | null {
  const feature = params?.unsupported;
  return typeof feature === 'string' && Object.hasOwn(en.errors.unsupported, feature) ? `errors.unsupported.${feature as UnsupportedFeatureKey}` : null;
}
