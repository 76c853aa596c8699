/**
 * Runs at most `limit` of the given tasks at once, in the order they were handed in. The
 * demo waits for thousands of results; this keeps it from opening thousands of waits on
 * Redis at the same moment.
 */
export function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    active--;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        active++;
        task().then(
          (value) => {
            release();
            resolve(value);
          },
          (error: unknown) => {
            release();
            reject(error);
          },
        );
      };
      if (active < limit) start();
      else queue.push(start);
    });
}
