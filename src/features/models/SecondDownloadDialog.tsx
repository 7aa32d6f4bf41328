/**
 * Asked when Load would download the selected model again in another precision (second-download.ts):
 * what is stored, what this device runs instead and what that costs (for a model converted in the
 * browser: the original weights fetched again, and the conversion), with the stored copy offered
 * where this device runs it, and the "Run on" choice that runs it otherwise.
 */
import { useTranslation } from 'react-i18next';
import { useModal } from './use-modal.ts';
import { formatBytes } from '../../i18n/format.ts';
import type { ModelDtype } from '../../model/catalog.ts';
import type { SecondDownload } from './second-download.ts';

type T = ReturnType<typeof useTranslation>['t'];

/** What the new precision costs: a download, or for a conversion the original weights again and what it stores. */
function secondDownloadBody(
  t: T,
  values: { model: string; stored: string; device: string; dtype: string },
  converts: boolean,
  downloadBytes: number | null,
  storedBytes: number | null,
): string {
  if (!converts)
    return downloadBytes !== null
      ? t('models.secondDownload.body', { ...values, download: formatBytes(downloadBytes) })
      : t('models.secondDownload.bodyNoSize', values);
  return downloadBytes !== null && storedBytes !== null
    ? t('models.secondDownload.bodyConvert', { ...values, download: formatBytes(downloadBytes), result: formatBytes(storedBytes) })
    : t('models.secondDownload.bodyConvertNoSize', values);
}

interface Props {
  model: string;
  plan: SecondDownload;
  /** Whether the new precision is converted in the browser from the original weights. */
  converts: boolean;
  /** Bytes the new precision downloads (for a conversion, the original weights), when known. */
  downloadBytes: number | null;
  /** Bytes the new precision stores, when known. */
  storedBytes: number | null;
  onDownload(): void;
  onUseStored(dtype: ModelDtype): void;
  onClose(): void;
}

export function SecondDownloadDialog({ model, plan, converts, downloadBytes, storedBytes, onDownload, onUseStored, onClose }: Props) {
  const { t } = useTranslation();
  const dialog = useModal();
  const values = {
    model,
    stored: plan.storedDtypes.join(', '),
    device: t(plan.device === 'wasm' ? 'models.secondDownload.onWasm' : 'models.secondDownload.onWebgpu'),
    dtype: plan.dtype,
  };
  const { usableDtype, otherDevice } = plan;
  /** A choice closes the question first, then acts. */
  const choose = (action: () => void) => () => {
    onClose();
    action();
  };
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="second-download-title" aria-describedby="second-download-body" onClose={onClose}>
      <h2 id="second-download-title">{t('models.secondDownload.title')}</h2>
      <div id="second-download-body">
        <p>{secondDownloadBody(t, values, converts, downloadBytes, storedBytes)}</p>
        {!usableDtype && otherDevice && (
          <p className="hint">{t('models.secondDownload.switchBack', { device: t(otherDevice === 'wasm' ? 'models.deviceWasm' : 'models.deviceWebgpu') })}</p>
        )}
      </div>
      <div className="dialog-actions">
        <button type="button" className="ghost" onClick={onClose} autoFocus>
          {t('models.cancel')}
        </button>
        {usableDtype && (
          <button type="button" className="ghost" onClick={choose(() => onUseStored(usableDtype))}>
            {t('models.secondDownload.useStored', { dtype: usableDtype })}
          </button>
        )}
        <button type="button" onClick={choose(onDownload)}>
          {t(converts ? 'models.secondDownload.convert' : 'models.secondDownload.download', { dtype: plan.dtype })}
        </button>
      </div>
    </dialog>
  );
}
