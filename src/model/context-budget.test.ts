import { describe, expect, it } from 'vitest';
import { ContextBudgetError, planContext, replyReservation, shortestLengthHolding, windowForMessage, type BudgetRequest } from './context-budget.ts';

/** system 20 + generation prompt 4 = 24 fixed tokens; turns a 30, b 40, c 10. */
const base: BudgetRequest = {
  systemTokens: 20,
  systemKey: 'sys-1',
  generationPromptTokens: 4,
  turns: [
    { id: 'a', tokens: 30 },
    { id: 'b', tokens: 40 },
    { id: 'c', tokens: 10 },
  ],
  window: 200,
  replyTokens: 50,
};

function budgetError(run: () => unknown): ContextBudgetError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ContextBudgetError);
    return error as ContextBudgetError;
  }
  throw new Error('expected a ContextBudgetError');
}

describe('planContext', () => {
  it('sends everything when it fits, and reports the tokens used', () => {
    // 20 + 30 + 40 + 10 + 4 = 104 prompt tokens; 200 − 104 − 50 = 46 free.
    expect(planContext(base)).toEqual({
      firstKept: 0,
      keptIds: ['a', 'b', 'c'],
      droppedIds: [],
      newlyDroppedIds: [],
      promptTokens: 104,
      window: 200,
      replyTokens: 50,
      freeTokens: 46,
      kvReuse: 'reset',
      systemKey: 'sys-1',
    });
  });

  it('keeps the system prompt and drops whole oldest turns until it fits', () => {
    // Turns may take 150 − 50 − 24 = 76: a+b+c = 80 does not fit, b+c = 50 does.
    const plan = planContext({ ...base, window: 150 });
    expect([plan.keptIds, plan.droppedIds, plan.promptTokens, plan.freeTokens]).toEqual([['b', 'c'], ['a'], 74, 26]);
    // 126 − 76 = 50 more reply tokens: only c fits (10 ≤ 26).
    expect(planContext({ ...base, window: 150, replyTokens: 100 }).keptIds).toEqual(['c']);
  });

  it('refuses a latest message that cannot fit even alone, and a system prompt that leaves no room', () => {
    const tooLong = budgetError(() => planContext({ ...base, window: 150, turns: [...base.turns, { id: 'd', tokens: 77 }] }));
    expect([tooLong.code, tooLong.neededTokens, tooLong.availableTokens]).toEqual(['message-too-long', 77, 76]);
    expect(tooLong.message).toMatch(/77 tokens; at most 76 fit in the 150-token window/);
    expect(planContext({ ...base, window: 150, turns: [...base.turns, { id: 'd', tokens: 76 }] }).keptIds).toEqual(['d']);
    const system = budgetError(() => planContext({ ...base, systemTokens: 146, window: 200 }));
    expect(system.code).toBe('system-prompt-too-long');
  });

  it('says when the KV cache can be extended and when it must be reset', () => {
    const first = planContext(base);
    // c got its 25-token reply, d is new: 30 + 40 + 35 + 10 = 115 ≤ 126, same prefix.
    const second = planContext(
      {
        ...base,
        turns: [
          { id: 'a', tokens: 30 },
          { id: 'b', tokens: 40 },
          { id: 'c', tokens: 35 },
          { id: 'd', tokens: 10 },
        ],
      },
      first,
    );
    expect([second.kvReuse, second.droppedIds]).toEqual(['extend', []]);
    // e (30) makes 145 > 126: a is dropped, the prefix changes.
    const turns3 = [
      { id: 'a', tokens: 30 },
      { id: 'b', tokens: 40 },
      { id: 'c', tokens: 35 },
      { id: 'd', tokens: 20 },
      { id: 'e', tokens: 30 },
    ];
    const third = planContext({ ...base, turns: turns3 }, second);
    expect([third.kvReuse, third.keptIds, third.newlyDroppedIds]).toEqual(['reset', ['b', 'c', 'd', 'e'], ['a']]);
    // Another system prompt, or an edited history, resets too.
    expect(planContext({ ...base, systemKey: 'sys-2' }, first).kvReuse).toBe('reset');
    expect(
      planContext(
        {
          ...base,
          turns: [
            { id: 'a', tokens: 30 },
            { id: 'c', tokens: 10 },
          ],
        },
        first,
      ).kvReuse,
    ).toBe('reset');
  });

  it('drops headroom beyond the need, then keeps its start while the conversation fits from there', () => {
    const turns = [
      { id: 'a', tokens: 30 },
      { id: 'b', tokens: 40 },
      { id: 'c', tokens: 35 },
      { id: 'd', tokens: 20 },
      { id: 'e', tokens: 30 },
    ];
    // 155 > 126; with 50 tokens of headroom the target is 76: b..e = 125 > 76, c..e = 85 > 76, d..e = 50.
    const dropped = planContext({ ...base, turns, headroomTokens: 50 });
    expect([dropped.keptIds, dropped.droppedIds, dropped.freeTokens]).toEqual([['d', 'e'], ['a', 'b', 'c'], 76]);
    // e gets a longer reply and f arrives: d..f = 20 + 45 + 20 = 85 still fits (≤ 126) from the same
    // start, so the cache extends; planning from scratch would drop to the target again (e..f = 65)
    // and reset the cache on every turn.
    const next = [...turns.slice(0, 4), { id: 'e', tokens: 45 }, { id: 'f', tokens: 20 }];
    const sticky = planContext({ ...base, turns: next, headroomTokens: 50 }, dropped);
    expect([sticky.kvReuse, sticky.keptIds, sticky.newlyDroppedIds]).toEqual(['extend', ['d', 'e', 'f'], []]);
    expect(planContext({ ...base, turns: next, headroomTokens: 50 }).keptIds).toEqual(['e', 'f']);
    // Headroom that cannot be reached keeps what fits without dropping the latest message.
    expect(planContext({ ...base, turns, headroomTokens: 1000 }).keptIds).toEqual(['e']);
  });

  it('refuses malformed input', () => {
    expect(budgetError(() => planContext({ ...base, turns: [] })).code).toBe('invalid-input');
    expect(budgetError(() => planContext({ ...base, turns: [{ id: 'a', tokens: -1 }] })).code).toBe('invalid-input');
    expect(
      budgetError(() =>
        planContext({
          ...base,
          turns: [
            { id: 'a', tokens: 1 },
            { id: 'a', tokens: 2 },
          ],
        }),
      ).code,
    ).toBe('invalid-input');
    expect(budgetError(() => planContext({ ...base, window: 0 })).code).toBe('invalid-input');
  });
});

