/** The keyboard shortcuts, in a modal dialog (Esc or Close shuts it; focus returns to the opener). */
import { Fragment, useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { SHORTCUT_LIST } from './shortcuts.ts';

const isApple = () => /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

export function ShortcutsDialog({ onClose }: { onClose(): void }) {
  const { t } = useTranslation();
  const dialog = useRef<HTMLDialogElement>(null);
  const mod = isApple() ? '⌘' : 'Ctrl';

  useEffect(() => {
    const element = dialog.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    element?.showModal();
    return () => {
      element?.close();
      opener?.focus();
    };
  }, []);

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="shortcuts-title" onClose={onClose}>
      <h2 id="shortcuts-title">{t('shortcuts.title')}</h2>
      <dl className="shortcut-list">
        {SHORTCUT_LIST.map(({ keys, label }) => (
          <Fragment key={label}>
            <dt>
              {keys.map((combo, i) => (
                <Fragment key={combo.join('+')}>
                  {i > 0 && <span className="shortcut-or"> {t('shortcuts.or')} </span>}
                  {combo.map((k, j) => (
                    <Fragment key={k}>
                      {j > 0 && '+'}
                      <kbd>{k === 'mod' ? mod : k}</kbd>
                    </Fragment>
                  ))}
                </Fragment>
              ))}
            </dt>
            <dd>{t(`shortcuts.${label}`)}</dd>
          </Fragment>
        ))}
      </dl>
      <div className="dialog-actions">
        <button type="button" onClick={onClose} autoFocus>
          {t('shortcuts.close')}
        </button>
      </div>
    </dialog>
  );
}
