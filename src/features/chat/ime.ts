/**
 * When Enter in the composer sends. Korean (and other) IMEs commit text with Enter: Chrome fires
 * keydown Enter with isComposing true (keyCode 229) during composition, and Safari fires one more
 * keydown right after compositionend, with isComposing false but keyCode still 229. None of those
 * may send; composition state is also tracked from the composition events themselves.
 */
export interface ComposerKey {
  key: string;
  shiftKey: boolean;
  isComposing: boolean;
  keyCode: number;
}

/** keyCode browsers report for any key the IME consumed. */
export const IME_PROCESS_KEY = 229;

export function shouldSendOnKeyDown(event: ComposerKey, composing: boolean): boolean {
  if (event.key !== 'Enter' || event.shiftKey) return false;
  return !(event.isComposing || event.keyCode === IME_PROCESS_KEY || composing);
}
