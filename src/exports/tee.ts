/**
 * One stream of batches read by two consumers (a report's file and its write-back), from ONE run of
 * the query: both see the same rows, and the source is read no faster than the slower consumer takes
 * them (at most {@link MAX_AHEAD} batches apart), so memory stays bounded whatever the row count.
 */

/** Batches one consumer may be ahead of the other. */
export const MAX_AHEAD = 4;

/**
 * Splits `source` into two iterables. Each must be iterated once. A consumer that stops early (break,
 * or an error in its loop) no longer holds the other back; an error of the source reaches both.
 */
export function tee<T>(source: AsyncIterable<T>): [AsyncIterable<T>, AsyncIterable<T>] {
  const iterator = source[Symbol.asyncIterator]();
  const buffers: [T[], T[]] = [[], []];
  const active = [true, true];
  let done = false;
  let failure: { error: unknown } | undefined;
  let pulling: Promise<void> | undefined;
  /** Wakes consumers waiting for the other to catch up. */
  let wake: (() => void) | undefined;
  let waiting: Promise<void> | undefined;

  const pull = (): Promise<void> => {
    pulling ??= (async () => {
      try {
        const next = await iterator.next();
        if (next.done) done = true;
        else for (const i of [0, 1]) if (active[i]) buffers[i].push(next.value);
      } catch (err) {
        failure = { error: err };
      } finally {
        pulling = undefined;
        wake?.();
      }
    })();
    return pulling;
  };

  const changed = (): Promise<void> => {
    waiting ??= new Promise<void>((resolve) => {
      wake = () => {
        waiting = undefined;
        wake = undefined;
        resolve();
      };
    });
    return waiting;
  };

  const consumer = (me: 0 | 1): AsyncIterable<T> => ({
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          if (buffers[me].length > 0) {
            const value = buffers[me].shift() as T;
            wake?.();
            return { value, done: false };
          }
          if (failure) throw failure.error;
          if (done) return { value: undefined, done: true };
          const other = (1 - me) as 0 | 1;
          // Ahead of the other consumer: wait for it to take some, rather than buffer without end.
          if (active[other] && buffers[other].length >= MAX_AHEAD) {
            await changed();
            continue;
          }
          await pull();
        }
      },
      async return(): Promise<IteratorResult<T>> {
        active[me] = false;
        buffers[me] = [];
        wake?.();
        if (!active[1 - me]) await iterator.return?.();
        return { value: undefined, done: true };
      },
    }),
  });
  return [consumer(0), consumer(1)];
}
