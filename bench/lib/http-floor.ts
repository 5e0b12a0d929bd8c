/**
 * The HTTP floor of this machine: the CPU one loopback HTTP request costs a server that does
 * nothing but answer it (bare Fastify, no plugins, a 1.5 kB page), driven the way the login
 * driver drives fedgate (fetch, keep-alive, `concurrency` users). A login's floor is the requests
 * fedgate must answer times this, plus its RSA private-key operations: what no code of fedgate's
 * can go below with this server stack and this protocol flow.
 */
import { processCpuSeconds } from './fedgate-process.js';
import { startHelperProcess } from './helper-process.js';

export interface HttpFloor {
  /** Server CPU ms per request. */
  msPerRequest: number;
  requests: number;
}

async function startBareServer(): Promise<{ url: string; pid: number; close(): Promise<void> }> {
  const server = await startHelperProcess<{ port: number }>(new URL('./bare-http-process.ts', import.meta.url), [], 'the bare HTTP server');
  return { url: `http://127.0.0.1:${server.ready.port}/`, pid: server.pid, close: server.close };
}

/** `concurrency` users requesting for `durationMs` after a warm-up of the same length; bounded by time and count. */
export async function measureHttpFloor(concurrency: number, durationMs = 3000): Promise<HttpFloor> {
  const server = await startBareServer();
  try {
    const load = async (ms: number) => {
      let requests = 0;
      const deadline = performance.now() + ms;
      const user = async () => {
        while (performance.now() < deadline && requests < 10_000_000) {
          const res = await fetch(server.url);
          await res.text();
          requests++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, user));
      return requests;
    };
    await load(durationMs);
    const before = processCpuSeconds(server.pid);
    const requests = await load(durationMs);
    const cpuMs = (processCpuSeconds(server.pid) - before) * 1000;
    return { msPerRequest: cpuMs / requests, requests };
  } finally {
    await server.close();
  }
}
