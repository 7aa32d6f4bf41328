/**
 * The storage manager: every stored model with its precision, size, completeness and last use
 * (read live from Dexie: a download finished in another tab appears here), what the browser
 * reports about space and persistence, deleting one model or all, and importing a model folder.
 */
import './storage.css';
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useRef, useState, type ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { modelStore, type StoredModelSummary } from '../../db/model-store.ts';
import { availableBytes } from '../../db/storage-manager.ts';
import { formatBytes, formatErrorParams } from '../../i18n/format.ts';
import { filesFromInput, hasDirectoryPicker, pickDirectory } from './folder-files.ts';
import { deleteAllStoredModels, deleteStoredModel, importModelFolder, refreshStorageInfo } from './storage-actions.ts';

/** React has no typed prop for it; the attribute makes the file input pick a folder. */
const FOLDER_INPUT = { webkitdirectory: '', directory: '' } as Record<string, string>;

function StoredRow({ model }: { model: StoredModelSummary }) {
  const { t, i18n } = useTranslation();
  const percent = model.totalBytes > 0 ? Math.floor((model.storedBytes / model.totalBytes) * 100) : 0;
  return (
    <tr data-testid="stored-model" data-model-key={model.modelKey} data-dtype={model.dtype} data-status={model.status}>
      <th scope="row">{model.label}</th>
      <td>{model.dtype}</td>
      <td>{formatBytes(model.totalBytes)}</td>
      <td>{model.status === 'complete' ? t('storage.complete') : t('storage.partial', { percent, loaded: formatBytes(model.storedBytes) })}</td>
      <td>{new Date(model.lastUsedAt).toLocaleString(i18n.language)}</td>
      <td>
        <button
          type="button"
          className="ghost"
          aria-label={t('storage.deleteLabel', { model: model.label, dtype: model.dtype })}
          onClick={() => void deleteStoredModel(model.modelKey, model.dtype)}
        >
          {t('storage.delete')}
        </button>
      </td>
    </tr>
  );
}

export function StoragePanel({ onClose }: { onClose(): void }) {
  const { t } = useTranslation();
  const models = useLiveQuery(() => modelStore.listModels(), [], undefined);
  const estimate = useAppStore((s) => s.storageEstimate);
  const persisted = useAppStore((s) => s.storagePersisted);
  const freed = useAppStore((s) => s.storageFreed);
  const importProgress = useAppStore((s) => s.importProgress);
  const importResult = useAppStore((s) => s.importResult);
  const error = useAppStore((s) => s.storageError);
  const [confirmAll, setConfirmAll] = useState(false);
  const folderInput = useRef<HTMLInputElement>(null);

  // Usage changes with every stored or deleted chunk, in this tab or another.
  const storedBytes = models?.reduce((sum, m) => sum + m.storedBytes, 0);
  useEffect(() => {
    void refreshStorageInfo();
  }, [storedBytes]);

  const chooseFolder = async () => {
    if (!hasDirectoryPicker()) return folderInput.current?.click();
    const files = await pickDirectory();
    if (files) await importModelFolder(files);
  };
  const onFolderInput = (event: ChangeEvent<HTMLInputElement>) => {
    const files = filesFromInput(event.target.files);
    event.target.value = '';
    void importModelFolder(files);
  };

  return (
    <aside id="storage-panel" className="settings-panel storage-panel" aria-labelledby="storage-title">
      <header className="panel-header">
        <h2 id="storage-title">{t('storage.title')}</h2>
        <button type="button" className="ghost" onClick={onClose}>
          {t('storage.close')}
        </button>
      </header>
      <p className="hint" data-testid="storage-usage" data-usage={estimate?.usage ?? ''} data-quota={estimate?.quota ?? ''}>
        {!estimate
          ? t('storage.usageUnknown')
          : availableBytes(estimate) === null
            ? t('storage.usageOnly', { usage: formatBytes(estimate.usage) })
            : t('storage.usage', { usage: formatBytes(estimate.usage), quota: formatBytes(estimate.quota) })}
      </p>
      {persisted !== null && <p className="hint">{t(persisted ? 'storage.persistent' : 'storage.notPersistent')}</p>}
      {error && (
        <p className="field-error" role="alert">
          {t(`errors.${error.code}`, formatErrorParams(error.params))}
        </p>
      )}
      {freed !== null && (
        <p className="hint" role="status">
          {t('storage.freed', { bytes: formatBytes(freed) })}
        </p>
      )}
      {models && models.length === 0 && <p className="hint">{t('storage.empty')}</p>}
      {models && models.length > 0 && (
        <div className="stored-models-frame">
          <table className="stored-models">
            <thead>
              <tr>
                <th scope="col">{t('storage.model')}</th>
                <th scope="col">{t('storage.precision')}</th>
                <th scope="col">{t('storage.size')}</th>
                <th scope="col">{t('storage.stored')}</th>
                <th scope="col">{t('storage.lastUsed')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('storage.delete')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {models.map((model) => (
                <StoredRow key={`${model.modelKey}\n${model.dtype}`} model={model} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {models && models.length > 0 && (
        <div className="dialog-actions">
          {confirmAll ? (
            <>
              <button type="button" className="ghost" onClick={() => setConfirmAll(false)}>
                {t('models.cancel')}
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => {
                  setConfirmAll(false);
                  void deleteAllStoredModels();
                }}
              >
                {t('storage.confirmDeleteAll')}
              </button>
            </>
          ) : (
            <button type="button" className="ghost" onClick={() => setConfirmAll(true)}>
              {t('storage.deleteAll')}
            </button>
          )}
        </div>
      )}
      <section className="import-folder">
        <p className="hint">{t('storage.importHelp')}</p>
        <button type="button" onClick={() => void chooseFolder()} disabled={importProgress !== null}>
          {t('storage.import')}
        </button>
        <input
          ref={folderInput}
          className="visually-hidden"
          type="file"
          multiple
          aria-label={t('storage.importFolder')}
          onChange={onFolderInput}
          {...FOLDER_INPUT}
        />
        {importProgress && (
          <p className="hint" role="status">
            <progress max={importProgress.total || 1} value={importProgress.loaded} aria-label={t('storage.importFolder')} />{' '}
            {t('storage.importing', { loaded: formatBytes(importProgress.loaded), total: formatBytes(importProgress.total) })}
          </p>
        )}
        {importResult && (
          <p className="hint" role="status" data-testid="import-result">
            {t('storage.imported', {
              model: importResult.label,
              dtypes: importResult.dtypes.join(', '),
              check: t(importResult.verified === 'sha256' ? 'storage.checkSha256' : 'storage.checkSize'),
            })}
          </p>
        )}
      </section>
    </aside>
  );
}
