/** Which UI language to use: `?lang=` beats the stored choice, which beats the browser's language. */
export const LANGUAGES = ['ko', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export const LANGUAGE_STORAGE_KEY = 'hanmadi.language';

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

export function detectLanguage(input: { search: string; stored: string | null; navigatorLanguages: readonly string[] }): Language {
  const fromQuery = new URLSearchParams(input.search).get('lang');
  if (isLanguage(fromQuery)) return fromQuery;
  if (isLanguage(input.stored)) return input.stored;
  for (const tag of input.navigatorLanguages) {
    const primary = tag.toLowerCase().split('-')[0];
    if (isLanguage(primary)) return primary;
  }
  return 'en';
}
