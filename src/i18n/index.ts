/**
 * i18next setup. English is the base locale: its JSON types every key (see i18next.d.ts), and
 * ko.json must have exactly the same keys (checked by i18n.test.ts).
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.json';
import ko from './ko.json';
import { detectLanguage, LANGUAGE_STORAGE_KEY, type Language } from './language.ts';

export const resources = { en: { translation: en }, ko: { translation: ko } } as const;

function readStoredLanguage(): string | null {
  try {
    return localStorage.getItem(LANGUAGE_STORAGE_KEY);
  } catch {
    return null; // storage can be blocked (private mode, sandboxed iframes)
  }
}

export function initI18n(): typeof i18next {
  const language = detectLanguage({
    search: location.search,
    stored: readStoredLanguage(),
    navigatorLanguages: navigator.languages?.length ? navigator.languages : [navigator.language],
  });
  void i18next.use(initReactI18next).init({
    resources,
    lng: language,
    fallbackLng: 'en',
    interpolation: { escapeValue: false }, // React escapes text nodes itself
    returnNull: false,
  });
  document.documentElement.lang = language;
  return i18next;
}

/** Switches the UI language and remembers the choice. */
export function setLanguage(language: Language): void {
  void i18next.changeLanguage(language);
  document.documentElement.lang = language;
  try {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, language);
  } catch {
    // not persisted; the switch still applies to this page
  }
}
