/**
 * A bare Fastify server in a process of its own, answering one small HTML page: what one HTTP
 * request over loopback costs the server when it does nothing else (the HTTP floor). Tells its
 * port over IPC and exits when its parent disconnects.
 */
import Fastify from 'fastify';

const page = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>floor</title></head><body>${'<p>fedgate</p>'.repeat(100)}</body></html>`;
const app = Fastify({ logger: false });
app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(page));
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
process.once('disconnect', () => {
  void app.close().then(() => process.exit(0));
});
