/**
 * Publishes the aggregate on 127.0.0.1 as a federation does, but answers each request with the
 * other of two signed variants and no validators: every refresh downloads, verifies and parses a
 * changed document (never a 304).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VariantServer {
  url: string;
  /** Full downloads served so far. */
  served(): number;
  /** When the last one began (epoch ms), 0 before the first. */
  lastServedAt(): number;
  close(): Promise<void>;
}

export async function startVariantServer(files: readonly string[]): Promise<VariantServer> {
  const bodies = files.map((f) => readFileSync(f));
  let served = 0;
  let lastServedAt = 0;
  const server = createServer((_req, res) => {
    lastServedAt = Date.now();
    const body = bodies[served++ % bodies.length]!;
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/edugain.xml`,
    served: () => served,
    lastServedAt: () => lastServedAt,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
