import { describe, expect, it } from 'vitest';
import { continuePromptIds, planKvReuse } from './kv-reuse.ts';

describe('planKvReuse', () => {
  it('reuses an exact, strictly shorter prefix', () => {
    expect(planKvReuse([1, 2, 3], [1, 2, 3, 4, 5])).toEqual({ reuse: true, reusedTokens: 3 });
  });

  it('resets when the history diverges anywhere, even in the first token', () => {
    expect(planKvReuse([1, 2, 3], [9, 2, 3, 4])).toEqual({ reuse: false, reason: 'diverged' });
    expect(planKvReuse([1, 2, 3], [1, 2, 9, 4])).toEqual({ reuse: false, reason: 'diverged' });
  });

  it('resets when nothing new would be computed or there is no cache', () => {
    expect(planKvReuse([1, 2, 3], [1, 2, 3])).toEqual({ reuse: false, reason: 'not-shorter' });
    expect(planKvReuse([1, 2, 3, 4], [1, 2])).toEqual({ reuse: false, reason: 'not-shorter' });
    expect(planKvReuse(null, [1])).toEqual({ reuse: false, reason: 'empty' });
    expect(planKvReuse([], [1])).toEqual({ reuse: false, reason: 'empty' });
  });
});

describe('continuePromptIds', () => {
  const encode = (s: string) => [...s].map((c) => c.charCodeAt(0));

  it("keeps the reply's own token ids when the conversation only grew, matching the reply trimmed as templates do", () => {
    const turn = { promptText: '<u>hi<a>', replyText: ' yo ', ids: [1, 2, 3, 4] };
    expect(continuePromptIds(turn, '<u>hi<a>yo<e><u>more<a>', encode)).toEqual([1, 2, 3, 4, ...encode('<e><u>more<a>')]);
  });

  it('re-encodes everything when the history changed or there is no previous turn', () => {
    const turn = { promptText: '<u>hi<a>', replyText: 'yo', ids: [1, 2, 3] };
    expect(continuePromptIds(turn, '<u>HI<a>yo<e>', encode)).toEqual(encode('<u>HI<a>yo<e>'));
    expect(continuePromptIds(null, 'abc', encode)).toEqual(encode('abc'));
  });
});
