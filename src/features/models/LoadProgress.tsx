/**
 * Progress while a model is made ready: the download into the store (total and per file, with
 * speed and time left, the space it needs, Pause / Resume / Cancel) — or, for a safetensors
 * checkpoint converted in the browser, the bytes fetched (speed, time left), the tensors
 * converted and what it downloads vs stores — then the load.
 */
import './models.css';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { cancelDownload, pauseDownload, resumeDownload } from './model-actions.ts';
import type { DownloadState } from '../../state/models-slice.ts';
import { bytesPerSecond, etaSeconds, type FileProgress } from '../../lib/progress.ts';
import { formatBytes } from '../../i18n/format.ts';

type Phase = 'adapter' | 'files' | 'session' | 'warm-up' | 'download' | 'planning' | 'convert';

function ProgressRow({ label, file, note }: { label: string; file: FileProgress; note?: string }) {
  const { t } = useTranslation();
  const speed = bytesPerSecond(file);
  const eta = etaSeconds(file);
  const done = file.status === 'done';
  return (
    <li>
      <span className="file-name">{label}</span>
      <progress max={file.total || 1} value={done ? file.total || 1 : file.loaded} aria-label={label} />
      <span className="file-numbers">
        {t('models.progressFile', { loaded: formatBytes(file.loaded), total: file.total ? formatBytes(file.total) : '?' })}
        {speed !== null && speed > 0 && !done && ` · ${t('models.speed', { speed: formatBytes(speed) })}`}
        {eta !== null && eta > 0 && ` · ${t('models.eta', { seconds: Math.ceil(eta) })}`}
        {note && ` · ${note}`}
      </span>
    </li>
  );
}

function DownloadSection({ download, paused }: { download: DownloadState; paused: boolean }) {
  const { t } = useTranslation();
  const { progress } = download;
  const { conversion } = progress;
  const available = progress.availableBytes === null ? '?' : formatBytes(progress.availableBytes);
  return (
    <div className="download" data-testid="download">
      {conversion ? (
        <>
          <p className={paused ? 'load-phase' : 'hint'} data-testid="download-needs">
            {paused
              ? t('models.conversionPaused', { done: conversion.tensorsDone, total: conversion.tensorsTotal })
              : t('models.conversionNeeds', { download: formatBytes(progress.total), stored: formatBytes(conversion.storedBytes), available })}
          </p>
          <ul aria-label={t('models.downloadTitle')}>
            <ProgressRow label={t('models.conversionFetched')} file={download.total} />
            <li data-testid="tensors-converted">
              <span className="file-name">{t('models.tensorsConverted', { done: conversion.tensorsDone, total: conversion.tensorsTotal })}</span>
              <progress
                max={conversion.tensorsTotal || 1}
                value={conversion.tensorsDone}
                aria-label={t('models.tensorsConverted', { done: conversion.tensorsDone, total: conversion.tensorsTotal })}
              />
            </li>
          </ul>
        </>
      ) : paused ? (
        <p className="load-phase">{t('models.paused', { loaded: formatBytes(progress.loaded), total: formatBytes(progress.total) })}</p>
      ) : (
        progress.phase !== 'planning' && (
          <p className="hint" data-testid="download-needs">
            {t('models.downloadNeeds', { needed: formatBytes(progress.neededBytes), available })}
          </p>
        )
      )}
      {!conversion && (
        <ul aria-label={t('models.downloadTitle')}>
          {progress.total > 0 && <ProgressRow label={t('models.downloadTotal')} file={download.total} />}
          {progress.files.map((f) => (
            <ProgressRow
              key={f.path}
              label={f.path}
              file={download.files[f.path] ?? { ...f, file: f.path, status: f.state, samples: [] }}
              note={f.state === 'waiting' ? t('models.waitingOtherTab') : undefined}
            />
          ))}
        </ul>
      )}
      <div className="download-actions">
        {paused ? (
          <button type="button" onClick={() => void resumeDownload()}>
            {t('models.resume')}
          </button>
        ) : (
          <button type="button" className="ghost" onClick={() => void pauseDownload()} disabled={!download.requestId}>
            {t('models.pause')}
          </button>
        )}
        <button type="button" className="ghost" onClick={() => void cancelDownload()}>
          {t('models.cancelDownload')}
        </button>
      </div>
    </div>
  );
}

export function LoadProgress() {
  const { t } = useTranslation();
  const status = useAppStore((s) => s.loadStatus);
  const phase = useAppStore((s) => s.loadPhase) as Phase | null;
  const files = useAppStore((s) => s.files);
  const download = useAppStore((s) => s.download);
  if (status !== 'loading' && status !== 'paused') return null;
  const downloading = download !== null && (status === 'paused' || phase === 'download' || phase === 'planning' || phase === 'convert');
  const entries = Object.values(files).filter((f) => f.total > 0 || f.status !== 'done');
  return (
    <section className="load-progress" aria-label={t('models.progressTitle')}>
      {phase && status === 'loading' && <p className="load-phase">{t(`models.phase.${phase}`)}</p>}
      {downloading ? (
        <DownloadSection download={download} paused={status === 'paused'} />
      ) : (
        <ul>
          {entries.map((file) => (
            <ProgressRow key={file.file} label={file.file} file={file} />
          ))}
        </ul>
      )}
    </section>
  );
}
