/** fedgate's log lines captured in memory, for tests that assert what was logged. */
import { Writable } from 'node:stream';
import { pino } from 'pino';

export type LogLine = Record<string, unknown>;

/** A pino logger whose JSON lines land in `lines`. */
export function capturingLogger(lines: LogLine[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}
