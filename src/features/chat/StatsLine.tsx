/** The status line: live token count while streaming, then the last reply's speed statistics. */
import './chat.css';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';

const round = (value: number) => (value >= 100 ? Math.round(value) : Math.round(value * 10) / 10);

export function StatsLine() {
  const { t, i18n } = useTranslation();
  const generation = useAppStore((s) => s.generation);
  const stats = useAppStore((s) => s.lastStats);
  const number = (value: number) => new Intl.NumberFormat(i18n.language).format(round(value));
  return (
    <p
      className="stats-line"
      role="status"
      aria-label={t('chat.statsLabel')}
      data-testid="stats"
      // Machine-readable copies for tests and the benchmark page.
      data-prefill-tokens={stats?.prefillTokens}
      data-reused-tokens={stats?.reusedTokens}
      data-decode-tokens={stats?.decodeTokens}
      data-ttft-ms={stats?.timeToFirstTokenMs}
    >
      {generation
        ? t('chat.generatingTokens', { count: generation.generatedTokens })
        : stats
          ? t('chat.stats', {
              ttft: number(stats.timeToFirstTokenMs),
              prefill: stats.prefillTokens,
              prefillRate: number(stats.prefillTokensPerSecond),
              decode: stats.decodeTokens,
              decodeRate: number(stats.decodeTokensPerSecond),
              reused: stats.reusedTokens,
            })
          : ''}
    </p>
  );
}
