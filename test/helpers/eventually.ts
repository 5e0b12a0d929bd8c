import { setTimeout as sleep } from 'node:timers/promises';

/** Retries `attempt` every `intervalMs` until it resolves, for at most `timeoutMs`; then throws its last error. */
export async function eventually<T>(timeoutMs: number, attempt: () => Promise<T>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}
