/** A copy of `a` in a larger array, for readers whose row count estimate fell short. */
export function grow(a: Float64Array, capacity: number): Float64Array {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}
