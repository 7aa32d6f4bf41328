/**
 * The engine's context budget with the fixture's real Llama-3 tokenizer and chat template
 * (transformers.js in Node): per-message counts add up to the tokens of the whole rendered prompt,
 * the overflow policy drops whole oldest turns and the kept prompt really has the planned size,
 * and templates that rewrite contents still count exactly.
 */
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS_DIR } from '../testing/fixture-specs.ts';
import { ContextBudgetError } from '../model/context-budget.ts';
import { renderPrompt } from './chat-prompt.ts';
import { countMessages, decideContext, groupTurns, PieceCounter, splitRendered, type RenderPrompt } from './context-window.ts';
import type { ChatMessage } from './protocol.ts';

let tokenizer: PreTrainedTokenizer;
let render: RenderPrompt;
const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false });

// Without an id, as the app sends it (chat-actions' promptMessages): the system prompt is keyed by its text.
const SYSTEM: ChatMessage = { role: 'system', content: 'You are Hanmadi, a helpful bilingual assistant. 한국어로도 답해요.' };
const conversation: ChatMessage[] = [
  SYSTEM,
  { role: 'user', content: '  안녕하세요! 오늘 서울 날씨 어때요?  ', id: 'u1' },
  { role: 'assistant', content: '맑고 따뜻해요. Light layers are perfect.\n', id: 'a1' },
  { role: 'user', content: '그럼 내일 부산은요? Will it rain?', id: 'u2' },
  { role: 'assistant', content: '비가 올 수 있어요.', id: 'a2' },
  { role: 'user', content: '고마워요! Which dishes should I try?', id: 'u3' },
];

beforeAll(async () => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = FIXTURE_MODELS_DIR + '/';
  tokenizer = await AutoTokenizer.from_pretrained('tiny-llama-ctx64');
  render = (messages, continueFinal) => renderPrompt(tokenizer, messages, continueFinal);
});

describe('groupTurns', () => {
  it('keeps leading system messages apart and starts a turn at each user message', () => {
    expect(groupTurns(conversation)).toEqual({
      system: [0],
      turns: [
        { id: 'u1', indices: [1, 2] },
        { id: 'u2', indices: [3, 4] },
        { id: 'u3', indices: [5] },
      ],
    });
    // Two user messages in a row (a failed reply left nothing), and messages without ids.
    expect(
      groupTurns([
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: 'c' },
      ]),
    ).toEqual({
      system: [],
      turns: [
        { id: '#0', indices: [0] },
        { id: '#1', indices: [1, 2] },
      ],
    });
  });
});

describe('per-message token counts', () => {
  it('add up to exactly the tokens of the whole rendered prompt (with and without a system prompt, and continuing a reply)', () => {
    const cases: [ChatMessage[], boolean][] = [
      [conversation, false],
      [conversation.slice(1), false],
      [[...conversation.slice(0, 5)], true],
      [[SYSTEM, { role: 'user', content: '', id: 'draft' }], false],
    ];
    for (const [messages, continueFinal] of cases) {
      const split = splitRendered(render, messages, continueFinal);
      expect(split).not.toBeNull();
      expect(split!.pieces.join('') + split!.tail).toBe(render(messages, continueFinal));
      const counter = new PieceCounter(encode);
      const { perMessage, tail } = countMessages(render, counter, messages, continueFinal);
      const total = perMessage.reduce((a, b) => a + b, 0) + tail;
      expect(total).toBe(encode(render(messages, continueFinal)).length);
      expect(perMessage.every((n) => n > 0) || messages.some((m) => m.content === '')).toBe(true);
    }
  });

  it('counts exactly through prefixes when a template rewrites contents', () => {
    const shouting: RenderPrompt = (messages) => messages.map((m) => `<${m.role}>${m.content.toUpperCase()}</${m.role}>`).join('') + '<assistant>';
    const chars = new PieceCounter((text) => Array.from(text, (c) => c.charCodeAt(0)));
    expect(splitRendered(shouting, conversation, false)).toBeNull();
    const { perMessage, tail } = countMessages(shouting, chars, conversation, false);
    expect(perMessage.reduce((a, b) => a + b, 0) + tail).toBe(shouting(conversation, false).length);
    expect(perMessage[1]).toBe('<user>  안녕하세요! 오늘 서울 날씨 어때요?  </user>'.length);
  });
});

describe('decideContext', () => {
  const tokensOf = (messages: ChatMessage[]) => encode(render(messages, false)).length;

  it('sends everything that fits, and drops whole oldest turns (keeping the system prompt) when it does not', () => {
    const counter = new PieceCounter(encode);
    const all = tokensOf(conversation);
    const roomy = decideContext(render, counter, { messages: conversation, continueFinal: false, window: 4096, maxNewTokens: 16 }, null);
    expect([roomy.use.promptTokens, roomy.use.droppedTurns, roomy.kept]).toEqual([all, 0, conversation]);

    // A window where the full prompt plus 8 reply tokens is 1 token too many: turn 1 goes, then
    // the headroom (window / 8) cannot take turn 2 as well without dropping the latest message.
    const withoutFirst = [SYSTEM, ...conversation.slice(3)];
    const window = all + 8 - 1;
    expect(tokensOf(withoutFirst) + 8 + Math.floor(window / 8)).toBeLessThanOrEqual(window); // the headroom fits
    const tight = decideContext(render, counter, { messages: conversation, continueFinal: false, window, maxNewTokens: 8 }, null);
    expect(tight.kept).toEqual(withoutFirst);
    expect(tight.use).toMatchObject({ droppedMessageIds: ['u1', 'a1'], droppedTurns: 1, replyTokens: 8, kvReuse: 'reset' });
    // The plan's count is the real prompt's.
    expect(tight.use.promptTokens).toBe(tokensOf(withoutFirst));

    // The next turn continues from the same start: the KV cache can extend.
    const next = [...conversation, { role: 'assistant' as const, content: '부산 어묵이요.', id: 'a3' }, { role: 'user' as const, content: '또요?', id: 'u4' }];
    const sticky = decideContext(render, counter, { messages: next, continueFinal: false, window: window + 12, maxNewTokens: 8 }, tight.plan);
    expect([sticky.use.kvReuse, sticky.use.droppedMessageIds]).toEqual(['extend', ['u1', 'a1']]);
    // Without ids there is no previous plan to continue: planned from scratch.
    const anonymous = next.map(({ role, content }) => ({ role, content }));
    expect(decideContext(render, counter, { messages: anonymous, continueFinal: false, window: window + 12, maxNewTokens: 8 }, tight.plan).use.kvReuse).toBe(
      'reset',
    );
  });

  it('refuses a latest message that cannot fit even alone', () => {
    const long: ChatMessage[] = [SYSTEM, { role: 'user', content: '서울 날씨 '.repeat(60), id: 'x' }];
    let error: unknown;
    try {
      decideContext(render, new PieceCounter(encode), { messages: long, continueFinal: false, window: 128, maxNewTokens: 8 }, null);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContextBudgetError);
    expect((error as ContextBudgetError).code).toBe('message-too-long');
    expect((error as ContextBudgetError).neededTokens).toBeGreaterThan(128);
  });

  it('reserves at most half the window for the reply', () => {
    const short: ChatMessage[] = [{ role: 'user', content: 'hi', id: 'h' }];
    expect(
      decideContext(render, new PieceCounter(encode), { messages: short, continueFinal: false, window: 64, maxNewTokens: 512 }, null).use.replyTokens,
    ).toBe(32);
  });
});
