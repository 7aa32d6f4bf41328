import { describe, expect, it } from 'vitest';
import { TextDeltaStream } from './text-stream.ts';

/** A byte-level "tokenizer": every id is one byte of UTF-8, as BPE can split a syllable. */
const bytes = (text: string) => [...new TextEncoder().encode(text)];
const decodeBytes = (ids: number[]) => new TextDecoder().decode(Uint8Array.from(ids));

describe('TextDeltaStream', () => {
  it('never emits half a Hangul syllable and reassembles the reply exactly', () => {
    const reply = '안녕하세요, Hanmadi입니다!';
    const stream = new TextDeltaStream(decodeBytes);
    const deltas = bytes(reply).map((b) => stream.push([b]));
    deltas.push(stream.flush());
    expect(deltas.join('')).toBe(reply);
    expect(deltas.every((d) => !d.includes('\uFFFD'))).toBe(true);
    // '안' is 3 bytes: nothing after the first two, the whole syllable with the third.
    expect(deltas.slice(0, 3)).toEqual(['', '', '안']);
  });

  it('flushes an incomplete tail at the end instead of dropping it', () => {
    const stream = new TextDeltaStream(decodeBytes);
    expect(stream.push(bytes('가').slice(0, 2))).toBe('');
    expect(stream.flush()).toBe('\uFFFD');
  });
});
