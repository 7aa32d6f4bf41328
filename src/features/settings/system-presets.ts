/**
 * Ready-made system prompts. Their text is written in the language the model should answer in
 * (not the UI language), so it is data rather than a UI string; the names shown in the picker
 * are translated (settings.presets.<id>).
 */
export interface SystemPreset {
  id: 'ko-assistant' | 'en-assistant' | 'translator' | 'ko-tutor';
  /** The language the prompt is written in (for lang= on previews). */
  language: 'ko' | 'en';
  text: string;
}

export const SYSTEM_PRESETS: readonly SystemPreset[] = [
  {
    id: 'ko-assistant',
    language: 'ko',
    text: '당신은 한마디, 친절하고 정확한 AI 비서입니다. 한국어 존댓말로 간결하게 답하세요. 모르는 것은 모른다고 말하세요.',
  },
  {
    id: 'en-assistant',
    language: 'en',
    text: "You are Hanmadi, a helpful and accurate assistant. Answer concisely in English. If you don't know something, say so.",
  },
  {
    id: 'translator',
    language: 'ko',
    text: '당신은 한국어-영어 번역가입니다. 사용자가 한국어로 쓰면 자연스러운 영어로, 영어로 쓰면 자연스러운 한국어로 번역하세요. 번역문만 답하세요.',
  },
  {
    id: 'ko-tutor',
    language: 'en',
    text: 'You are a patient Korean tutor for English speakers. Answer in simple Korean, then give the English meaning and explain one grammar point briefly.',
  },
];

export function presetById(id: string): SystemPreset | undefined {
  return SYSTEM_PRESETS.find((p) => p.id === id);
}
