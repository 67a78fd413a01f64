/**
 * Runs `fn` over `items` with at most `concurrency` at once. Stops starting new items
 * once `signal` aborts; items already started finish (or abort through the same signal).
 * Errors are collected per item, never thrown, so one failure does not strand the rest.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  fn: (item: T, index: number) => Promise<void>,
): Promise<Array<{ index: number; error: unknown }>> {
  const errors: Array<{ index: number; error: unknown }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (error) {
        errors.push({ index: i, error });
      }
    }
  };
  const n = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  return errors;
}
