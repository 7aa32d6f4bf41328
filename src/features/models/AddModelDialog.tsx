/**
 * "Add model": a folder URL or a Hugging Face repo id, checked before it joins the list. A repo
 * without ONNX files whose safetensors checkpoint the converter supports joins as hf-safetensors
 * (converted in the browser on first load).
 */
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { addUserModel } from './model-actions.ts';
import { probeModel, type ProbeFailure } from './probe-model.ts';
import { parseModelSource, sourceKey, userModelEntry } from './user-models.ts';
import { useModal } from './use-modal.ts';
import { formatErrorParams, unsupportedFeatureKey } from '../../i18n/format.ts';

type Problem = 'invalidSource' | 'duplicate' | ProbeFailure | null;

export function AddModelDialog({ onClose }: { onClose(): void }) {
  const { t } = useTranslation();
  const dialog = useModal();
  const [source, setSource] = useState('');
  const [label, setLabel] = useState('');
  const [problem, setProblem] = useState<Problem>(null);
  /** What the probe said beside its reason (which feature of a checkpoint is unsupported). */
  const [problemParams, setProblemParams] = useState<Record<string, number | string> | undefined>(undefined);
  const [checking, setChecking] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseModelSource(source);
    if (!parsed.ok) return setProblem('invalidSource');
    const key = sourceKey(parsed.source);
    if (useAppStore.getState().catalog.some((e) => sourceKey(e.source) === key)) return setProblem('duplicate');
    setChecking(true);
    setProblem(null);
    setProblemParams(undefined);
    const probe = await probeModel(parsed.source);
    setChecking(false);
    if (!probe.ok) {
      setProblemParams(probe.params);
      return setProblem(probe.reason);
    }
    const added = probe.kind === 'hf-safetensors' && parsed.source.kind === 'hf' ? { ...parsed.source, kind: probe.kind } : parsed.source;
    await addUserModel({ ...userModelEntry(added, label), dtypes: probe.dtypes, nativeContext: probe.nativeContext });
    onClose();
  };

  const feature = unsupportedFeatureKey(problemParams);
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="add-model-title" onClose={onClose}>
      <form onSubmit={(event) => void submit(event)}>
        <h2 id="add-model-title">{t('models.addTitle')}</h2>
        <p className="hint">{t('models.addHelp')}</p>
        <label className="field">
          <span className="field-label">{t('models.addSource')}</span>
          <input
            value={source}
            onChange={(e) => setSource(e.target.value)}
            autoFocus
            required
            aria-invalid={problem !== null}
            aria-describedby="add-model-problem"
          />
        </label>
        <label className="field">
          <span className="field-label">{t('models.addLabel')}</span>
          <input value={label} onChange={(e) => setLabel(e.target.value)} />
        </label>
        <p id="add-model-problem" className="field-error" role={problem ? 'alert' : undefined}>
          {problem ? t(`models.addProblem.${problem}`) : ''}
          {problem && feature ? ` ${t(feature, formatErrorParams(problemParams))}` : ''}
        </p>
        <div className="dialog-actions">
          <button type="button" className="ghost" onClick={onClose}>
            {t('models.cancel')}
          </button>
          <button type="submit" disabled={checking}>
            {checking ? t('models.addChecking') : t('models.addSubmit')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
