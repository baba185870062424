/** The q-quantile (0..1) of ascending values: the value at that share of them, no interpolation. */
export const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
