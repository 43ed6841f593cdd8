/** The first position where two columns differ (Object.is: NaN equals NaN, the sign of 0 counts), or -1. */
export function firstDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
