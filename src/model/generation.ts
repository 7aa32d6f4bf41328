/** What a reply is generated with and what it cost: stored with conversations and sent to the engine. */

export interface SamplingParams {
  /** 0 means greedy decoding. */
  temperature: number;
  topP: number;
  /** 0 disables top-k. */
  topK: number;
  repetitionPenalty: number;
  maxNewTokens: number;
}

export interface GenerationStats {
  /** Prompt tokens the model computed this turn (the rest came from the KV cache). */
  prefillTokens: number;
  /** Prompt tokens served from the previous turn's KV cache. */
  reusedTokens: number;
  promptTokens: number;
  /** Milliseconds from the request to the first new token. */
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokens: number;
  decodeTokensPerSecond: number;
  totalMs: number;
}

/** When a reply's phases happened (ms, one clock) and how many tokens each covered. */
export interface GenerationTimings {
  startedMs: number;
  /** When the first new token arrived; null if none did. */
  firstTokenMs: number | null;
  finishedMs: number;
  promptTokens: number;
  /** Prompt tokens served from the KV cache (not computed). */
  reusedTokens: number;
  generatedTokens: number;
}

/**
 * A reply's statistics. Time to first token covers the prefill of the tokens not reused; decode
 * speed counts the steps after the first token (n − 1 tokens over the time since it), so a
 * one-token reply has no decode speed.
 */
export function generationStats(t: GenerationTimings): GenerationStats {
  const firstTokenMs = t.firstTokenMs ?? t.finishedMs;
  const prefillTokens = t.promptTokens - t.reusedTokens;
  const ttft = firstTokenMs - t.startedMs;
  const decodeTokens = Math.max(0, t.generatedTokens - 1);
  const decodeMs = t.finishedMs - firstTokenMs;
  return {
    promptTokens: t.promptTokens,
    reusedTokens: t.reusedTokens,
    prefillTokens,
    timeToFirstTokenMs: ttft,
    prefillTokensPerSecond: ttft > 0 ? (prefillTokens * 1000) / ttft : 0,
    decodeTokens,
    decodeTokensPerSecond: decodeMs > 0 ? (decodeTokens * 1000) / decodeMs : 0,
    totalMs: t.finishedMs - t.startedMs,
  };
}
