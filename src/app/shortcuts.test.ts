import { describe, expect, it } from 'vitest';
import { matchShortcut, type KeyInfo } from './shortcuts.ts';

const key = (over: Partial<KeyInfo>): KeyInfo => ({
  key: '',
  code: '',
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  isComposing: false,
  inEditable: false,
  ...over,
});

describe('matchShortcut', () => {
  it('matches letters by physical key, so a Korean IME does not break them', () => {
    expect(matchShortcut(key({ key: 'O', code: 'KeyO', ctrlKey: true, shiftKey: true }))).toBe('new-chat');
    expect(matchShortcut(key({ key: 'ㅐ', code: 'KeyO', ctrlKey: true, shiftKey: true }))).toBe('new-chat');
    expect(matchShortcut(key({ key: 'ㅏ', code: 'KeyK', metaKey: true }))).toBe('search');
  });

  it('treats ⌘ like Ctrl and ignores Alt combinations', () => {
    expect(matchShortcut(key({ key: 'o', code: 'KeyO', metaKey: true, shiftKey: true }))).toBe('new-chat');
    expect(matchShortcut(key({ key: 'o', code: 'KeyO', ctrlKey: true, shiftKey: true, altKey: true }))).toBeNull();
    expect(matchShortcut(key({ key: 'o', code: 'KeyO', ctrlKey: true }))).toBeNull();
  });

  it('Esc stops everywhere, even in a text field; Shift+Esc focuses the composer', () => {
    expect(matchShortcut(key({ key: 'Escape', code: 'Escape', inEditable: true }))).toBe('stop');
    expect(matchShortcut(key({ key: 'Escape', code: 'Escape', shiftKey: true, inEditable: true }))).toBe('focus-composer');
  });

  it('/ and ? only outside text fields', () => {
    expect(matchShortcut(key({ key: '/', code: 'Slash' }))).toBe('focus-composer');
    expect(matchShortcut(key({ key: '/', code: 'Slash', inEditable: true }))).toBeNull();
    expect(matchShortcut(key({ key: '?', code: 'Slash', shiftKey: true }))).toBe('help');
    expect(matchShortcut(key({ key: '?', code: 'Slash', shiftKey: true, inEditable: true }))).toBeNull();
    expect(matchShortcut(key({ key: '/', code: 'Slash', ctrlKey: true, inEditable: true }))).toBe('help');
  });

  it('never fires while an IME composes', () => {
    expect(matchShortcut(key({ key: 'Escape', code: 'Escape', isComposing: true }))).toBeNull();
    expect(matchShortcut(key({ key: 'Process', code: 'KeyO', ctrlKey: true, shiftKey: true, isComposing: true }))).toBeNull();
  });
});
