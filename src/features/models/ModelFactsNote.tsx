/**
 * The picker's facts for the selected model and precision, before anything is fetched: what it
 * downloads and stores, the memory it needs (weights + the KV cache of the chosen context), and
 * its makers' own Korean benchmark numbers, named as theirs. No verdict on this device.
 */
import { useTranslation } from 'react-i18next';
import type { CatalogEntry, ModelDtype } from '../../model/catalog.ts';
import { formatBytes, formatNumber } from '../../i18n/format.ts';
import type { ModelFacts } from './model-facts.ts';

interface Props {
  entry: CatalogEntry;
  facts: ModelFacts | null;
  /** The precision that will load (the choice, or what Auto resolved to); null while unknown. */
  dtype: ModelDtype | null;
  /** The KV cache of the chosen context length, when known. */
  kv: { tokens: number; bytes: number } | null;
}

export function ModelFactsNote({ entry, facts, dtype, kv }: Props) {
  const { t, i18n } = useTranslation();
  const precision = dtype ? facts?.precisions[dtype] : undefined;
  const scores = entry.koreanScores;
  if (!precision && !scores) return null;
  return (
    <div className="model-facts" data-testid="model-facts">
      {precision && dtype && (
        <p className="model-note">
          {facts?.converts
            ? t('models.factsConvert', { download: formatBytes(precision.downloadBytes), stored: formatBytes(precision.storedBytes), dtype })
            : t('models.factsDownload', { download: formatBytes(precision.downloadBytes), dtype })}{' '}
          {kv
            ? t('models.factsMemory', {
                total: formatBytes(precision.storedBytes + kv.bytes),
                weights: formatBytes(precision.storedBytes),
                kv: formatBytes(kv.bytes),
                tokens: formatNumber(kv.tokens, i18n.language),
              })
            : t('models.factsMemoryWeights', { weights: formatBytes(precision.storedBytes) })}
        </p>
      )}
      {scores && (
        <p className="model-note">
          {t('models.factsKorean', { source: scores.source, scores: scores.scores.map((s) => `${s.benchmark} ${s.value}`).join(', ') })}
        </p>
      )}
    </div>
  );
}
