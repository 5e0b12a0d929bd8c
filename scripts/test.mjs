#!/usr/bin/env node
/**
 * `npm test`: runs tap over test/**\/*.test.ts (or the files and options given; coverage is off,
 * nothing reads it and it slows the run), passes its TAP
 * output through live, and ends with the one summary line CI reads:
 *
 *   tests: N passed, N failed[, N skipped]
 *
 * A test is a top-level test of a test file (a direct child of the file in the TAP stream); a
 * file that fails or is skipped as a whole counts as one test. The exit code is tap's.
 *
 * Before running, it checks once whether Redis answers at REDIS_URL and tells the tests through
 * FEDGATE_REDIS_AVAILABLE=1|0, so the Redis-backed tests skip consistently when it does not.
 */
import { spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One Redis command in RESP, so passwords need no escaping. */
function resp(...args) {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/** Resolves to undefined when Redis at `url` answers PING within a second, else to the reason. */
function redisProblem(url) {
  return new Promise((resolve) => {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      resolve('not a URL');
      return;
    }
    const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const port = Number(parsed.port || 6379);
    const password = decodeURIComponent(parsed.password);
    const username = decodeURIComponent(parsed.username);
    let request = resp('PING');
    if (password) request = (username ? resp('AUTH', username, password) : resp('AUTH', password)) + request;
    const socket =
      parsed.protocol === 'rediss:'
        ? tlsConnect({ host, port, servername: host }, () => socket.write(request))
        : tcpConnect({ host, port }, () => socket.write(request));
    let answer = '';
    const finish = (problem) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(1000, () => finish('no answer within 1 s'));
    socket.on('error', (err) => finish(err.message));
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.includes('+PONG')) finish(undefined);
      else if (answer.startsWith('-') && answer.includes('\r\n')) finish(`it answered ${answer.trim()}`);
    });
    socket.on('end', () => finish('connection closed without an answer'));
  });
}

/** The URL as it may be printed: without its password. */
function shown(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Counts tests in tap's TAP stream, fed line by line. */
class TapCounter {
  passed = 0;
  failed = 0;
  skipped = 0;
  /** Results of the current file's top-level tests, known before the file's own result line. */
  children = { passed: 0, failed: 0, skipped: 0 };
  /** Indentation that closes the YAML diagnostics block being skipped, if any. */
  yamlEnd = undefined;

  line(text) {
    if (this.yamlEnd !== undefined) {
      if (text === this.yamlEnd) this.yamlEnd = undefined;
      return;
    }
    const yaml = /^(\s+)---$/.exec(text);
    if (yaml) {
      this.yamlEnd = `${yaml[1]}...`;
      return;
    }
    const point = /^((?: {4})*)(not ok|ok)\b(.*)$/.exec(text);
    if (!point) return;
    const depth = point[1].length / 4;
    const ok = point[2] === 'ok';
    // An unescaped "# SKIP …" or "# TODO …" directive; "# time=…" is not one.
    const directive = /(?<!\\)#\s*(SKIP|TODO)\b/i.exec(point[3]);
    const outcome = directive ? 'skipped' : ok ? 'passed' : 'failed';
    if (depth === 1) this.children[outcome]++;
    if (depth !== 0) return;
    const { children } = this;
    const total = children.passed + children.failed + children.skipped;
    if (total === 0 || (outcome === 'failed' && children.failed === 0)) this[outcome]++;
    this.passed += children.passed;
    this.failed += children.failed;
    this.skipped += children.skipped;
    this.children = { passed: 0, failed: 0, skipped: 0 };
  }

  summary() {
    const skipped = this.skipped > 0 ? `, ${this.skipped} skipped` : '';
    return `tests: ${this.passed} passed, ${this.failed} failed${skipped}`;
  }
}

const problem = await redisProblem(redisUrl);
if (problem !== undefined) {
  console.log(
    `Redis not reachable at ${shown(redisUrl)} (${problem}): the Redis-backed tests will be skipped ` +
      '(start redis-server or set REDIS_URL)',
  );
}

const tap = spawn(
  join(root, 'node_modules', '.bin', 'tap'),
  ['--reporter=tap', '--disable-coverage', '--include=test/**/*.test.ts', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: ['inherit', 'pipe', 'inherit'],
    env: { ...process.env, FEDGATE_REDIS_AVAILABLE: problem === undefined ? '1' : '0' },
  },
);
// tap ends its test processes itself on these; the summary must still be printed.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => tap.kill(signal));

const counter = new TapCounter();
let partial = '';
tap.stdout.setEncoding('utf8');
tap.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) counter.line(line.replace(/\r$/, ''));
});

const [code, signal] = await new Promise((resolve) => {
  tap.on('error', (err) => {
    console.error(`cannot run tap: ${err.message}`);
    resolve([1, null]);
  });
  tap.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
});
if (partial) counter.line(partial);
console.log(counter.summary());
process.exitCode = code ?? (signal ? 1 : 0);
