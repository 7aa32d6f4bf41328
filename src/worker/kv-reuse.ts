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
