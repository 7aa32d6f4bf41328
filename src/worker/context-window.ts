/**
 * The context budget of a conversation with the loaded model's own tokenizer and chat template:
 * how many tokens each message takes, and which whole oldest turns the overflow policy
 * (src/model/context-budget.ts planContext) leaves out. The engine runs it before every reply and
 * for the composer's live count, so the count shown while typing is what sending will do.
 *
 * Per-message counts without re-tokenizing the whole conversation on every keystroke: the
 * conversation is rendered once with a unique marker in place of each message's content, which
 * gives the template's own text between contents; each message's piece is the template text
 * before it plus its content. Pieces end where a content ends, so for templates that close every
 * message with a special token (Llama 3, Kanana, EXAONE) tokenizing the pieces one by one gives
 * exactly the tokens of the whole prompt, and each piece's count is cached (only the draft's piece
 * is new while typing). The skeleton filled with the real contents must equal the real rendering;
 * when it does not (a template that rewrites content), counts come from tokenizing growing
 * prefixes instead (exact, slower). Either way the engine checks the real prompt ids against the
 * window before generating.
 */
import { ContextBudgetError, planContext, replyReservation, type BudgetPlan } from '../model/context-budget.ts';
import type { ChatMessage, ContextUse } from './protocol.ts';

/** Renders a conversation as the engine does (chat-prompt.ts renderPrompt). */
export type RenderPrompt = (messages: ChatMessage[], continueFinal: boolean) => string;

export interface ConversationTurn {
  id: string;
  /** Indices into the conversation's messages. */
  indices: number[];
}

/** Leading system messages, then a turn per user message with the replies that follow it. */
export function groupTurns(messages: readonly ChatMessage[]): { system: number[]; turns: ConversationTurn[] } {
  const system: number[] = [];
  const turns: ConversationTurn[] = [];
  messages.forEach((message, index) => {
    if (message.role === 'system' && turns.length === 0) system.push(index);
    else if (message.role === 'user' || turns.length === 0) turns.push({ id: message.id ?? `#${index}`, indices: [index] });
    else turns[turns.length - 1].indices.push(index);
  });
  return { system, turns };
}

/** A marker no chat template produces or trims, unique per message. */
const marker = (i: number) => `\u0001hanmadi-${i}\u0002`;

/**
 * The rendered prompt cut into one piece per message (the template text since the previous
 * content, then this content) and the tail after the last content; null when the template does
 * not insert contents as they are (trimmed or not).
 */
export function splitRendered(
  render: RenderPrompt,
  messages: readonly ChatMessage[],
  continueFinal: boolean,
): { text: string; pieces: string[]; tail: string } | null {
  const plain = (m: ChatMessage, content: string): ChatMessage => ({ role: m.role, content });
  const text = render(
    messages.map((m) => plain(m, m.content)),
    continueFinal,
  );
  let skeleton: string;
  try {
    skeleton = render(
      messages.map((m, i) => plain(m, marker(i))),
      continueFinal,
    );
  } catch {
    return null;
  }
  for (const trim of [true, false]) {
    const pieces: string[] = [];
    let at = 0;
    let ok = true;
    for (let i = 0; i < messages.length && ok; i++) {
      const found = skeleton.indexOf(marker(i), at);
      if (found < 0) ok = false;
      else {
        pieces.push(skeleton.slice(at, found) + (trim ? messages[i].content.trim() : messages[i].content));
        at = found + marker(i).length;
      }
    }
    if (!ok) return null;
    const tail = skeleton.slice(at);
    if (pieces.join('') + tail === text) return { text, pieces, tail };
  }
  return null;
}

/** Token counts of text pieces, cached by piece (per tokenizer: make one per loaded model). */
export class PieceCounter {
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly encode: (text: string) => number[],
    private readonly capacity = 4096,
  ) {}

  count(piece: string): number {
    if (piece === '') return 0;
    let tokens = this.cache.get(piece);
    if (tokens === undefined) {
      tokens = this.encode(piece).length;
      if (this.cache.size >= this.capacity) this.cache.clear(); // rare: a long session; recounting is cheap
      this.cache.set(piece, tokens);
    }
    return tokens;
  }
}

