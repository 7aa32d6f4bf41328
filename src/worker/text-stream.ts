/**
 * Turns generated token ids into text deltas for streaming. A Korean syllable is three UTF-8
 * bytes and byte-level BPE may split it across tokens, so decoding token by token would show
 * U+FFFD fragments; instead the whole reply is decoded and only text that can no longer change
 * is emitted (everything before a trailing replacement character).
 */
export class TextDeltaStream {
  private ids: number[] = [];
  private emitted = '';

  constructor(private readonly decode: (ids: number[]) => string) {}

  /** Adds tokens; returns the newly stable text ('' when nothing is stable yet). */
  push(tokenIds: readonly number[]): string {
    this.ids.push(...tokenIds);
    return this.take(false);
  }

  /** Ends the stream: whatever is left, incomplete characters included, is emitted. */
  flush(): string {
    return this.take(true);
  }

  get text(): string {
    return this.emitted;
  }

  get tokenIds(): readonly number[] {
    return this.ids;
  }

  private take(final: boolean): string {
    let text = this.decode(this.ids);
    if (!final) {
      const incomplete = text.search(/\uFFFD+$/);
      if (incomplete >= 0) text = text.slice(0, incomplete);
    }
    // Decoding more tokens can rewrite the tail (e.g. cleanup of spaces before punctuation);
    // only a strict extension of what was shown is emitted, the rest waits for the next token.
    if (!text.startsWith(this.emitted)) return '';
    const delta = text.slice(this.emitted.length);
    this.emitted = text;
    return delta;
  }
}
