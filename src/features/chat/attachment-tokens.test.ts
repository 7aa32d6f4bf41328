import { describe, expect, it } from 'vitest';
import { planContext, replyReservation, type BudgetRequest } from '../../model/context-budget.ts';
import type { ContextCount } from '../../worker/protocol.ts';
import { attachmentTokens } from './attachment-tokens.ts';

/** The engine's count for one user turn of `message` tokens (BOS etc. in `fixed`), as count-context answers it. */
function count(message: number, fixed: number, window: number): ContextCount {
  const request: BudgetRequest = {
    systemTokens: 0,
    generationPromptTokens: fixed,
    turns: [{ id: 'draft', tokens: message }],
    window,
    replyTokens: replyReservation(window, 1),
  };
  try {
    const plan = planContext(request);
    return { fits: true, window, promptTokens: plan.promptTokens, replyTokens: plan.replyTokens, droppedMessageIds: [], droppedTurns: 0, kvReuse: 'reset' };
  } catch (error) {
    const e = error as { neededTokens: number; availableTokens: number };
    return { fits: false, window, code: 'message-too-long', neededTokens: e.neededTokens, availableTokens: e.availableTokens };
  }
}

describe('attachmentTokens', () => {
  it('is the document turn less the empty turn, when it fits and when it does not', () => {
    // An empty user turn: 5 tokens of template; the document adds 120.
    expect(attachmentTokens(count(125, 4, 4096), count(5, 4, 4096))).toBe(120);
    expect(attachmentTokens(count(125, 4, 64), count(5, 4, 64))).toBe(120);
    expect(attachmentTokens(count(9000, 30, 256), count(5, 30, 256))).toBe(8995);
  });

  it('gives no number when not even an empty turn fits', () => {
    const tiny: ContextCount = { fits: false, window: 4, code: 'system-prompt-too-long', neededTokens: 9, availableTokens: 4 };
    expect(attachmentTokens(count(10, 4, 64), tiny)).toBeUndefined();
  });
});
