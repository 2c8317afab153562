/** The largest value a signed 64-bit column holds; every running total stays at or under it. */
export const int64Max = 2n ** 63n - 1n;
