import { describe, expect, it } from 'vitest';
import { IME_PROCESS_KEY, shouldSendOnKeyDown } from './ime.ts';

const enter = { key: 'Enter', shiftKey: false, isComposing: false, keyCode: 13 };

describe('shouldSendOnKeyDown', () => {
  it('sends on plain Enter only', () => {
    expect(shouldSendOnKeyDown(enter, false)).toBe(true);
    expect(shouldSendOnKeyDown({ ...enter, shiftKey: true }, false)).toBe(false);
    expect(shouldSendOnKeyDown({ ...enter, key: 'a', keyCode: 65 }, false)).toBe(false);
  });

  it('never sends while an IME composes (Chrome: isComposing; our own composition tracking)', () => {
    expect(shouldSendOnKeyDown({ ...enter, isComposing: true }, false)).toBe(false);
    expect(shouldSendOnKeyDown(enter, true)).toBe(false);
  });

  it('ignores the Enter Safari delivers right after compositionend (keyCode 229, isComposing false)', () => {
    expect(shouldSendOnKeyDown({ ...enter, keyCode: IME_PROCESS_KEY }, false)).toBe(false);
  });
});
