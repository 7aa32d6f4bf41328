/**
 * A document's tokens from two counts of the engine (count-context): a user turn holding only the
 * document, and an empty user turn, both with a 1-token reply reservation. Their difference is the
 * document's share of the prompt, whether or not it fits the window: a count that does not fit
 * gives the message's tokens directly and, through what the window left it, the fixed part.
 */
import type { ContextCount } from '../../worker/protocol.ts';

export function attachmentTokens(withDocument: ContextCount, empty: ContextCount): number | undefined {
  if (!empty.fits) return undefined; // an empty turn that does not fit: a window too small for anything
  if (withDocument.fits) return withDocument.promptTokens - empty.promptTokens;
  if (withDocument.code !== 'message-too-long') return undefined;
  // Fixed part (system prompt + generation prompt) = window − room left for the message − the 1-token reservation.
  const fixed = withDocument.window - withDocument.availableTokens - 1;
  return withDocument.neededTokens - (empty.promptTokens - fixed);
}
