/** Summaries of repeated measurements (min / median / max), shared by the bench page and the Node driver. */

export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
}

/** min / median / max of finite samples (the median of an even count is the mean of the middle two); null when there are none. */
export function summarize(samples: readonly number[]): Summary | null {
  const xs = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { n: xs.length, min: xs[0], median, max: xs[xs.length - 1] };
}

/** a / b of two medians, or null when either is missing or b is zero. */
export function ratioOfMedians(a: Summary | null | undefined, b: Summary | null | undefined): number | null {
  if (!a || !b || b.median === 0) return null;
  return a.median / b.median;
}
