import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { readTheme, setTheme, THEMES, type Theme } from './theme.ts';

/** System / light / dark; the choice is remembered. */
export function ThemeSwitch() {
  const { t } = useTranslation();
  const [theme, setThemeState] = useState<Theme>(readTheme);
  return (
    <label className="theme-switch">
      <span className="visually-hidden">{t('app.theme')}</span>
      <select
        value={theme}
        onChange={(event) => {
          const next = event.target.value as Theme;
          setTheme(next);
          setThemeState(next);
        }}
      >
        {THEMES.map((value) => (
          <option key={value} value={value}>
            {t(`app.themes.${value}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
