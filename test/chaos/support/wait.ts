export interface WaitOptions {
  /** Generous by default: chaos specs run on a loaded 2-core machine. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Extra context for the timeout message (process output, last figures). */
  describe?: () => string;
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns true. A probe that throws fails the wait at once (a process died);
 * a probe that keeps answering false fails it at the deadline, naming `what`.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean> | boolean,
  options: WaitOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) {
      const context = options.describe?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context}` : ''}`);
    }
    await delay(options.intervalMs ?? 200);
  }
}

/** A random integer in [minMs, maxMs]: fault intervals vary so they land at different moments. */
export function randomBetween(minMs: number, maxMs: number): number {
  return minMs + Math.floor(Math.random() * (maxMs - minMs + 1));
}
