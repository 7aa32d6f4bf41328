/**
 * When Enter in the composer sends. Korean (and other) IMEs commit text with Enter: Chrome fires
 * keydown Enter with isComposing true (keyCode 229) during composition, and Safari/macOS fires
 * one more keydown right after compositionend. None of those may send.
 */
export interface ComposerKey {
  key: string;
  shiftKey: boolean;
  isComposing: boolean;
  keyCode: number;
}

/** compositionend and the keydown it provokes arrive within one event-loop turn; 50 ms is ample. */
export const POST_COMPOSITION_GRACE_MS = 50;

export function shouldSendOnKeyDown(event: ComposerKey, ime: { composing: boolean; endedAtMs: number | null }, nowMs: number): boolean {
  if (event.key !== 'Enter' || event.shiftKey) return false;
  if (event.isComposing || event.keyCode === 229 || ime.composing) return false;
  if (ime.endedAtMs !== null && nowMs - ime.endedAtMs < POST_COMPOSITION_GRACE_MS) return false;
  return true;
}
