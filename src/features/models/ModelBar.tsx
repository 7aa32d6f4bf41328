/**
 * Model picker (with what is stored on this device, read live from Dexie, so a download in
 * another tab shows up), precision, context length (with the KV memory each costs, and the
 * lengths this GPU refuses with the reason), and the Load button; "Add model" opens a dialog.
 */
import { useLiveQuery } from 'dexie-react-hooks';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { modelStore, type StoredModelSummary } from '../../db/model-store.ts';
import { convertsInBrowser, MODEL_DTYPES, type ModelDtype } from '../../model/catalog.ts';
import { AddModelDialog } from './AddModelDialog.tsx';
import { formatNumber } from '../../i18n/format.ts';
import type { ContextRefusal } from '../../model/kv-memory.ts';
import { effectiveLength, type ContextChoices } from './context-length.ts';
import { chooseContextLength, chooseDevice, chooseDtype, loadSelectedModel, selectModel } from './model-actions.ts';
import { formatBytes } from './progress.ts';

/** "stored" when a precision is complete, else the best partial percentage, else nothing. */
function storedMark(models: StoredModelSummary[], t: ReturnType<typeof useTranslation>['t']): string {
  if (models.some((m) => m.status === 'complete')) return t('models.storedMark');
  const best = Math.max(0, ...models.map((m) => (m.totalBytes > 0 ? m.storedBytes / m.totalBytes : 0)));
  return models.length ? t('models.partialMark', { percent: Math.floor(best * 100) }) : '';
}

type T = ReturnType<typeof useTranslation>['t'];

function refusalText(refusal: ContextRefusal, t: T, language: string): string {
  if (refusal.code === 'buffer-too-large') {
    return t('models.contextRefusal', { buffer: t(`models.contextBuffers.${refusal.buffer}`), bytes: formatBytes(refusal.bytes), limitBytes: formatBytes(refusal.limitBytes) });
  }
  if (refusal.code === 'beyond-maximum') return t('models.contextRefusalMaximum', { maximum: formatNumber(refusal.maximum, language) });
  return t('models.contextRefusalInvalid');
}

/** The chosen context length and what it costs, shared by the select and its hint. */
function useContextChoice(choices: ContextChoices | null) {
  const { i18n } = useTranslation();
  const remembered = useAppStore((s) => (choices ? s.contextLengths[choices.modelId] : undefined));
  const value = choices ? effectiveLength(choices, remembered) : undefined;
  return {
    n: (count: number) => formatNumber(count, i18n.language),
    value,
    chosen: choices?.options.find((o) => o.tokens === value),
    refused: choices?.options.filter((o) => o.refusal) ?? [],
    known: choices !== null && choices.kvBytesPerToken !== null,
  };
}

/** The context-length select, with the KV memory each length costs. */
function ContextLengthField({ choices, busy }: { choices: ContextChoices | null; busy: boolean }) {
  const { t } = useTranslation();
  const { n, value, known } = useContextChoice(choices);
  return (
    <label className="field">
      <span className="field-label">{t('models.contextLength')}</span>
      <select
        value={value ?? ''}
        onChange={(e) => chooseContextLength(Number(e.target.value))}
        disabled={busy || !choices}
        aria-describedby="context-length-hint"
      >
        {!choices && <option value="">{t('models.contextUnknown')}</option>}
        {choices?.options.map((o) => {
          const tokens = n(o.tokens);
          const label = o.refusal
            ? t('models.contextOptionRefused', { tokens })
            : !known
              ? t('models.contextOptionPlain', { tokens })
              : o.extended
                ? t('models.contextOptionExtended', { tokens, kv: formatBytes(o.kvBytes), factor: n(Math.round((o.tokens / choices.native) * 100) / 100) })
                : t(o.tokens === choices.native ? 'models.contextOptionNative' : 'models.contextOption', { tokens, kv: formatBytes(o.kvBytes) });
          return (
            <option key={o.tokens} value={o.tokens} disabled={o.refusal !== null}>
              {label}
            </option>
          );
        })}
      </select>
    </label>
  );
}

/** What the chosen context length costs, and which lengths this GPU refuses and why. */
function ContextLengthHint({ choices }: { choices: ContextChoices | null }) {
  const { t, i18n } = useTranslation();
  const { n, chosen, refused, known } = useContextChoice(choices);
  return (
    <p className="model-note" id="context-length-hint" data-testid="context-length-hint">
      {!choices
        ? t('models.contextHintUnknown')
        : chosen && known
          ? t('models.contextHint', { tokens: n(chosen.tokens), kv: formatBytes(chosen.kvBytes), perToken: formatBytes(choices.kvBytesPerToken ?? 0) })
          : t('models.contextHintNative', { native: n(choices.native) })}
      {choices && chosen?.extended && known && ` ${t('models.contextHintYarn', { native: n(choices.native) })}`}
      {refused.length > 0 && refused[0].refusal && ` ${t('models.contextRefused', { lengths: refused.map((o) => n(o.tokens)).join(', '), reason: refusalText(refused[0].refusal, t, i18n.language) })}`}
    </p>
  );
}

export function ModelBar() {
  const { t, i18n } = useTranslation();
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
  const contextChoices = useAppStore((s) => (s.contextChoices?.modelId === s.selectedModelId ? s.contextChoices : null));
  const selected = catalog.find((e) => e.id === selectedId);
  const dtypes = selected ? (MODEL_DTYPES.filter((d) => d in selected.dtypes) as ModelDtype[]) : [];
  const busy = loadStatus === 'loading' || generating;

  return (
    <div className="model-bar">
      <div className="model-controls">
        <label className="field model-field">
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
        {selected && <ContextLengthField choices={contextChoices} busy={busy} />}
        <button type="button" onClick={() => void loadSelectedModel()} disabled={busy || !selected}>
          {loadStatus === 'loading' ? t('models.loading') : t('models.load')}
        </button>
        <button type="button" className="ghost" onClick={() => setAdding(true)} disabled={busy}>
          {t('models.add')}
        </button>
      </div>
      <div className="model-notes">
        <p className="model-status" role="status" aria-live="polite">
          {loaded
            ? t('models.loaded', { model: catalog.find((e) => e.id === loaded.modelId)?.label ?? loaded.modelId, device: loaded.device === 'webgpu' ? 'WebGPU' : 'WASM', dtype: loaded.dtype })
            : t('models.notLoaded')}
        </p>
        {loaded && (
          <p className="model-note" data-testid="context-info" data-window={loaded.contextWindow}>
            {loaded.contextExtension
              ? t('models.contextLoadedExtended', {
                  window: formatNumber(loaded.contextWindow, i18n.language),
                  factor: formatNumber(Math.round(loaded.contextExtension.factor * 100) / 100, i18n.language),
                  native: formatNumber(loaded.nativeContext, i18n.language),
                })
              : t('models.contextLoaded', { window: formatNumber(loaded.contextWindow, i18n.language) })}
          </p>
        )}
        {selected && <ContextLengthHint choices={contextChoices} />}
        {selected && convertsInBrowser(selected) && !stored.some((m) => m.modelKey === selected.id && m.status === 'complete') && (
          <p className="model-note">{t('models.convertsNote')}</p>
        )}
        {persistence && loadStatus !== 'loading' && <p className="model-note">{t(persistence === 'persistent' ? 'models.persistent' : 'models.notPersistent')}</p>}
        {selected?.licenseNote && <p className="model-note">{t('models.licenseNote', { license: selected.licenseNote })}</p>}
      </div>
      {adding && <AddModelDialog onClose={() => setAdding(false)} />}
    </div>
  );
}