/** Tokens per message and of the tail (generation prompt), in the conversation's order. */
export function countMessages(
  render: RenderPrompt,
  counter: PieceCounter,
  messages: readonly ChatMessage[],
  continueFinal: boolean,
): { perMessage: number[]; tail: number } {
  const split = splitRendered(render, messages, continueFinal);
  if (split) return { perMessage: split.pieces.map((p) => counter.count(p)), tail: counter.count(split.tail) };
  // A template that rewrites contents: differences of growing prefixes (without a generation prompt).
  const prefixTokens = (n: number) => {
    if (n === 0) return 0;
    try {
      return counter.count(render(messages.slice(0, n) as ChatMessage[], false));
    } catch {
      return 0; // e.g. a template that refuses a conversation starting with an assistant message
    }
  };
  const perMessage: number[] = [];
  let before = 0;
  for (let i = 1; i <= messages.length; i++) {
    const now = prefixTokens(i);
    perMessage.push(Math.max(0, now - before));
    before = now;
  }
  return { perMessage, tail: Math.max(0, counter.count(render(messages as ChatMessage[], continueFinal)) - before) };
}

export interface ContextRequest {
  messages: readonly ChatMessage[];
  continueFinal: boolean;
  window: number;
  maxNewTokens: number;
}

export interface ContextDecision {
  plan: BudgetPlan;
  /** The messages to render: the system prompt and the kept turns. */
  kept: ChatMessage[];
  use: ContextUse;
}

/**
 * When turns must be dropped, an eighth of the window more is freed, so the following turns
 * extend the KV cache from the same start instead of dropping (and resetting it) every turn.
 */
export const headroomFor = (window: number) => Math.floor(window / 8);

/**
 * Whether the previous plan may continue: only when every turn's message carries its stored id.
 * The system prompt needs none (the app sends it without one): the plan's systemKey is its text.
 */
export const hasIds = (messages: readonly ChatMessage[]) => messages.every((m) => m.role === 'system' || (typeof m.id === 'string' && m.id !== ''));

/**
 * Plans what to send. Throws ContextBudgetError ('message-too-long', 'system-prompt-too-long')
 * when even the latest turn alone cannot fit.
 */
export function decideContext(render: RenderPrompt, counter: PieceCounter, request: ContextRequest, previous: BudgetPlan | null): ContextDecision {
  const { messages, window } = request;
  const { system, turns } = groupTurns(messages);
  if (turns.length === 0) throw new ContextBudgetError('invalid-input', 'There is no message to send.');
  const { perMessage, tail } = countMessages(render, counter, messages, request.continueFinal);
  const sum = (indices: number[]) => indices.reduce((total, i) => total + perMessage[i], 0);
  const replyTokens = replyReservation(window, request.maxNewTokens);
  const plan = planContext(
    {
      systemTokens: sum(system),
      systemKey: system.map((i) => messages[i].content).join('\u0000'),
      turns: turns.map((t) => ({ id: t.id, tokens: sum(t.indices) })),
      generationPromptTokens: tail,
      window,
      replyTokens,
      headroomTokens: headroomFor(window),
    },
    hasIds(messages) ? previous : null,
  );
  const keptTurns = turns.slice(plan.firstKept);
  const dropped = turns.slice(0, plan.firstKept);
  const kept = [...system, ...keptTurns.flatMap((t) => t.indices)].map((i) => messages[i]);
  const droppedMessageIds = dropped.flatMap((t) => t.indices.map((i) => messages[i].id)).filter((id): id is string => id !== undefined);
  return {
    plan,
    kept,
    use: { window, promptTokens: plan.promptTokens, replyTokens, droppedMessageIds, droppedTurns: dropped.length, kvReuse: plan.kvReuse },
  };
}
