/**
 * When the previous turn's KV cache can serve the next prompt. transformers.js slices the prompt
 * by the cache length without checking that the cached tokens ARE the prompt's first tokens, so
 * an edited or regenerated history would silently attend to stale keys. The cache is reused only
 * when its token ids are an exact, strictly shorter prefix of the new prompt (at least one new
 * token must be computed to get logits).
 */
export type KvPlan = { reuse: true; reusedTokens: number } | { reuse: false; reason: 'empty' | 'diverged' | 'not-shorter' };

export function planKvReuse(cachedIds: readonly number[] | null, promptIds: readonly number[]): KvPlan {
  if (!cachedIds || cachedIds.length === 0) return { reuse: false, reason: 'empty' };
  if (cachedIds.length >= promptIds.length) return { reuse: false, reason: 'not-shorter' };
  for (let i = 0; i < cachedIds.length; i++) {
    if (cachedIds[i] !== promptIds[i]) return { reuse: false, reason: 'diverged' };
  }
  return { reuse: true, reusedTokens: cachedIds.length };
}

/** What the engine remembers of the previous turn to build the next prompt. */
export interface PreviousTurn {
  promptText: string;
  replyText: string;
  /** Prompt ids followed by the reply's own ids (without the end-of-turn token). */
  ids: readonly number[];
}

/**
 * Prompt ids that continue the previous turn with the model's own reply tokens, when the new
 * rendering extends it. Chat templates trim message content (Llama 3: `content | trim`), so the
 * reply is matched trimmed; its exact generated tokens (whitespace included) are kept, as web-llm
 * keeps its conversation's token state, instead of a re-tokenization that may differ.
 */
export function continuePromptIds(turn: PreviousTurn | null, text: string, encode: (s: string) => number[]): number[] {
  if (turn) {
    const previous = turn.promptText + turn.replyText.trim();
    if (text.startsWith(previous)) return [...turn.ids, ...encode(text.slice(previous.length))];
  }
  return encode(text);
}
