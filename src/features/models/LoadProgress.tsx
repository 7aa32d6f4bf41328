/** Per-file progress bars while a model loads: bytes, speed and time left. */
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { bytesPerSecond, etaSeconds, formatBytes } from './progress.ts';

export function LoadProgress() {
  const { t } = useTranslation();
  const status = useAppStore((s) => s.loadStatus);
  const phase = useAppStore((s) => s.loadPhase);
  const files = useAppStore((s) => s.files);
  if (status !== 'loading') return null;
  const entries = Object.values(files).filter((f) => f.total > 0 || f.status !== 'done');
  return (
    <section className="load-progress" aria-label={t('models.progressTitle')}>
      {phase && <p className="load-phase">{t(`models.phase.${phase as 'adapter' | 'files' | 'session' | 'warm-up'}`)}</p>}
      <ul>
        {entries.map((file) => {
          const speed = bytesPerSecond(file);
          const eta = etaSeconds(file);
          return (
            <li key={file.file}>
              <span className="file-name">{file.file}</span>
              <progress max={file.total || 1} value={file.status === 'done' ? file.total || 1 : file.loaded} aria-label={file.file} />
              <span className="file-numbers">
                {t('models.progressFile', { loaded: formatBytes(file.loaded), total: file.total ? formatBytes(file.total) : '?' })}
                {speed !== null && file.status !== 'done' && ` · ${t('models.speed', { speed: formatBytes(speed) })}`}
                {eta !== null && eta > 0 && ` · ${t('models.eta', { seconds: Math.ceil(eta) })}`}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
