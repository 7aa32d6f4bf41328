import { useTranslation } from 'react-i18next';
import { setLanguage } from '../i18n/index.ts';
import { isLanguage, LANGUAGES } from '../i18n/language.ts';

/** ko / en switch; the choice is remembered. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="language-switch">
      <span className="visually-hidden">{t('app.language')}</span>
      <select value={i18n.language} onChange={(event) => isLanguage(event.target.value) && setLanguage(event.target.value)}>
        {LANGUAGES.map((language) => (
          <option key={language} value={language}>
            {t(`app.languages.${language}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
