/**
 * The expected replies for e2e chats, computed in Node from the fixture checkpoint with the
 * plain-TypeScript reference forward pass (not ONNX): the chat prompt comes from the model's own
 * tokenizer and chat template (transformers.js in Node), the tokens from greedy decoding.
 * A q4 model is checked against the reference run on the weights the q4 graph really computes
 * with (q4EffectiveWeights), since the fixtures' random weights have small top-1 margins; a q8 one
 * against the reference computing as its DynamicQuantizeMatMul does (src/testing/dtype-reference.ts).
 * q8's numbers depend on how a sequence is split into runs: `reply` runs the prompt at once and then
 * one token per step, as a first turn does (a later turn on a reused KV cache prefills only its new
 * tokens; no q8 check here relies on such a turn).
 */
import { join } from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { HfLlamaConfig } from '../../src/model/config.ts';
import type { EmbeddingLayout } from '../../src/model/graph-format.ts';
import type { ReferenceLlama } from '../../src/model/reference.ts';
import { dtypeReference } from '../../src/testing/dtype-reference.ts';
import { FIXTURE_MODELS_DIR, FIXTURES_DIR } from '../../src/testing/fixture-specs.ts';
import { continuePromptIds, type PreviousTurn } from '../../src/worker/kv-reuse.ts';
import { readCheckpointWeights } from '../../src/testing/checkpoint-weights.ts';
import { readFileSync } from 'node:fs';
import { userContentWithAttachments, type Attachment } from '../../src/model/attachments.ts';

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Documents sent with a user turn: they reach the template as the app sends them, before the content. */
  attachments?: Pick<Attachment, 'name' | 'text'>[];
}

/** The messages the chat template sees: role and content, a user turn's documents before its text. */
function templateMessages(turns: readonly ChatTurn[]): { role: ChatTurn['role']; content: string }[] {
  return turns.map(({ role, content, attachments }) => ({ role, content: userContentWithAttachments(content, attachments) }));
}

export class ReferenceChat {
  /** The previous turn, so a follow-up prompt reuses the reply's own token ids as the app does. */
  private previous: PreviousTurn | null = null;
  /** The ids the model's cache holds after the last reply (replyOnCache's reuse). */
  private cachedIds: number[] = [];

  private constructor(
    readonly tokenizer: PreTrainedTokenizer,
    private readonly model: ReferenceLlama,
    private readonly eosIds: number[],
  ) {}

  /** `embedding`: the q4 graph's embedding layout (`float`: a model converted before the table was quantized). */
  static async create(
    fixture: string,
    dtype: 'fp32' | 'q4' | 'q8',
    configOverride: (c: HfLlamaConfig) => HfLlamaConfig = (c) => c,
    embedding: EmbeddingLayout = 'quantized',
  ): Promise<ReferenceChat> {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = FIXTURE_MODELS_DIR + '/';
    const tokenizer = await AutoTokenizer.from_pretrained(fixture);
    const checkpoint = join(FIXTURES_DIR, 'checkpoints', fixture);
    const config = configOverride(JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')) as HfLlamaConfig);
    const model = dtypeReference(config, await readCheckpointWeights(checkpoint), dtype, { embedding });
    const eos = config.eos_token_id;
    return new ReferenceChat(tokenizer, model, Array.isArray(eos) ? eos : eos == null ? [] : [eos]);
  }

  /** The prompt ids for `messages`, continuing the previous turn's ids when the text extends it. */
  promptIds(messages: ChatTurn[]): { text: string; ids: number[] } {
    const text = this.tokenizer.apply_chat_template(templateMessages(messages) as never, { add_generation_prompt: true, tokenize: false }) as unknown as string;
    const encode = (s: string) => this.tokenizer.encode(s, { add_special_tokens: false });
    return { text, ids: continuePromptIds(this.previous, text, encode) };
  }

  /** Greedy reply: its token ids and decoded text. */
  reply(messages: ChatTurn[], maxNewTokens: number): { ids: number[]; text: string; promptTokens: number } {
    const prompt = this.promptIds(messages);
    const ids = this.model.greedy(prompt.ids, maxNewTokens, this.eosIds);
    const replyIds = this.eosIds.includes(ids[ids.length - 1]) ? ids.slice(0, -1) : ids;
    const text = this.tokenizer.decode(ids, { skip_special_tokens: true });
    this.previous = { promptText: prompt.text, replyText: text, ids: [...prompt.ids, ...replyIds] };
    this.cachedIds = [...prompt.ids, ...ids.slice(0, -1)];
    return { ids, text, promptTokens: prompt.ids.length };
  }

  /**
   * The reply the app gives on a reused KV cache: when the prompt extends what the previous
   * reply left cached (its prompt and reply ids but the last sampled token, never fed), only the
   * rest is run, as one run after that cache; otherwise a fresh prefill. Needed for q8, whose
   * numbers depend on how a sequence is split into runs.
   */
  replyOnCache(messages: ChatTurn[], maxNewTokens: number): { ids: number[]; text: string; promptTokens: number; reused: number } {
    const prompt = this.promptIds(messages);
    const cached = this.cachedIds;
    const reuse = cached.length > 0 && cached.length < prompt.ids.length && cached.every((id, i) => prompt.ids[i] === id);
    if (!reuse) this.model.reset();
    const reused = reuse ? cached.length : 0;
    const ids = this.model.greedyAfterCache(prompt.ids.slice(reused), maxNewTokens, this.eosIds);
    const replyIds = this.eosIds.includes(ids[ids.length - 1]) ? ids.slice(0, -1) : ids;
    const text = this.tokenizer.decode(ids, { skip_special_tokens: true });
    this.previous = { promptText: prompt.text, replyText: text, ids: [...prompt.ids, ...replyIds] };
    this.cachedIds = [...prompt.ids, ...ids.slice(0, -1)];
    return { ids, text, promptTokens: prompt.ids.length, reused };
  }

  /**
   * Greedy continuation of a final, partial assistant message, as Hugging Face's
   * continue_final_message renders it: no generation prompt, cut after the message's trimmed
   * content. Starts from no previous turn (a reopened page has no KV cache).
   */
  continueReply(messages: ChatTurn[], maxNewTokens: number): { ids: number[]; text: string; promptTokens: number } {
    const rendered = this.tokenizer.apply_chat_template(templateMessages(messages) as never, {
      add_generation_prompt: false,
      tokenize: false,
    }) as unknown as string;
    const final = messages[messages.length - 1].content.trim();
    const promptText = rendered.slice(0, rendered.lastIndexOf(final) + final.length);
    const promptIds = this.tokenizer.encode(promptText, { add_special_tokens: false });
    const ids = this.model.greedy(promptIds, maxNewTokens, this.eosIds);
    this.previous = null;
    this.cachedIds = [];
    return { ids, text: this.tokenizer.decode(ids, { skip_special_tokens: true }), promptTokens: promptIds.length };
  }

  forget(): void {
    this.previous = null;
    this.cachedIds = [];
  }
}
