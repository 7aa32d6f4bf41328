/**
 * Status banners above the conversation: the WASM fallback notice, a lost GPU (with Reload), and
 * load or generation errors, each translated from its typed error code.
 */
import { useTranslation } from 'react-i18next';
import { formatErrorParams, unsupportedFeatureKey } from '../i18n/format.ts';
import type { ErrorValue } from '../lib/errors.ts';
import { useAppStore } from '../state/store.ts';

function ErrorNotice({ error, onDismiss }: { error: ErrorValue; onDismiss(): void }) {
  const { t } = useTranslation();
  const feature = unsupportedFeatureKey(error.params);
  return (
    <div className="notice notice-error" role="alert">
      <p>
        <strong>{t(`errors.${error.code}`, formatErrorParams(error.params))}</strong>
        {feature && ` ${t(feature, formatErrorParams(error.params))}`}
        {error.code === 'quota-exceeded' && typeof error.params?.keptBytes === 'number' && ` ${t('errors.quotaKept', formatErrorParams(error.params))}`}
      </p>
      {error.detail && (
        <details>
          <summary>{t('errors.details')}</summary>
          <code>{error.detail}</code>
        </details>
      )}
      <button type="button" className="ghost" onClick={onDismiss}>
        {t('errors.dismiss')}
      </button>
    </div>
  );
}

export function Notices() {
  const { t } = useTranslation();
  const loaded = useAppStore((s) => s.loaded);
  const deviceLost = useAppStore((s) => s.deviceLost);
  const loadError = useAppStore((s) => s.loadError);
  const chatError = useAppStore((s) => s.chatError);

  return (
    <div className="notices">
      {loaded?.device === 'wasm' && (
        <div className="notice notice-warning" role="status" data-testid="wasm-notice">
          <p>
            {loaded.fallbackReason === 'chosen'
              ? t('models.wasmChosen')
              : loaded.fallbackReason === 'software-adapter'
                ? t('models.wasmSoftware', { adapter: loaded.softwareAdapter || 'WebGPU' })
                : t('models.wasmFallback')}
          </p>
        </div>
      )}
      {deviceLost !== null && (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>{t('errors.device-lost')}</strong>
          </p>
          <button type="button" onClick={() => location.reload()}>
            {t('app.reload')}
          </button>
        </div>
      )}
      {loadError && deviceLost === null && <ErrorNotice error={loadError} onDismiss={() => useAppStore.setState({ loadError: null, loadStatus: 'idle' })} />}
      {chatError && deviceLost === null && <ErrorNotice error={chatError} onDismiss={() => useAppStore.setState({ chatError: null })} />}
    </div>
  );
}
