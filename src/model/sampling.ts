/**
 * Choosing the next token from a row of logits, with Hugging Face's semantics and order: the
 * repetition penalty (a logits processor), then temperature, top-k and top-p (the warpers), then a
 * multinomial draw; greedy decoding is the argmax. The engine's decode loop runs these on the
 * logits it reads back (src/worker/decoder.ts).
 */

/** Index of the largest logit (the first one on ties, as torch.argmax and our reference do). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * HF's RepetitionPenaltyLogitsProcessor, in place: every token already in the context (prompt and
 * reply so far) has its logit divided by `penalty` when positive, multiplied when negative.
 */
export function applyRepetitionPenalty(logits: Float32Array, contextIds: Iterable<number>, penalty: number): Float32Array {
  if (penalty === 1) return logits;
  for (const id of new Set(contextIds)) {
    if (id < 0 || id >= logits.length) continue;
    const score = logits[id];
    logits[id] = score < 0 ? score * penalty : score / penalty;
  }
  return logits;
}

export interface SamplingChoice {
  /** 0 (or less) means greedy. */
  temperature: number;
  topK: number;
  topP: number;
}

/**
 * The next token: greedy (argmax) at temperature 0, else temperature, top-k, top-p and a draw
 * with `uniform` (a number in [0, 1)). Modifies `logits`.
 */
export function chooseToken(logits: Float32Array, choice: SamplingChoice, uniform: () => number): number {
  if (!(choice.temperature > 0)) return argmax(logits);
  for (let i = 0; i < logits.length; i++) logits[i] /= choice.temperature;
  filterTopKTopP(logits, choice.topK, choice.topP);
  const max = logits[argmax(logits)];
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i] - max);
  let target = uniform() * total;
  let last = 0;
  for (let i = 0; i < logits.length; i++) {
    const weight = Math.exp(logits[i] - max);
    if (weight === 0) continue;
    last = i;
    target -= weight;
    if (target < 0) return i;
  }
  return last; // rounding left a sliver of mass: the last kept token
}

/*
 * Top-k and top-p (nucleus) filtering (TopKLogitsWarper then TopPLogitsWarper): removed tokens get
 * -Infinity so softmax gives them probability 0.
 */

/**
 * Filters `logits` in place. top-k keeps every token scoring at least the k-th best (ties at the
 * boundary stay, as `scores < topk[-1]` does in HF). top-p then keeps the most likely tokens until
 * their cumulative probability reaches p: a token stays when the probability mass ranked strictly
 * above it is below p, so the best token always stays.
 */
export function filterTopKTopP(logits: Float32Array, topK: number, topP: number): Float32Array {
  const vocab = logits.length;
  // Candidate indices, best first. With top-k active only k (plus ties) need sorting.
  let order: number[];
  if (topK > 0 && topK < vocab) {
    const kth = kthLargest(logits, topK);
    order = [];
    for (let i = 0; i < vocab; i++) {
      if (logits[i] >= kth) order.push(i);
      else logits[i] = -Infinity;
    }
  } else {
    if (!(topP < 1)) return logits;
    order = Array.from({ length: vocab }, (_, i) => i);
  }
  if (!(topP < 1)) return logits;
  order.sort((a, b) => logits[b] - logits[a]);
  const max = logits[order[0]];
  if (max === -Infinity) return logits;
  let total = 0;
  const weights = new Float64Array(order.length);
  for (let r = 0; r < order.length; r++) total += weights[r] = Math.exp(logits[order[r]] - max);
  let above = 0;
  for (let r = 0; r < order.length; r++) {
    if (above / total >= topP) logits[order[r]] = -Infinity;
    above += weights[r];
  }
  return logits;
}

/** The k-th largest value (1-based) without sorting everything: a bounded min-heap. */
function kthLargest(values: Float32Array, k: number): number {
  const heap = new Float64Array(k);
  let size = 0;
  const siftDown = (start: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < size && heap[l] < heap[smallest]) smallest = l;
      if (r < size && heap[r] < heap[smallest]) smallest = r;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (size < k) {
      let j = size++;
      heap[j] = v;
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if (heap[parent] <= heap[j]) break;
        [heap[parent], heap[j]] = [heap[j], heap[parent]];
        j = parent;
      }
    } else if (v > heap[0]) {
      heap[0] = v;
      siftDown(0);
    }
  }
  return heap[0];
}
