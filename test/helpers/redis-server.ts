/**
 * A throwaway redis-server child process for tests that take Redis away: on its own free port,
 * without persistence (a restart comes back empty), stopped and started again on the same port at
 * will. Needs the redis-server binary; `redisServerSkip` says why a test cannot run without it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';

/** Why tests needing redis-server must be skipped, or false when it is installed. */
export const redisServerSkip: string | false = spawnSync('redis-server', ['--version']).error
  ? 'redis-server is not installed (apt-get install redis-server)'
  : false;

export interface ThrowawayRedis {
  port: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** Starts the server (again, on the same port) and resolves once it answers PING. */
  start(): Promise<void>;
  /** Ends the server with `signal` and waits until it has exited; does nothing when it is not running. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** SIGSTOP: the server keeps its connections open but answers nothing until `resume`. */
  pause(): void;
  resume(): void;
}

/** Resolves when a PING on a fresh connection is answered with PONG. */
function pong(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => socket.destroy(new Error('no answer')));
    socket.once('data', (data) => {
      socket.destroy();
      if (data.toString().startsWith('+PONG')) resolve();
      else reject(new Error(`unexpected answer ${data.toString()}`));
    });
    socket.once('error', reject);
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** A server on a free port, not started yet. The caller stops it (e.g. in t.teardown). */
export async function throwawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  // A test process that dies without its teardown must not leave the server behind.
  const killOnExit = () => child?.kill('SIGKILL');
  const running = () => (child && !exited(child) ? child : undefined);

  return {
    port,
    url: `redis://127.0.0.1:${port}`,

    async start() {
      if (running()) throw new Error(`redis-server on port ${port} is already running`);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
      const started = spawn('redis-server', args, { stdio: 'ignore' });
      child = started;
      process.off('exit', killOnExit);
      process.once('exit', killOnExit);
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (exited(started)) throw new Error(`redis-server on port ${port} exited (${started.exitCode ?? started.signalCode}) before answering`);
        try {
          return await pong(port);
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(50);
        }
      }
    },

    async stop(signal = 'SIGKILL') {
      const server = running();
      if (!server) return;
      const exit = once(server, 'exit');
      server.kill(signal);
      // A paused server only acts on SIGTERM once it runs again.
      if (signal === 'SIGTERM') server.kill('SIGCONT');
      await exit;
      process.off('exit', killOnExit);
    },

    pause() {
      running()?.kill('SIGSTOP');
    },

    resume() {
      running()?.kill('SIGCONT');
    },
  };
}
