/** The prompt text of a conversation, rendered with the model's chat template. */
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { AppError } from '../lib/errors.ts';
import type { ChatMessage } from './protocol.ts';

/**
 * The prompt text. With `continueFinal`, the last (assistant) message is left open so the model
 * writes on from its end, as Hugging Face's `continue_final_message` does: render without a
 * generation prompt and cut everything after the final message's (trimmed) content.
 */
export function renderPrompt(tokenizer: PreTrainedTokenizer, messages: ChatMessage[], continueFinal: boolean): string {
  // Only what the template knows: role and content (ids stay on our side).
  const plain = messages.map(({ role, content }) => ({ role, content }));
  const rendered = tokenizer.apply_chat_template(plain as unknown as Parameters<typeof tokenizer.apply_chat_template>[0], {
    add_generation_prompt: !continueFinal,
    tokenize: false,
  }) as string;
  if (!continueFinal) return rendered;
  const final = messages[messages.length - 1]?.content.trim() ?? '';
  const at = final ? rendered.lastIndexOf(final) : -1;
  if (at < 0) throw new AppError('generation-failed', 'The reply to continue is not in the rendered prompt.');
  return rendered.slice(0, at + final.length);
}
