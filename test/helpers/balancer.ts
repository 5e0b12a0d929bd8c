/**
 * A load balancer for tests with several fedgate instances behind one address: a small reverse
 * proxy on 127.0.0.1 that sends every request to the port the test chose last, and answers 502
 * when nothing answers there (an instance that was killed).
 */
import { once } from 'node:events';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  url: string;
  /** The port every request goes to from now on. */
  target: number;
  /** Ports that received requests, in order. */
  readonly seen: number[];
  close(): Promise<void>;
}

export async function startBalancer(target: number): Promise<Balancer> {
  const balancer = { target, seen: [] as number[] } as Balancer;
  const server: Server = createServer((req, res) => {
    const port = balancer.target;
    balancer.seen.push(port);
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  balancer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  balancer.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return balancer;
}
