import { describe, expect, it } from 'vitest';
import { generationStats } from './generation.ts';

describe('generationStats', () => {
  it('splits a reply into prefill (new prompt tokens until the first token) and decode (the steps after it)', () => {
    const stats = generationStats({ startedMs: 1000, firstTokenMs: 1500, finishedMs: 3500, promptTokens: 300, reusedTokens: 200, generatedTokens: 21 });
    expect(stats).toEqual({
      promptTokens: 300,
      reusedTokens: 200,
      prefillTokens: 100,
      timeToFirstTokenMs: 500,
      prefillTokensPerSecond: 200,
      decodeTokens: 20,
      decodeTokensPerSecond: 10,
      totalMs: 2500,
    });
  });

  it('has no decode speed for a one-token reply, and no speeds when nothing was generated', () => {
    expect(generationStats({ startedMs: 0, firstTokenMs: 400, finishedMs: 400, promptTokens: 8, reusedTokens: 0, generatedTokens: 1 })).toMatchObject({
      decodeTokens: 0,
      decodeTokensPerSecond: 0,
      prefillTokensPerSecond: 20,
    });
    const none = generationStats({ startedMs: 0, firstTokenMs: null, finishedMs: 50, promptTokens: 8, reusedTokens: 0, generatedTokens: 0 });
    expect([none.timeToFirstTokenMs, none.decodeTokens, none.decodeTokensPerSecond]).toEqual([50, 0, 0]);
  });
});
