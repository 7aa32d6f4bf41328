import { describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, argmax, chooseToken, filterTopKTopP } from './sampling.ts';

const kept = (logits: Float32Array) => [...logits.keys()].filter((i) => logits[i] !== -Infinity);
const probs = (logits: number[]) => {
  const m = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

describe('filterTopKTopP', () => {
  it('top-k keeps the k best and ties at the boundary', () => {
    expect(kept(filterTopKTopP(Float32Array.from([1, 5, 3, 4, 2]), 2, 1))).toEqual([1, 3]);
    expect(kept(filterTopKTopP(Float32Array.from([1, 5, 4, 4, 2]), 2, 1))).toEqual([1, 2, 3]);
    expect(kept(filterTopKTopP(Float32Array.from([1, 2]), 0, 1))).toEqual([0, 1]);
  });

  it('top-p keeps the smallest best-first set whose mass reaches p', () => {
    // probabilities 0.5, 0.3, 0.15, 0.05 (logits are their logs)
    const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
    expect(kept(filterTopKTopP(Float32Array.from(logits), 0, 0.5))).toEqual([0]);
    expect(kept(filterTopKTopP(Float32Array.from(logits), 0, 0.6))).toEqual([0, 1]);
    expect(kept(filterTopKTopP(Float32Array.from(logits), 0, 0.8))).toEqual([0, 1]);
    expect(kept(filterTopKTopP(Float32Array.from(logits), 0, 0.81))).toEqual([0, 1, 2]);
    expect(kept(filterTopKTopP(Float32Array.from(logits), 0, 0.01))).toEqual([0]);
  });

  it('applies top-p to the renormalised top-k distribution, as HF does', () => {
    const logits = [0.4, 0.3, 0.2, 0.1].map(Math.log);
    // After top-2: 0.4/0.7 ≈ 0.571 and 0.429; p = 0.55 needs only the first.
    expect(kept(filterTopKTopP(Float32Array.from(logits), 2, 0.55))).toEqual([0]);
    // Without top-k, 0.4 < 0.55 so two tokens stay.
    expect(kept(filterTopKTopP(Float32Array.from(logits), 0, 0.55))).toEqual([0, 1]);
  });

  it('matches a brute-force definition on random logits', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 8 - 4;
    for (let trial = 0; trial < 50; trial++) {
      const logits = Array.from({ length: 40 }, rand);
      const k = trial % 3 === 0 ? 0 : 1 + (trial % 17);
      const p = 0.3 + (trial % 7) / 10;
      // brute force: rank, cut to k, renormalise, keep while the mass above is < p
      const ranked = logits.map((v, i) => ({ v, i })).sort((a, b) => b.v - a.v);
      const cut = k > 0 ? ranked.filter((x) => x.v >= ranked[k - 1].v) : ranked;
      const pr = probs(cut.map((x) => x.v));
      const expected: number[] = [];
      let above = 0;
      cut.forEach((x, r) => {
        if (above < p) expected.push(x.i);
        above += pr[r];
      });
      expect(kept(filterTopKTopP(Float32Array.from(logits), k, p))).toEqual(expected.sort((a, b) => a - b));
    }
  });
});

describe('argmax, repetition penalty and chooseToken', () => {
  it('argmax takes the first of equal maxima', () => {
    expect(argmax(Float32Array.from([1, 3, 3, 2]))).toBe(1);
  });

  it('penalizes each context token once: positive logits divided, negative multiplied', () => {
    const logits = applyRepetitionPenalty(Float32Array.from([2, -2, 1, 4]), [0, 1, 1, 9], 2);
    expect(Array.from(logits)).toEqual([1, -4, 1, 4]);
  });

  it('is greedy at temperature 0 and draws by probability otherwise', () => {
    expect(chooseToken(Float32Array.from([0, 5, 1]), { temperature: 0, topK: 0, topP: 1 }, () => 0.99)).toBe(1);
    // probabilities 0.5, 0.3, 0.2 at temperature 1: uniform 0.6 lands in the second token's share.
    const logits = () => Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    expect(chooseToken(logits(), { temperature: 1, topK: 0, topP: 1 }, () => 0.6)).toBe(1);
    expect(chooseToken(logits(), { temperature: 1, topK: 0, topP: 1 }, () => 0.1)).toBe(0);
    expect(chooseToken(logits(), { temperature: 1, topK: 0, topP: 1 }, () => 0.95)).toBe(2);
    // top-k 1 leaves only the best, whatever the draw.
    expect(chooseToken(logits(), { temperature: 1, topK: 1, topP: 1 }, () => 0.95)).toBe(0);
  });

  it('sharpens with a low temperature: the draw follows softmax(logits / T)', () => {
    // T = 0.5 squares the odds: 0.5² : 0.3² : 0.2² = 0.658 : 0.237 : 0.105.
    const logits = () => Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    expect(chooseToken(logits(), { temperature: 0.5, topK: 0, topP: 1 }, () => 0.65)).toBe(0);
    expect(chooseToken(logits(), { temperature: 0.5, topK: 0, topP: 1 }, () => 0.67)).toBe(1);
  });
});
