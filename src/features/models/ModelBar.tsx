/**
 * Model picker (with what is stored on this device, read live from Dexie, so a download in
 * another tab shows up), precision, context length (with the KV memory each costs, and the
 * lengths this GPU refuses with the reason), whether each model fits this device, and the Load
 * button (which asks first when the model won't run here, or would be downloaded again in
 * another precision); "Add model" opens a dialog.
 */
import './models.css';
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { modelStore, type StoredModelSummary } from '../../db/model-store.ts';
import { convertsInBrowser, MODEL_DTYPES, type ModelDtype } from '../../model/catalog.ts';
import { AddModelDialog } from './AddModelDialog.tsx';
import { formatNumber } from '../../i18n/format.ts';
import type { ContextRefusal } from '../../model/kv-memory.ts';
import type { DevicePreference } from '../../model/device-choice.ts';
import { effectiveLength } from './context-length.ts';
import { type ContextChoices } from '../../model/kv-memory.ts';
import { chooseContextLength, chooseDevice, chooseDtype, loadSelectedModel, plannedSecondDownload, selectModel } from './model-actions.ts';
import type { SecondDownload } from './second-download.ts';
import { SecondDownloadDialog } from './SecondDownloadDialog.tsx';
import { refreshFits } from './fit-actions.ts';
import { FitNote, fitMark, LoadConfirmDialog } from './ModelFit.tsx';
import { formatBytes } from '../../i18n/format.ts';
import { computeModelFacts } from './model-facts.ts';
import { ModelFactsNote } from './ModelFactsNote.tsx';
import { missingBytes, offlineLoad } from './offline-load.ts';
import { useOnline } from './use-online.ts';
import { useNarrowScreen } from '../../state/narrow-screen.ts';

/** "stored" when a precision is complete, else "partly stored" with the best percentage and what it lacks, else nothing. */
function storedMark(models: StoredModelSummary[], t: ReturnType<typeof useTranslation>['t']): string {
  if (models.some((m) => m.status === 'complete')) return t('models.storedMark');
  const best = Math.max(0, ...models.map((m) => (m.totalBytes > 0 ? m.storedBytes / m.totalBytes : 0)));
  return models.length ? t('models.partialMark', { percent: Math.floor(best * 100), missing: formatBytes(missingBytes(models) ?? 0) }) : '';
}

type T = ReturnType<typeof useTranslation>['t'];

