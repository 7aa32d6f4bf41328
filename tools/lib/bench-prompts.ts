/**
 * Prompts of exact token counts for the benchmark, built with the model's own tokenizer in Node
 * (transformers.js, the same tokenizer and chat template the worker uses). Each prompt exists in
 * two forms: chat messages for Hanmadi's engine, and the rendered text (without the leading
 * <|begin_of_text|>, which llama.cpp adds) for wllama, which takes text only (docs/gguf.md).
 */
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { ChatMessage } from '../../src/worker/protocol.ts';

/** Korean and English prose, repeated as needed (what the app is for; its content does not change the cost). */
const PASSAGE =
  '서울의 봄은 짧지만 아름답다. 한강을 따라 벚꽃이 피면 사람들은 공원으로 나와 도시락을 먹고 사진을 찍는다. ' +
  'Spring in Seoul is short but lovely: when the cherry trees along the Han River bloom, people picnic in the parks. ' +
  '오후에는 바람이 조금 불고, 저녁이 되면 기온이 빠르게 내려가므로 얇은 겉옷을 챙기는 것이 좋다. ' +
  'In the afternoon a light wind rises, and the evenings cool quickly, so a thin jacket is a good idea. ';

export interface BenchPrompt {
  messages: ChatMessage[];
  /** Token ids the engine computes for `messages` (bos included). */
  tokens: number;
  /** The same prompt as text for llama.cpp (no bos); re-encodes to exactly the same ids. */
  text: string;
}

export class PromptBuilder {
  private constructor(private readonly tokenizer: PreTrainedTokenizer) {}

  /** `modelsDir` holds converted models; `model` is one of them (its tokenizer files are read). */
  static async open(modelsDir: string, model: string): Promise<PromptBuilder> {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`;
    return new PromptBuilder(await AutoTokenizer.from_pretrained(model));
  }

  private encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false });
  }

  /** The engine's prompt: the chat template's text (generation prompt added), then its ids. */
  render(messages: ChatMessage[]): { text: string; ids: number[] } {
    const text = this.tokenizer.apply_chat_template(messages as Parameters<PreTrainedTokenizer['apply_chat_template']>[0], {
      add_generation_prompt: true,
      tokenize: false,
    }) as string;
    return { text, ids: this.encode(text) };
  }

  /**
   * Text of exactly `n` tokens: whole words of the passage from word `offset` on (a cut never
   * splits a character), topped up with " the" (one token each) where the next word would overshoot.
   */
  contentOf(n: number, offset = 0): string {
    let words = PASSAGE.trim().split(' ');
    while (words.length < offset + n + 1) words = [...words, ...PASSAGE.trim().split(' ')];
    words = words.slice(offset);
    // Binary search for the most words that fit in n tokens.
    let lo = 0;
    let hi = Math.min(words.length, n);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.encode(words.slice(0, mid).join(' ')).length <= n) lo = mid;
      else hi = mid - 1;
    }
    let text = words.slice(0, lo).join(' ');
    for (let count = this.encode(text).length; count < n; count++) text = text ? `${text} the` : 'the';
    if (this.encode(text).length !== n) throw new Error(`Cannot make ${n} tokens of content.`);
    return text;
  }

  /**
   * A prompt of exactly `total` tokens: `before` (earlier turns) then a user message whose
   * content fills the rest. `offset` varies the content between prompts of one run.
   */
  prompt(total: number, before: ChatMessage[] = [], offset = 0): BenchPrompt {
    const overhead = this.render([...before, { role: 'user', content: '' }]).ids.length;
    if (total <= overhead) throw new Error(`A ${total}-token prompt is shorter than its template (${overhead} tokens).`);
    let want = total - overhead;
    for (let attempt = 0; attempt < 8; attempt++) {
      const messages: ChatMessage[] = [...before, { role: 'user', content: this.contentOf(want, offset) }];
      const { ids } = this.render(messages);
      if (ids.length === total) return this.withText(messages, ids);
      want += total - ids.length;
      if (want <= 0) break;
    }
    throw new Error(`Could not build a prompt of exactly ${total} tokens.`);
  }

  /** The llama.cpp text of `messages`: rendered, bos dropped; checked to re-encode to the same ids. */
  withText(messages: ChatMessage[], ids = this.render(messages).ids): BenchPrompt {
    const bos = this.tokenizer.bos_token_id;
    if (ids[0] !== bos) throw new Error('The chat template does not start with the bos token.');
    const text = this.tokenizer.decode(ids.slice(1), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    const again = this.encode(text);
    if (again.length !== ids.length - 1 || again.some((id, i) => id !== ids[i + 1])) throw new Error('The prompt text does not re-encode to its ids.');
    return { messages, tokens: ids.length, text };
  }
}
