import { describe, expect, it } from 'vitest';
import { POST_COMPOSITION_GRACE_MS, shouldSendOnKeyDown } from './ime.ts';

const enter = { key: 'Enter', shiftKey: false, isComposing: false, keyCode: 13 };
const idle = { composing: false, endedAtMs: null };

describe('shouldSendOnKeyDown', () => {
  it('sends on plain Enter only', () => {
    expect(shouldSendOnKeyDown(enter, idle, 0)).toBe(true);
    expect(shouldSendOnKeyDown({ ...enter, shiftKey: true }, idle, 0)).toBe(false);
    expect(shouldSendOnKeyDown({ ...enter, key: 'a', keyCode: 65 }, idle, 0)).toBe(false);
  });

  it('never sends while an IME composes', () => {
    expect(shouldSendOnKeyDown({ ...enter, isComposing: true }, idle, 0)).toBe(false);
    expect(shouldSendOnKeyDown({ ...enter, keyCode: 229 }, idle, 0)).toBe(false);
    expect(shouldSendOnKeyDown(enter, { composing: true, endedAtMs: null }, 0)).toBe(false);
  });

  it('ignores the Enter that arrives right after compositionend, not later ones', () => {
    expect(shouldSendOnKeyDown(enter, { composing: false, endedAtMs: 1000 }, 1000 + 5)).toBe(false);
    expect(shouldSendOnKeyDown(enter, { composing: false, endedAtMs: 1000 }, 1000 + POST_COMPOSITION_GRACE_MS)).toBe(true);
  });
});
