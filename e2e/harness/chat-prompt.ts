/** The Korean+English chat prompts the e2e specs generate from, tokenized by transformers.js in Node. */
import { AutoTokenizer } from '@huggingface/transformers';

/** Token ids of a `turns`-turn chat (with the generation prompt) in `model`'s chat template. */
export async function chatPromptIds(model: string, turns: number): Promise<number[]> {
  const tokenizer = await AutoTokenizer.from_pretrained(model);
  const messages = [{ role: 'user', content: '안녕하세요! 오늘 서울 날씨 어때요? What should I wear?' }];
  for (let i = 1; i < turns; i++) {
    messages.push(
      { role: 'assistant', content: '서울은 맑고 포근해요. Light layers are perfect.' },
      { role: 'user', content: `그럼 내일은요? And the day after, number ${i}?` },
    );
  }
  const encoded = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, return_tensor: false }) as unknown as { input_ids: number[] };
  return encoded.input_ids;
}
