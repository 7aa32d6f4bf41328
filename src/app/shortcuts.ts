/**
 * Keyboard shortcuts, matched on `event.code` for letters: with a Korean IME on, the O key
 * reports `key` 'ㅐ', but its code stays 'KeyO'. Keys typed into a field (/, ?) only count
 * outside editable elements; nothing fires while an IME composes.
 */
export type ShortcutId = 'new-chat' | 'search' | 'focus-composer' | 'stop' | 'help';

export interface KeyInfo {
  key: string;
  code: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  isComposing: boolean;
  /** The event's target is a text field, select or contenteditable. */
  inEditable: boolean;
}

export function matchShortcut(k: KeyInfo): ShortcutId | null {
  if (k.isComposing || k.altKey) return null;
  const mod = k.ctrlKey || k.metaKey;
  if (mod && k.shiftKey && k.code === 'KeyO') return 'new-chat';
  if (mod && !k.shiftKey && k.code === 'KeyK') return 'search';
  if (mod && k.code === 'Slash') return 'help';
  if (k.key === 'Escape' && !mod) return k.shiftKey ? 'focus-composer' : 'stop';
  if (!mod && !k.inEditable && k.key === '/') return 'focus-composer';
  if (!mod && !k.inEditable && k.key === '?') return 'help';
  return null;
}

export function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'submit', 'reset', 'file', 'range', 'color'].includes(target.type);
}

/** What the help dialog lists: key combinations (mod = Ctrl, or ⌘ on Apple devices) and i18n ids. */
export const SHORTCUT_LIST: { keys: string[][]; label: 'newChat' | 'search' | 'focusComposer' | 'send' | 'newline' | 'stop' | 'help' }[] = [
  { keys: [['mod', 'Shift', 'O']], label: 'newChat' },
  { keys: [['mod', 'K']], label: 'search' },
  { keys: [['/'], ['Shift', 'Esc']], label: 'focusComposer' },
  { keys: [['Enter']], label: 'send' },
  { keys: [['Shift', 'Enter']], label: 'newline' },
  { keys: [['Esc']], label: 'stop' },
  { keys: [['?'], ['mod', '/']], label: 'help' },
];
