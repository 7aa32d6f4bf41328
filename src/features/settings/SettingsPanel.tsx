/**
 * Settings of the open conversation: system prompt and sampling. Empty fields use the model's
 * generation_config defaults (shown as placeholders); "Model defaults" clears the overrides.
 */
import { useLiveQuery } from 'dexie-react-hooks';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { db } from '../../db/app-db.ts';
import { updateConversation } from '../../db/conversations.ts';
import type { SamplingParams } from '../../worker/protocol.ts';
import { FALLBACK_SAMPLING, samplingFromGenerationConfig } from './sampling-defaults.ts';

const FIELDS: { key: keyof SamplingParams; step: number; min: number; max: number }[] = [
  { key: 'temperature', step: 0.05, min: 0, max: 5 },
  { key: 'topP', step: 0.01, min: 0.01, max: 1 },
  { key: 'topK', step: 1, min: 0, max: 1000 },
  { key: 'repetitionPenalty', step: 0.01, min: 0.5, max: 3 },
  { key: 'maxNewTokens', step: 1, min: 1, max: 32768 },
];

export function SettingsPanel({ onClose }: { onClose(): void }) {
  const { t } = useTranslation();
  const conversationId = useAppStore((s) => s.activeConversationId);
  const generationConfig = useAppStore((s) => s.loaded?.generationConfig);
  const conversation = useLiveQuery(() => (conversationId ? db.conversations.get(conversationId) : undefined), [conversationId]);
  const defaults = generationConfig ? samplingFromGenerationConfig(generationConfig) : FALLBACK_SAMPLING;
  if (!conversation) return null;

  const setSampling = (key: keyof SamplingParams, raw: string) => {
    const sampling = { ...conversation.sampling };
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) delete sampling[key];
    else sampling[key] = value;
    void updateConversation(conversation.id, { sampling });
  };

  return (
    <aside id="settings-panel" className="settings-panel" aria-labelledby="settings-title">
      <header className="panel-header">
        <h2 id="settings-title">{t('settings.title')}</h2>
        <button type="button" className="ghost" onClick={onClose}>
          {t('settings.close')}
        </button>
      </header>
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
        {FIELDS.map(({ key, step, min, max }) => (
          <label className="field" key={key}>
            <span className="field-label">{t(`settings.${key}`)}</span>
            <input
              type="number"
              inputMode="decimal"
              step={step}
              min={min}
              max={max}
              value={conversation.sampling[key] ?? ''}
              placeholder={String(defaults[key])}
              onChange={(e) => setSampling(key, e.target.value)}
            />
          </label>
        ))}
        <p className="hint">{t('settings.temperatureHint')}</p>
      </fieldset>
      <button type="button" className="ghost" onClick={() => void updateConversation(conversation.id, { sampling: {} })}>
        {t('settings.resetDefaults')}
      </button>
    </aside>
  );
}
