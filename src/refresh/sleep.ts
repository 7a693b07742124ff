// Waits until a wall-clock time. Long waits are cut into slices because Node timers overflow past
// ~24.8 days (a 30-day token refreshed at 90% would fire at once), and because a suspended VM or
// a clock jump should be noticed on waking rather than trusted to a single long timer.

const MAX_SLICE_MS = 60 * 60 * 1000;

/** Resolves at `until` (epoch ms) or as soon as `signal` aborts, whichever comes first. */
export async function sleepUntil(until: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const remaining = until - Date.now();
    if (remaining <= 0) {
      return;
    }
    await sleep(Math.min(remaining, MAX_SLICE_MS), signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
