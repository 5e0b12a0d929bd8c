/**
 * Counts the HTTP requests this process sends to one origin while a function runs: the driver's
 * browser, SP and RP all use the global fetch, so their requests to fedgate are the requests
 * fedgate answers (its own calls to upstreams are not counted).
 */
export async function countRequestsTo<T>(origin: string, run: () => Promise<T>): Promise<{ result: T; requests: number }> {
  const original = globalThis.fetch;
  let requests = 0;
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(`${origin}/`)) requests++;
    return original(input, init);
  };
  try {
    return { result: await run(), requests };
  } finally {
    globalThis.fetch = original;
  }
}