describe('windowForMessage: the length a too-long message needs', () => {
  /** The verdict planContext gives for `message` tokens at `window`, as the engine reports it. */
  const verdict = (fixed: number, message: number, window: number, maxNewTokens: number) => {
    const request: BudgetRequest = {
      systemTokens: fixed - 4,
      generationPromptTokens: 4,
      turns: [
        { id: 'old', tokens: 300 },
        { id: 'latest', tokens: message },
      ],
      window,
      replyTokens: replyReservation(window, maxNewTokens),
    };
    try {
      planContext(request);
      return null;
    } catch (error) {
      return error as ContextBudgetError;
    }
  };

  it.each([
    [24, 500, 256, 64],
    [24, 500, 256, 4096],
    [4, 3000, 2048, 512],
    [31, 129, 64, 4],
    [10, 3, 24, 100],
  ])('fixed %i, message %i, window %i, max new %i: the least window in which planContext keeps the message', (fixed, message, window, maxNewTokens) => {
    const error = verdict(fixed, message, window, maxNewTokens);
    expect(error?.code).toBe('message-too-long');
    const needed = windowForMessage({ window, neededTokens: error!.neededTokens, availableTokens: error!.availableTokens, maxNewTokens });
    expect(verdict(fixed, message, needed, maxNewTokens)).toBeNull();
    expect(verdict(fixed, message, needed - 1, maxNewTokens)?.code).toMatch(/too-long/);
  });

  it('picks the shortest offered length at least that long which the device can run', () => {
    const options = [
      { tokens: 64, refusal: null },
      { tokens: 2048, refusal: { buffer: 'present-kv' } },
      { tokens: 128, refusal: null },
      { tokens: 4096, refusal: null },
    ];
    expect(shortestLengthHolding(options, 100)?.tokens).toBe(128);
    expect(shortestLengthHolding(options, 128)?.tokens).toBe(128);
    expect(shortestLengthHolding(options, 129)?.tokens).toBe(4096); // 2048 is refused
    expect(shortestLengthHolding(options, 5000)).toBeNull();
  });
});
