/**
 * The service worker's two messages: "ready to work offline" after the first install, and "a new
 * version is available" (prompt mode: it never takes over by itself). Accepting while a reply is
 * streaming or a model is loading defers the switch until that ends; so does a takeover that
 * another tab started.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useRegisterSW } from 'virtual:pwa-register/react';
import { useAppStore } from '../../state/store.ts';
import { appBusy, UPDATE_CHECK_MS } from './update-gate.ts';

export function UpdateNotices() {
  const { t } = useTranslation();
  const busy = useAppStore(appBusy);
  const [accepted, setAccepted] = useState(false);
  const [takenOver, setTakenOver] = useState(false);
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    offlineReady: [offlineReady, setOfflineReady],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW(_url, registration) {
      if (registration) setInterval(() => void registration.update().catch(() => {}), UPDATE_CHECK_MS);
    },
    // The new version controls this page now; its files replace ours in the cache.
    onNeedReload: () => setTakenOver(true),
    onRegisterError: (error: unknown) => console.warn('Service worker registration failed; the app works, but not offline.', error),
  });

  useEffect(() => {
    if (busy) return;
    if (takenOver) location.reload();
    else if (accepted) void updateServiceWorker();
  }, [accepted, busy, takenOver, updateServiceWorker]);

  if (!needRefresh && !offlineReady) return null;
  return (
    <div className="notices">
      {needRefresh ? (
        <div className="notice notice-info" role="status" data-testid="update-notice">
          <p>{accepted ? t('updates.deferred') : t('updates.available')}</p>
          {!accepted && (
            <>
              <button type="button" onClick={() => setAccepted(true)}>
                {t('updates.apply')}
              </button>
              <button type="button" className="ghost" onClick={() => setNeedRefresh(false)}>
                {t('updates.later')}
              </button>
            </>
          )}
        </div>
      ) : (
        <div className="notice notice-info" role="status" data-testid="offline-ready">
          <p>{t('updates.offlineReady')}</p>
          <button type="button" className="ghost" onClick={() => setOfflineReady(false)}>
            {t('updates.dismiss')}
          </button>
        </div>
      )}
    </div>
  );
}
