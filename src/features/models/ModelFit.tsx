/**
 * Whether the selected model fits this device, said before its first download: the verdict, the
 * memory it needs at the precision and context length it would load with, and every reason
 * (src/model/device-fit.ts); and the confirmation Load asks for when the model won't run here.
 */
import { useTranslation } from 'react-i18next';
import { useModal } from './use-modal.ts';
import type { FitAssessment, FitReason } from '../../model/device-fit.ts';
import { formatBytes, formatNumber } from '../../i18n/format.ts';

type T = ReturnType<typeof useTranslation>['t'];

function reasonText(reason: FitReason, t: T, dtype: string | null): string {
  switch (reason.code) {
    case 'buffer-too-large': {
      const buffer =
        reason.buffer === 'embedding' || reason.buffer === 'lm-head' ? t(`models.fit.buffers.${reason.buffer}`) : t(`models.contextBuffers.${reason.buffer}`);
      return t('models.fit.reasons.buffer-too-large', { buffer, bytes: formatBytes(reason.bytes), limitBytes: formatBytes(reason.limitBytes) });
    }
    case 'memory-short':
    case 'memory-tight': {
      const key = reason.code === 'memory-tight' && reason.atLeast ? 'memory-tight-atLeast' : reason.code;
      return t(`models.fit.reasons.${key}`, { needed: formatBytes(reason.neededBytes), memory: formatBytes(reason.deviceMemoryBytes) });
    }
    case 'wasm-memory':
      return t('models.fit.reasons.wasm-memory', { needed: formatBytes(reason.neededBytes), limit: formatBytes(reason.limitBytes) });
    case 'needs-shader-f16':
      return t('models.fit.reasons.needs-shader-f16', { dtype: dtype ?? '' });
    case 'storage-short':
    case 'storage-tight':
      return t(`models.fit.reasons.${reason.code}`, { needed: formatBytes(reason.neededBytes), available: formatBytes(reason.availableBytes) });
    default:
      return t(`models.fit.reasons.${reason.code}`);
  }
}

/** The picker option's mark: "fits", "tight" or "won't run here" (nothing when unknown). */
export function fitMark(fit: FitAssessment | undefined, t: T): string {
  return fit && fit.verdict !== 'unknown' ? t(`models.fit.mark.${fit.verdict}`) : '';
}

function summary(fit: FitAssessment, t: T, language: string): string {
  const verdict = t(`models.fit.verdict.${fit.verdict}`);
  if (fit.memoryBytes === null || !fit.dtype) return t('models.fit.summaryUnknown', { verdict });
  return t('models.fit.summary', { verdict, dtype: fit.dtype, tokens: formatNumber(fit.contextTokens, language), memory: formatBytes(fit.memoryBytes) });
}

export function FitNote({ fit }: { fit: FitAssessment | undefined }) {
  const { t, i18n } = useTranslation();
  if (!fit) return null;
  return (
    <p className={`model-note fit-${fit.verdict}`} data-testid="model-fit" data-verdict={fit.verdict}>
      {[summary(fit, t, i18n.language), ...fit.reasons.map((r) => reasonText(r, t, fit.dtype))].join(' ')}
    </p>
  );
}

/** Asked when Load is pressed on a model that won't run here. */
export function LoadConfirmDialog({ fit, onLoad, onClose }: { fit: FitAssessment; onLoad(): void; onClose(): void }) {
  const { t } = useTranslation();
  const dialog = useModal();
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="fit-confirm-title" aria-describedby="fit-confirm-reasons" onClose={onClose}>
      <h2 id="fit-confirm-title">{t('models.fit.confirmTitle')}</h2>
      <ul id="fit-confirm-reasons">
        {fit.reasons
          .filter((r) => r.severity === 'no-fit')
          .map((r) => (
            <li key={r.code}>{reasonText(r, t, fit.dtype)}</li>
          ))}
      </ul>
      <p className="hint">{t('models.fit.confirmHelp')}</p>
      <div className="dialog-actions">
        <button type="button" className="ghost" onClick={onClose} autoFocus>
          {t('models.cancel')}
        </button>
        <button
          type="button"
          onClick={() => {
            onClose();
            onLoad();
          }}
        >
          {t('models.fit.confirmLoad')}
        </button>
      </div>
    </dialog>
  );
}
