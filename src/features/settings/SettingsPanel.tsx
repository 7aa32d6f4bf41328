/**
 * Settings of the open conversation: system prompt (with ko/en presets) and sampling. Empty
 * fields use the loaded model's generation_config defaults, shown beside each field; "Model
 * defaults" clears the overrides. Esc closes the panel.
 */
import './settings.css';
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { db, type ConversationRecord } from '../../db/app-db.ts';
import { updateConversation } from '../../db/conversations.ts';
import { formatNumber } from '../../i18n/format.ts';
import type { SamplingParams } from '../../model/generation.ts';
import { FALLBACK_SAMPLING, SAMPLING_LIMITS, samplingFromGenerationConfig } from '../../model/sampling-defaults.ts';
import { presetById, SYSTEM_PRESETS } from './system-presets.ts';

const FIELDS: { key: keyof SamplingParams; step: number }[] = [
  { key: 'temperature', step: 0.05 },
  { key: 'topP', step: 0.01 },
  { key: 'topK', step: 1 },
  { key: 'repetitionPenalty', step: 0.01 },
  { key: 'maxNewTokens', step: 1 },
];

type Drafts = Record<keyof SamplingParams, string>;

const draftsOf = (sampling: Partial<SamplingParams>): Drafts =>
  Object.fromEntries(FIELDS.map(({ key }) => [key, sampling[key] === undefined ? '' : String(sampling[key])])) as Drafts;

function samplingOf(drafts: Drafts): Partial<SamplingParams> {
  const sampling: Partial<SamplingParams> = {};
  for (const { key } of FIELDS) {
    const value = Number(drafts[key]);
    if (drafts[key].trim() !== '' && Number.isFinite(value)) sampling[key] = value;
  }
  return sampling;
}

export function SettingsPanel({ onClose }: { onClose(): void }) {
  const conversationId = useAppStore((s) => s.activeConversationId);
  const conversation = useLiveQuery(() => (conversationId ? db.conversations.get(conversationId) : undefined), [conversationId]);
  const ready = conversation !== undefined;
  // Opening the panel moves the keyboard into it (once, not on every conversation switch).
  useEffect(() => {
    if (ready) document.getElementById('settings-title')?.focus();
  }, [ready]);
  // Keyed by conversation: the form's own state starts from the stored settings of each one.
  return conversation ? <SettingsForm key={conversation.id} conversation={conversation} onClose={onClose} /> : null;
}

/**
 * The fields keep their own state and write through to IndexedDB: a field bound straight to the
 * database would lag one asynchronous write behind each keystroke (and lose typed characters).
 */
function SettingsForm({ conversation, onClose }: { conversation: ConversationRecord; onClose(): void }) {
  const { t, i18n } = useTranslation();
  const generationConfig = useAppStore((s) => s.loaded?.generationConfig);
  const [systemPrompt, setSystemPrompt] = useState(conversation.systemPrompt);
  const [drafts, setDrafts] = useState(() => draftsOf(conversation.sampling));
  const defaults = generationConfig ? samplingFromGenerationConfig(generationConfig) : FALLBACK_SAMPLING;

  const saveSystemPrompt = (text: string) => {
    setSystemPrompt(text);
    void updateConversation(conversation.id, { systemPrompt: text });
  };
  const saveDrafts = (next: Drafts) => {
    setDrafts(next);
    void updateConversation(conversation.id, { sampling: samplingOf(next) });
  };
  const preset = SYSTEM_PRESETS.find((p) => p.text === systemPrompt.trim())?.id ?? (systemPrompt.trim() ? 'custom' : 'none');
  const number = (value: number) => formatNumber(value, i18n.language, { maximumFractionDigits: 2 });

  return (
    <aside
      id="settings-panel"
      className="settings-panel"
      aria-labelledby="settings-title"
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
          event.preventDefault();
          onClose();
        }
      }}
    >
      <header className="panel-header">
        <h2 id="settings-title" tabIndex={-1}>
          {t('settings.title')}
        </h2>
        <button type="button" className="ghost" onClick={onClose}>
          {t('settings.close')}
        </button>
      </header>
      <label className="field">
        <span className="field-label">{t('settings.preset')}</span>
        <select
          value={preset}
          onChange={(e) => {
            const chosen = presetById(e.target.value);
            if (chosen) saveSystemPrompt(chosen.text);
            else if (e.target.value === 'none') saveSystemPrompt('');
          }}
        >
          <option value="none">{t('settings.presets.none')}</option>
          {preset === 'custom' && <option value="custom">{t('settings.presets.custom')}</option>}
          {SYSTEM_PRESETS.map((p) => (
            <option key={p.id} value={p.id}>
              {t(`settings.presets.${p.id}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span className="field-label">{t('settings.systemPrompt')}</span>
        <textarea rows={4} value={systemPrompt} placeholder={t('settings.systemPromptPlaceholder')} onChange={(e) => saveSystemPrompt(e.target.value)} />
      </label>
      <fieldset className="sampling">
        <legend>{t('settings.sampling')}</legend>
        {FIELDS.map(({ key, step }) => {
          const { min, max } = SAMPLING_LIMITS[key];
          const value = samplingOf(drafts)[key];
          const invalid = value !== undefined && (value < min || value > max);
          const id = `sampling-${key}`;
          return (
            <div className="field" key={key}>
              <label className="field-label" htmlFor={id}>
                {t(`settings.${key}`)}
              </label>
              <input
                id={id}
                type="number"
                inputMode="decimal"
                step={step}
                min={min}
                max={max}
                value={drafts[key]}
                placeholder={String(defaults[key])}
                aria-invalid={invalid}
                aria-describedby={`${id}-hint`}
                onChange={(e) => saveDrafts({ ...drafts, [key]: e.target.value })}
              />
              <span id={`${id}-hint`} className={invalid ? 'field-hint field-error' : 'field-hint'}>
                {invalid
                  ? t('settings.outOfRange', { min: number(min), max: number(max) })
                  : generationConfig
                    ? t('settings.modelDefault', { value: number(defaults[key]) })
                    : t('settings.defaultUnknown')}
              </span>
            </div>
          );
        })}
        <p className="hint">{t('settings.temperatureHint')}</p>
      </fieldset>
      <button type="button" className="ghost" onClick={() => saveDrafts(draftsOf({}))}>
        {t('settings.resetDefaults')}
      </button>
    </aside>
  );
}
