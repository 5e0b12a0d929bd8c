/**
 * Requests Node's HTTP parser refuses before Fastify sees them get fedgate's error page with a
 * reference id and a log line under that id, and the server goes on serving.
 */
import { connect } from 'node:net';
import t from 'tap';
import { startFedgate } from '../helpers/fedgate.js';
import { capturingLogger, type LogLine } from '../helpers/log-lines.js';

/** Sends raw bytes and reads until the server closes: the status line, headers and body. */
async function rawExchange(url: string, request: string): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve());
    socket.write(request);
  });
  const [head = '', body = ''] = received.split('\r\n\r\n', 2);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), body };
}

const lines: LogLine[] = [];
const fedgate = await startFedgate({}, { logger: capturingLogger(lines) });
t.teardown(() => fedgate.close());

t.test('a Redirect-binding URL over the 16 kB limit: 431 with an error page and a reference', async (t) => {
  const huge = 'A'.repeat(20_000);
  const res = await rawExchange(fedgate.url, `GET /saml/idp/sso?SAMLRequest=${huge} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  t.equal(res.status, 431);
  t.match(res.headers, /content-type: text\/html; charset=utf-8/);
  t.match(res.headers, /content-security-policy: default-src 'none'/, 'the same security headers as every page');
  t.match(res.headers, /connection: close/);
  t.match(res.body, /too long for fedgate to read/);
  const ref = /<code>([A-Z0-9]{10})<\/code>/.exec(res.body)?.[1];
  t.ok(ref, 'the page quotes a reference');
  const line = lines.find((l) => l.msg === 'request refused' && l.ref === ref);
  t.equal(line?.code, 'request_headers_too_large', 'logged under the same reference with its reason');
  t.equal(line?.level, 40);
});

t.test('malformed HTTP: 400 with an error page', async (t) => {
  const res = await rawExchange(fedgate.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n');
  t.equal(res.status, 400);
  t.match(res.body, /<h1>Sorry, the login did not work<\/h1>/);
  const ref = /<code>([A-Z0-9]{10})<\/code>/.exec(res.body)?.[1];
  t.match(lines.find((l) => l.msg === 'request refused' && l.ref === ref)?.reason, /HTTP request the parser refused: HPE_/);
});

t.test('the server goes on serving', async (t) => {
  t.equal((await fetch(`${fedgate.url}/healthz`)).status, 200);
});
