/**
 * Model picker (with what is stored on this device, read live from Dexie, so a download in
 * another tab shows up), precision, and the Load button; "Add model" opens a dialog.
 */
import { useLiveQuery } from 'dexie-react-hooks';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { modelStore, type StoredModelSummary } from '../../db/model-store.ts';
import { convertsInBrowser, MODEL_DTYPES, type ModelDtype } from '../../model/catalog.ts';
import { AddModelDialog } from './AddModelDialog.tsx';
import { chooseDevice, chooseDtype, loadSelectedModel, selectModel } from './model-actions.ts';
import { formatBytes } from './progress.ts';

/** "stored" when a precision is complete, else the best partial percentage, else nothing. */
function storedMark(models: StoredModelSummary[], t: ReturnType<typeof useTranslation>['t']): string {
  if (models.some((m) => m.status === 'complete')) return t('models.storedMark');
  const best = Math.max(0, ...models.map((m) => (m.totalBytes > 0 ? m.storedBytes / m.totalBytes : 0)));
  return models.length ? t('models.partialMark', { percent: Math.floor(best * 100) }) : '';
}

export function ModelBar() {
  const { t } = useTranslation();
  const stored = useLiveQuery(() => modelStore.listModels(), [], [] as StoredModelSummary[]);
  const persistence = useAppStore((s) => s.persistence);
  const catalog = useAppStore((s) => s.catalog);
  const selectedId = useAppStore((s) => s.selectedModelId);
  const dtypeChoice = useAppStore((s) => s.dtypeChoice);
  const deviceChoice = useAppStore((s) => s.deviceChoice);
  const loadStatus = useAppStore((s) => s.loadStatus);
  const loaded = useAppStore((s) => s.loaded);
  const generating = useAppStore((s) => s.generation !== null);
  const [adding, setAdding] = useState(false);
  const selected = catalog.find((e) => e.id === selectedId);
  const dtypes = selected ? (MODEL_DTYPES.filter((d) => d in selected.dtypes) as ModelDtype[]) : [];
  const busy = loadStatus === 'loading' || generating;

  return (
    <div className="model-bar">
      <label className="field">
        <span className="field-label">{t('models.picker')}</span>
        <select aria-label={t('models.picker')} value={selectedId ?? ''} onChange={(e) => selectModel(e.target.value)} disabled={busy}>
          {catalog.map((entry) => {
            const mark = storedMark(
              stored.filter((m) => m.modelKey === entry.id),
              t,
            );
            return (
              <option key={entry.id} value={entry.id}>
                {entry.test ? t('models.testLabel', { label: entry.label }) : entry.label}
                {convertsInBrowser(entry) ? ` — ${t('models.convertsShort')}` : ''}
                {mark && ` · ${mark}`}
              </option>
            );
          })}
        </select>
      </label>
      <label className="field">
        <span className="field-label">{t('models.precision')}</span>
        <select value={dtypeChoice} onChange={(e) => chooseDtype(e.target.value as ModelDtype | 'auto')} disabled={busy || !selected}>
          <option value="auto">{t('models.precisionAuto')}</option>
          {dtypes.map((dtype) => {
            const size = selected?.dtypes[dtype];
            const mark = storedMark(
              stored.filter((m) => m.modelKey === selected?.id && m.dtype === dtype),
              t,
            );
            return (
              <option key={dtype} value={dtype}>
                {typeof size === 'number' ? `${dtype} · ${formatBytes(size)}` : dtype}
                {mark && ` · ${mark}`}
              </option>
            );
          })}
        </select>
      </label>
      <label className="field">
        <span className="field-label">{t('models.device')}</span>
        <select value={deviceChoice} onChange={(e) => chooseDevice(e.target.value as 'auto' | 'wasm')} disabled={busy}>
          <option value="auto">{t('models.deviceAuto')}</option>
          <option value="wasm">{t('models.deviceWasm')}</option>
        </select>
      </label>
      <button type="button" onClick={() => void loadSelectedModel()} disabled={busy || !selected}>
        {loadStatus === 'loading' ? t('models.loading') : t('models.load')}
      </button>
      <button type="button" className="ghost" onClick={() => setAdding(true)} disabled={busy}>
        {t('models.add')}
      </button>
      <p className="model-status" role="status" aria-live="polite">
        {loaded
          ? t('models.loaded', { model: catalog.find((e) => e.id === loaded.modelId)?.label ?? loaded.modelId, device: loaded.device === 'webgpu' ? 'WebGPU' : 'WASM', dtype: loaded.dtype })
          : t('models.notLoaded')}
      </p>
      {selected && convertsInBrowser(selected) && !stored.some((m) => m.modelKey === selected.id && m.status === 'complete') && (
        <p className="model-note">{t('models.convertsNote')}</p>
      )}
      {persistence && loadStatus !== 'loading' && <p className="model-note">{t(persistence === 'persistent' ? 'models.persistent' : 'models.notPersistent')}</p>}
      {selected?.licenseNote && <p className="model-note">{t('models.licenseNote', { license: selected.licenseNote })}</p>}
      {adding && <AddModelDialog onClose={() => setAdding(false)} />}
    </div>
  );
}
