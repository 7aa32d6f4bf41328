/**
 * Which part of a conversation fits the context window. Pure: the caller measures token counts
 * with the real tokenizer and chat template, and this decides what to send.
 *
 * Policy: the system prompt always stays; whole turns (a user message with its assistant reply)
 * are dropped oldest first until the prompt plus the reply reservation fits the window; the
 * latest user message is never dropped, and when it cannot fit even alone that is a typed error
 * ('message-too-long'). The plan says what was dropped, so the UI can say so.
 *
 * KV reuse: the kept history is always an exact suffix of the turns, so the token prefix only
 * changes when turns are dropped (or history/system prompt is edited). Pass the previous plan and
 * the new one says `kvReuse: 'extend'` (the cache holds a prefix of this prompt: feed only what
 * follows) or 'reset' (clear the cache and prefill the whole prompt). With a previous plan the
 * start of the kept history is sticky: turns are only dropped when the conversation no longer
 * fits from there, and then `headroomTokens` more are freed, so the next turns can extend the
 * cache again instead of resetting it every turn.
 *
 * Token accounting (additive, which holds for Llama-3's template where every message is closed by
 * special tokens): prompt = systemTokens (BOS + rendered system message, 0 without one) + Σ kept
 * turns' tokens (rendered user message + rendered reply, if any) + generationPromptTokens (the
 * assistant header that opens the reply).
 */

export interface BudgetTurn {
  /** Stable id (e.g. the user message's id): how a later plan recognises the same history. */
  id: string;
  /** Rendered tokens of the user message plus its assistant reply, if any. */
  tokens: number;
}

export interface BudgetRequest {
  systemTokens: number;
  /** Identifies the system prompt's content: a different key means the prefix changed. */
  systemKey?: string;
  /** Oldest first; the last is the latest user message (usually without a reply yet). */
  turns: readonly BudgetTurn[];
  generationPromptTokens: number;
  /** The context length. */
  window: number;
  /** Tokens reserved for the reply (max new tokens). */
  replyTokens: number;
  /** When turns must be dropped, free this many tokens more than needed (default 0). */
  headroomTokens?: number;
}

export interface BudgetPlan {
  /** The turns to send are turns.slice(firstKept). */
  firstKept: number;
  keptIds: string[];
  /** All turns left out, oldest first. */
  droppedIds: string[];
  /** Turns left out by this plan that the previous plan still sent (what to tell the user now). */
  newlyDroppedIds: string[];
  /** Prompt tokens: system + kept turns + generation prompt. */
  promptTokens: number;
  window: number;
  replyTokens: number;
  /** window − promptTokens − replyTokens (≥ 0). */
  freeTokens: number;
  /** 'extend': the previous plan's prompt is a prefix of this one; 'reset': it is not (or there was none). */
  kvReuse: 'extend' | 'reset';
  systemKey?: string;
}

export type ContextBudgetErrorCode = 'invalid-input' | 'system-prompt-too-long' | 'message-too-long';

export class ContextBudgetError extends Error {
  constructor(
    readonly code: ContextBudgetErrorCode,
    message: string,
    /** Tokens the latest message (or the system prompt) needs, and the tokens it may have. */
    readonly neededTokens = 0,
    readonly availableTokens = 0,
  ) {
    super(message);
    this.name = 'ContextBudgetError';
  }
}

const isCount = (n: number) => Number.isInteger(n) && n >= 0;

function validate(request: BudgetRequest): void {
  const counts = [
    request.systemTokens,
    request.generationPromptTokens,
    request.replyTokens,
    request.headroomTokens ?? 0,
    ...request.turns.map((t) => t.tokens),
  ];
  if (!counts.every(isCount) || !(Number.isInteger(request.window) && request.window > 0)) {
    throw new ContextBudgetError('invalid-input', 'Token counts must be whole numbers ≥ 0 and the window a positive whole number.');
  }
  if (request.turns.length === 0) throw new ContextBudgetError('invalid-input', 'There is no message to send.');
  if (new Set(request.turns.map((t) => t.id)).size !== request.turns.length) throw new ContextBudgetError('invalid-input', 'Turn ids must be unique.');
}

/**
 * Where the previous plan's kept history starts in `turns`, if this request continues it: same
 * system prompt, and its kept turns still in place in the same order (later turns may follow).
 */
