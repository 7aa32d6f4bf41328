/**
 * Settings of the open conversation: system prompt (with ko/en presets) and sampling. Empty
 * fields use the loaded model's generation_config defaults, shown beside each field; "Model
 * defaults" clears the overrides. Esc closes the panel.
 */
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { db } from '../../db/app-db.ts';
import { updateConversation } from '../../db/conversations.ts';
import { formatNumber } from '../../i18n/format.ts';
import type { SamplingParams } from '../../worker/protocol.ts';
import { FALLBACK_SAMPLING, SAMPLING_LIMITS, samplingFromGenerationConfig } from './sampling-defaults.ts';
import { presetById, SYSTEM_PRESETS } from './system-presets.ts';

const FIELDS: { key: keyof SamplingParams; step: number }[] = [
  { key: 'temperature', step: 0.05 },
  { key: 'topP', step: 0.01 },
  { key: 'topK', step: 1 },
  { key: 'repetitionPenalty', step: 0.01 },
  { key: 'maxNewTokens', step: 1 },
];

export function SettingsPanel({ onClose }: { onClose(): void }) {
  const { t, i18n } = useTranslation();
  const conversationId = useAppStore((s) => s.activeConversationId);
  const generationConfig = useAppStore((s) => s.loaded?.generationConfig);
  const conversation = useLiveQuery(() => (conversationId ? db.conversations.get(conversationId) : undefined), [conversationId]);
  const heading = useRef<HTMLHeadingElement>(null);
  const defaults = generationConfig ? samplingFromGenerationConfig(generationConfig) : FALLBACK_SAMPLING;

  // Opening the panel moves the keyboard into it.
  useEffect(() => heading.current?.focus(), []);

  if (!conversation) return null;

  const setSampling = (key: keyof SamplingParams, raw: string) => {
    const sampling = { ...conversation.sampling };
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) delete sampling[key];
    else sampling[key] = value;
    void updateConversation(conversation.id, { sampling });
  };
  const preset = SYSTEM_PRESETS.find((p) => p.text === conversation.systemPrompt.trim())?.id ?? (conversation.systemPrompt.trim() ? 'custom' : 'none');
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
        <h2 id="settings-title" ref={heading} tabIndex={-1}>
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
            if (chosen) void updateConversation(conversation.id, { systemPrompt: chosen.text });
            else if (e.target.value === 'none') void updateConversation(conversation.id, { systemPrompt: '' });
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
        <textarea
          rows={4}
          value={conversation.systemPrompt}
          placeholder={t('settings.systemPromptPlaceholder')}
          onChange={(e) => void updateConversation(conversation.id, { systemPrompt: e.target.value })}
        />
      </label>
      <fieldset className="sampling">
        <legend>{t('settings.sampling')}</legend>
        {FIELDS.map(({ key, step }) => {
          const { min, max } = SAMPLING_LIMITS[key];
          const value = conversation.sampling[key];
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
                value={value ?? ''}
                placeholder={String(defaults[key])}
                aria-invalid={invalid}
                aria-describedby={`${id}-hint`}
                onChange={(e) => setSampling(key, e.target.value)}
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
      <button type="button" className="ghost" onClick={() => void updateConversation(conversation.id, { sampling: {} })}>
        {t('settings.resetDefaults')}
      </button>
    </aside>
  );
}
