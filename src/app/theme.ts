/**
 * Light, dark or the system's choice. tokens.css honours `html[data-theme]`; without it the
 * `prefers-color-scheme` media query decides. The choice is remembered (a preference, like the
 * language) and applied before the first render so the page never flashes the other theme.
 */
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

const THEME_KEY = 'hanmadi.theme';

const isTheme = (value: unknown): value is Theme => THEMES.includes(value as Theme);

export function readTheme(): Theme {
  try {
    const stored = localStorage.getItem(THEME_KEY);
    return isTheme(stored) ? stored : 'system';
  } catch {
    return 'system';
  }
}

export function applyTheme(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function setTheme(theme: Theme): void {
  applyTheme(theme);
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch {
    // not remembered; still applied to this page
  }
}
