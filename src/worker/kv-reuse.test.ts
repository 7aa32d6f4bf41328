import { describe, expect, it } from 'vitest';
import { planKvReuse } from './kv-reuse.ts';

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