function continuedStart(request: BudgetRequest, previous: BudgetPlan | null | undefined): number | null {
  if (!previous || previous.systemKey !== request.systemKey || previous.keptIds.length === 0) return null;
  const start = request.turns.findIndex((t) => t.id === previous.keptIds[0]);
  if (start < 0 || start + previous.keptIds.length > request.turns.length) return null;
  return previous.keptIds.every((id, i) => request.turns[start + i].id === id) ? start : null;
}

/** Decides what to send; throws ContextBudgetError when even the latest message alone cannot fit. */
export function planContext(request: BudgetRequest, previous?: BudgetPlan | null): BudgetPlan {
  validate(request);
  const { turns, window, replyTokens } = request;
  const fixed = request.systemTokens + request.generationPromptTokens;
  const budget = window - replyTokens - fixed; // tokens the turns may take
  // suffix[i] = tokens of turns i..end
  const suffix = new Array<number>(turns.length + 1).fill(0);
  for (let i = turns.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + turns[i].tokens;

  const latest = turns[turns.length - 1];
  if (budget <= 0) {
    throw new ContextBudgetError(
      'system-prompt-too-long',
      `The system prompt (${request.systemTokens} tokens) and the ${replyTokens}-token reply reservation leave no room for a message in the ${window}-token window.`,
      fixed + replyTokens,
      window,
    );
  }
  if (latest.tokens > budget) {
    throw new ContextBudgetError(
      'message-too-long',
      `This message is ${latest.tokens} tokens; at most ${budget} fit in the ${window}-token window after the system prompt and the reply reservation.`,
      latest.tokens,
      budget,
    );
  }

  const continued = continuedStart(request, previous);
  const start = continued ?? 0;
  let firstKept = start;
  if (suffix[start] > budget) {
    // Drop oldest first until it fits with the headroom, but never the latest message.
    const target = Math.max(0, budget - (request.headroomTokens ?? 0));
    firstKept = start + 1;
    while (firstKept < turns.length - 1 && suffix[firstKept] > target) firstKept++;
    while (suffix[firstKept] > budget) firstKept++; // headroom unreachable: the plain fit suffices
  }

  const keptIds = turns.slice(firstKept).map((t) => t.id);
  const droppedIds = turns.slice(0, firstKept).map((t) => t.id);
  const previousKept = new Set(previous?.keptIds ?? []);
  const promptTokens = fixed + suffix[firstKept];
  return {
    firstKept,
    keptIds,
    droppedIds,
    newlyDroppedIds: droppedIds.filter((id) => previousKept.has(id)),
    promptTokens,
    window,
    replyTokens,
    freeTokens: window - replyTokens - promptTokens,
    kvReuse: continued !== null && firstKept === continued ? 'extend' : 'reset',
    systemKey: request.systemKey,
  };
}

/** Tokens kept free for the reply: max new tokens, but never more than half the window. */
export const replyReservation = (window: number, maxNewTokens: number) => Math.max(1, Math.min(maxNewTokens, Math.floor(window / 2)));

/** A 'message-too-long' verdict: the latest message's tokens and what the window left it. */
export interface MessageOverflow {
  window: number;
  neededTokens: number;
  availableTokens: number;
  maxNewTokens: number;
}

/**
 * The smallest window in which the latest message fits alone (older turns may all be left out):
 * the verdict's window minus its room for the message is the fixed part (system prompt, template
 * text, the reply's reservation), and a longer window may reserve more for the reply.
 */
export function windowForMessage({ window, neededTokens, availableTokens, maxNewTokens }: MessageOverflow): number {
  const fixed = window - availableTokens - replyReservation(window, maxNewTokens); // system + generation prompt
  // tokens − replyReservation(tokens) never decreases as tokens grow: the first that holds is the least.
  let tokens = fixed + neededTokens + 1;
  while (fixed + neededTokens + replyReservation(tokens, maxNewTokens) > tokens) tokens++;
  return tokens;
}

/** The shortest offered length that holds `tokens` and the device can run; null when none does. */
export function shortestLengthHolding<T extends { tokens: number; refusal: unknown }>(options: readonly T[], tokens: number): T | null {
  return [...options].sort((a, b) => a.tokens - b.tokens).find((o) => o.tokens >= tokens && !o.refusal) ?? null;
}