function refusalText(refusal: ContextRefusal, t: T, language: string): string {
  if (refusal.code === 'buffer-too-large') {
    return t('models.contextRefusal', {
      buffer: t(`models.contextBuffers.${refusal.buffer}`),
      bytes: formatBytes(refusal.bytes),
      limitBytes: formatBytes(refusal.limitBytes),
    });
  }
  if (refusal.code === 'beyond-maximum') return t('models.contextRefusalMaximum', { maximum: formatNumber(refusal.maximum, language) });
  if (refusal.code === 'wasm-memory') return t('models.contextRefusalWasm', { bytes: formatBytes(refusal.bytes), limitBytes: formatBytes(refusal.limitBytes) });
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
      {refused.length > 0 &&
        refused[0].refusal &&
        ` ${t(refused[0].refusal.code === 'wasm-memory' ? 'models.contextRefusedCpu' : 'models.contextRefused', { lengths: refused.map((o) => n(o.tokens)).join(', '), reason: refusalText(refused[0].refusal, t, i18n.language) })}`}
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
  const [confirming, setConfirming] = useState(false);
  const fits = useAppStore((s) => s.fits);
  const contextChoices = useAppStore((s) => (s.contextChoices?.modelId === s.selectedModelId ? s.contextChoices : null));
  const selected = catalog.find((e) => e.id === selectedId);
  const dtypes = selected ? (MODEL_DTYPES.filter((d) => d in selected.dtypes) as ModelDtype[]) : [];
  const config = useAppStore((s) => (s.modelConfig?.modelId === s.selectedModelId ? s.modelConfig.config : null));
  const facts = useMemo(() => (selected ? computeModelFacts(selected, config) : null), [selected, config]);
  const { chosen } = useContextChoice(contextChoices);
  const busy = loadStatus === 'loading' || generating;
  // Offline, only what is stored completely can load; the rest says what it lacks.
  const online = useOnline();
  const offline = !online && selected ? offlineLoad(stored, selected.id, dtypeChoice) : null;
  const blockedOffline = offline !== null && !offline.loadable;
  const selectedFit = selected ? fits[selected.id] : undefined;
  // A model stored or deleted (here or in another tab) changes the storage left and what is still to fetch.
  const storedKey = stored.map((m) => `${m.modelKey}/${m.dtype}/${m.status}`).join();
  useEffect(() => {
    void refreshFits().catch(() => undefined);
  }, [storedKey]);
  const [secondDownload, setSecondDownload] = useState<SecondDownload | null>(null);
  const loadAfterFitCheck = () => (selectedFit?.verdict === 'no-fit' ? setConfirming(true) : void loadSelectedModel());
  // Another precision of a stored model (Run on switched between GPU and CPU): said before it downloads.
  const load = async () => {
    const plan = await plannedSecondDownload().catch(() => null);
    if (plan) setSecondDownload(plan);
    else loadAfterFitCheck();
  };

  // What the model is and costs, beside the controls; on a phone behind a disclosure, so the
  // header leaves the chat and its composer in sight.
  const narrow = useNarrowScreen();
  const hasAboutModel = Boolean(selected) || (Boolean(persistence) && loadStatus !== 'loading');
  const aboutModel = hasAboutModel ? (
    <>
      {selected && <ContextLengthHint choices={contextChoices} />}
      {selected && convertsInBrowser(selected) && !stored.some((m) => m.modelKey === selected.id && m.status === 'complete') && (
        <p className="model-note">{t('models.convertsNote')}</p>
      )}
      {persistence && loadStatus !== 'loading' && (
        <p className="model-note">{t(persistence === 'persistent' ? 'models.persistent' : 'models.notPersistent')}</p>
      )}
      {selected && (
        <ModelFactsNote
          entry={selected}
          facts={facts}
          dtype={contextChoices?.dtype ?? (dtypeChoice === 'auto' ? null : dtypeChoice)}
          kv={chosen && contextChoices?.kvBytesPerToken !== null ? { tokens: chosen.tokens, bytes: chosen.kvBytes } : null}
        />
      )}
      {selected && !selected.test && <p className="model-note">{t('models.licenseNote', { license: selected.licenseNote ?? selected.license })}</p>}
    </>
  ) : null;

  return (
    <div className="model-bar">
      <div className="model-controls">
        <label className="field model-field">
          <span className="field-label">{t('models.picker')}</span>
          <select aria-label={t('models.picker')} value={selectedId ?? ''} onChange={(e) => selectModel(e.target.value)} disabled={busy}>
            {catalog.map((entry) => {
              const mark = [
                fitMark(fits[entry.id], t),
                storedMark(
                  stored.filter((m) => m.modelKey === entry.id),
                  t,
                ),
              ]
                .filter(Boolean)
                .join(' · ');
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
              const size = facts?.precisions[dtype]?.storedBytes;
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
          <select value={deviceChoice} onChange={(e) => chooseDevice(e.target.value as DevicePreference)} disabled={busy}>
            <option value="auto">{t('models.deviceAuto')}</option>
            <option value="webgpu">{t('models.deviceWebgpu')}</option>
            <option value="wasm">{t('models.deviceWasm')}</option>
          </select>
        </label>
        {selected && <ContextLengthField choices={contextChoices} busy={busy} />}
        <button type="button" onClick={() => void load()} disabled={busy || !selected || blockedOffline}>
          {loadStatus === 'loading' ? t('models.loading') : t('models.load')}
        </button>
        <button type="button" className="ghost" onClick={() => setAdding(true)} disabled={busy}>
          {t('models.add')}
        </button>
      </div>
      <div className="model-notes">
        <p className="model-status" role="status" aria-live="polite">
          {loaded
            ? t('models.loaded', {
                model: catalog.find((e) => e.id === loaded.modelId)?.label ?? loaded.modelId,
                device: loaded.device === 'webgpu' ? 'WebGPU' : 'WASM',
                dtype: loaded.dtype,
              })
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
        {offline && !offline.loadable && (
          <p className="model-note offline-blocked" data-testid="offline-note">
            {offline.missingBytes === null ? t('models.offlineNotStored') : t('models.offlinePartlyStored', { missing: formatBytes(offline.missingBytes) })}
          </p>
        )}
        {selected && <FitNote fit={selectedFit} />}
        {aboutModel &&
          (narrow ? (
            <details className="model-details">
              <summary>{t('models.details')}</summary>
              <div className="model-notes">{aboutModel}</div>
            </details>
          ) : (
            aboutModel
          ))}
      </div>
      {adding && <AddModelDialog onClose={() => setAdding(false)} />}
      {secondDownload && selected && (
        <SecondDownloadDialog
          model={selected.label}
          plan={secondDownload}
          converts={convertsInBrowser(selected)}
          downloadBytes={facts?.precisions[secondDownload.dtype]?.downloadBytes ?? null}
          storedBytes={facts?.precisions[secondDownload.dtype]?.storedBytes ?? null}
          onDownload={loadAfterFitCheck}
          onUseStored={(dtype) => {
            chooseDtype(dtype);
            loadAfterFitCheck();
          }}
          onClose={() => setSecondDownload(null)}
        />
      )}
      {confirming && selectedFit && <LoadConfirmDialog fit={selectedFit} onLoad={() => void loadSelectedModel()} onClose={() => setConfirming(false)} />}
    </div>
  );
}
